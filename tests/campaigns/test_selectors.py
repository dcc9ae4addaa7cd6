from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.campaigns.models import CampaignSnapshot
from apps.campaigns.selectors import (
    action_items_attach,
    campaign_get,
    campaign_history,
    campaign_list,
    campaign_progress,
    campaign_progress_rows,
    entity_progress,
    progress_summary,
)
from apps.campaigns.services import campaign_create, owner_uuid_for
from apps.core.errors import NotFoundError, ValidationFailed
from tests.campaigns.world import add_entities

START = datetime(2030, 1, 1, tzinfo=UTC)


def make(world, owner, *, key="c", rules=("r1", "r2"), scope="", **changes):
    return campaign_create(
        key=key, name=changes.pop("name", "Campaign " + key), owner=owner, start_date=START,
        rule_ids=[str(getattr(world, r).identifier) for r in rules], entity_scope=scope, **changes,
    )  # fmt: skip


def test_progress_counts_entities_passing_every_rule(world, owner):
    progress = campaign_progress(campaign=make(world, owner))
    # svc-1 pass/pass, svc-4 pass/exempt pass; svc-2 fail, svc-3 error, lib-1 no_data; svc-5 archived.
    assert (progress.total, progress.passing) == (5, 2)
    assert progress.fraction == pytest.approx(0.4)
    by_tag = {e.tag: (e.rules_total, e.rules_failing, e.team) for e in progress.entities}
    assert by_tag == {
        "svc-1": (2, 0, "alpha"), "svc-2": (2, 1, "alpha"), "svc-3": (2, 1, "beta"), "svc-4": (2, 0, ""),
        "lib-1": (2, 1, ""),
    }  # fmt: skip
    teams = [(t.team, t.passing, t.total) for t in progress.teams]
    assert teams == [("alpha", 1, 2), ("beta", 0, 1), ("", 1, 2)]  # teamless last


def test_scope_narrows_the_entities(world, owner):
    services = campaign_progress(campaign=make(world, owner, key="a", scope='entity.type() = "service"'))
    assert (services.total, services.passing) == (4, 2)
    tier1 = campaign_progress(campaign=make(world, owner, key="b", scope='entity.hasGroup("tier-1")'))
    assert sorted(e.tag for e in tier1.entities) == ["svc-1", "svc-3"]
    assert (tier1.total, tier1.passing) == (2, 1)


def test_rules_not_applicable_to_an_entity_do_not_count(world, owner):
    progress = campaign_progress(campaign=make(world, owner, rules=("r3",)))
    # svc-4 has no r3 result: out of scope. skip counts as met (svc-2).
    assert sorted((e.tag, e.passing) for e in progress.entities) == [
        ("lib-1", False), ("svc-1", True), ("svc-2", True), ("svc-3", False),
    ]  # fmt: skip


def test_disabled_rules_do_not_count(world, owner):
    campaign = make(world, owner)
    world.r1.enabled = False
    world.r1.save()
    progress = campaign_progress(campaign=campaign)
    # only r2 counts: svc-3 (error) fails, the rest pass.
    assert (progress.total, progress.passing) == (5, 4)


def test_action_items_are_the_failing_campaign_rules(world, owner):
    campaign = make(world, owner)
    progress = campaign_progress(campaign=campaign)
    action_items_attach(campaign=campaign, entities=progress.entities)
    items = {e.tag: [(r.rule.title, r.state) for r in e.action_items] for e in progress.entities}
    assert items == {
        "svc-1": [], "svc-2": [("Has a runbook", "fail")], "svc-3": [("Has on-call", "error")], "svc-4": [],
        "lib-1": [("Has a runbook", "no_data")],
    }  # fmt: skip


@pytest.mark.parametrize("scope", ["", 'entity.type() = "service"'])
def test_rows_and_summary_give_what_campaign_progress_gives(world, owner, scope):
    # The campaign page builds its figures from the rows (EntityProgress only for the page shown).
    campaign = make(world, owner, scope=scope)
    progress = campaign_progress(campaign=campaign)
    rows = campaign_progress_rows(campaign=campaign)
    summary = progress_summary(rows)
    assert (summary.total, summary.passing, summary.teams, summary.entities) == (
        progress.total, progress.passing, progress.teams, [],
    )  # fmt: skip
    assert entity_progress(rows) == progress.entities
    assert [e.tag for e in progress.entities] == sorted(e.tag for e in progress.entities)


def test_no_enabled_rules_means_no_entities(world, owner):
    campaign = make(world, owner, rules=("r1",))
    world.r1.enabled = False
    world.r1.save()
    progress = campaign_progress(campaign=campaign)
    assert (progress.total, progress.passing, progress.teams, progress.entities) == (0, 0, [], [])


def test_progress_query_count_does_not_grow_with_entities(world, owner, django_assert_num_queries):
    campaign = make(world, owner, scope='entity.type() = "service"')
    with django_assert_num_queries(9) as few:  # progress 2, scope facts 6, action items 1
        progress = campaign_progress(campaign=campaign)
        action_items_attach(campaign=campaign, entities=progress.entities)
    add_entities(world, 30, start=0)
    with django_assert_num_queries(len(few.captured_queries)):
        progress = campaign_progress(campaign=campaign)
        action_items_attach(campaign=campaign, entities=progress.entities)
    assert progress.total == 34


def test_history_uses_snapshots_and_a_live_point_for_today(world, owner):
    campaign = make(world, owner)
    now = timezone.now()
    CampaignSnapshot.objects.create(campaign=campaign, day=(now - timedelta(days=2)).date(), entities_total=5,
                                    entities_passing=1, recorded_at=now)  # fmt: skip
    CampaignSnapshot.objects.create(campaign=campaign, day=now.date(), entities_total=9, entities_passing=9,
                                    recorded_at=now)  # fmt: skip
    points = campaign_history(campaign=campaign, today=campaign_progress(campaign=campaign))
    assert [(p.day, p.passing, p.total, p.live) for p in points] == [
        ((now - timedelta(days=2)).date(), 1, 5, False), (now.date(), 2, 5, True),
    ]  # fmt: skip


def test_list_filters_by_name_words_status_and_owner(world, owner, django_user_model):
    other = django_user_model.objects.create_user(username="bob")
    make(world, owner, key="a", name="Q1 Security Campaign", status="in_progress")
    make(world, owner, key="b", name="Security hardening", status="completed")
    make(world, other, key="c", name="Observability", status="in_progress")
    keys = lambda qs: [c.key for c in qs]  # noqa: E731
    assert keys(campaign_list(name="secur")) == ["a", "b"]
    assert keys(campaign_list(name="security q1")) == ["a"]
    assert keys(campaign_list(status="in_progress")) == ["a", "c"]
    assert keys(campaign_list(owner=str(owner_uuid_for(user=other)))) == ["c"]
    with pytest.raises(ValidationFailed):
        campaign_list(status="paused")
    with pytest.raises(ValidationFailed):
        campaign_list(owner="nope")


def test_get_by_id_or_key(world, owner):
    campaign = make(world, owner, key="by-key")
    assert campaign_get(id_or_key="by-key") == campaign
    assert campaign_get(id_or_key=str(campaign.pk)) == campaign
    with pytest.raises(NotFoundError):
        campaign_get(id_or_key="missing")
