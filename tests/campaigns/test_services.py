import uuid
from datetime import UTC, datetime

import pytest

from apps.campaigns.models import Campaign, CampaignSnapshot, OwnerRef
from apps.campaigns.services import (
    campaign_create,
    campaign_delete,
    campaign_snapshot_record,
    campaign_update,
    owner_ref_link,
    owner_uuid_for,
)
from apps.core.errors import ApplicationError, ValidationFailed

START = datetime(2030, 1, 1, tzinfo=UTC)
DUE = datetime(2030, 3, 31, 23, 59, 59, tzinfo=UTC)


def make(world, owner, **changes):
    fields = dict(
        key="q1-security", name="Q1 Security", owner=owner, rule_ids=[str(world.r1.identifier)], start_date=START,
        due_date=DUE, status="in_progress", description="Why", entity_scope='entity.type() = "service"',
        guidance="Do **this**",
    )  # fmt: skip
    fields.update(changes)
    return campaign_create(**fields)


def test_create_stores_every_field_and_names_the_owner_by_their_uuid(world, owner):
    campaign = make(world, owner, rule_ids=[str(world.r1.identifier), str(world.r3.identifier)])
    assert (campaign.key, campaign.name, campaign.status, campaign.owner) == ("q1-security", "Q1 Security",
                                                                             "in_progress", owner)  # fmt: skip
    assert (campaign.start_date, campaign.due_date) == (START, DUE)
    assert set(campaign.rules.all()) == {world.r1, world.r3}
    assert campaign.owner_uuid == owner.uuid == owner_uuid_for(user=owner)
    assert campaign.owner_ref is None and not OwnerRef.objects.exists()


def test_an_owner_uuid_that_names_no_user_is_kept_until_an_admin_links_it(world, owner):
    external = uuid.UUID("550e8400-e29b-41d4-a716-446655440000")
    first = make(world, external)
    second = make(world, external, key="q2-security")
    assert first.owner is None and first.owner_uuid == external == second.owner_uuid
    ref = OwnerRef.objects.get()  # one row per UUID
    assert (ref.uuid, ref.user, str(ref)) == (external, None, f"unlinked owner {external}")
    assert first.owner_label == f"unlinked owner {external}"
    linked = owner_ref_link(ref_id=ref.pk, user=owner)
    assert linked.user == owner
    assert set(Campaign.objects.values_list("owner", flat=True)) == {owner.pk}
    # The API keeps showing the UUID the script sent; a user's own UUID names the user, not a new external owner.
    assert Campaign.objects.for_api().get(pk=first.pk).owner_uuid == external
    third = make(world, owner.uuid, key="q3-security")
    assert third.owner == owner and third.owner_ref is None and OwnerRef.objects.count() == 1


def test_a_refused_create_keeps_no_external_owner(world):
    with pytest.raises(ValidationFailed):
        make(world, uuid.uuid4(), name=" ")
    assert not OwnerRef.objects.exists()


def test_create_reports_every_bad_field_by_name(world, owner):
    with pytest.raises(ValidationFailed) as caught:
        make(
            world, owner, key="bad key!", name=" ", status="paused", due_date=datetime(2029, 1, 1, tzinfo=UTC),
            rule_ids=["not-a-uuid", "2a4f524e-168a-429d-bb75-7b1ffeab0cbb"], entity_scope="entity.type( =",
        )  # fmt: skip
    paths = {p.path for p in caught.value.problems}
    assert paths == {"key", "name", "status", "due_date", "rule_ids.0", "rule_ids", "entity_scope"}
    scope = next(p for p in caught.value.problems if p.path == "entity_scope")
    assert scope.line == 1 and scope.column is not None
    assert any("2a4f524e-168a-429d-bb75-7b1ffeab0cbb" in str(p) for p in caught.value.problems)
    assert not Campaign.objects.exists()


def test_create_needs_rules_and_a_start_date(world, owner):
    with pytest.raises(ValidationFailed) as caught:
        make(world, owner, rule_ids=[], start_date=None)
    assert {p.path for p in caught.value.problems} == {"rule_ids", "start_date"}


def test_a_key_in_use_is_a_conflict(world, owner):
    make(world, owner)
    with pytest.raises(ApplicationError) as caught:
        make(world, owner, name="Other")
    assert caught.value.code == "conflict"
    assert Campaign.objects.count() == 1


def test_naive_dates_are_taken_as_utc(world, owner):
    campaign = make(world, owner, start_date=datetime(2030, 1, 1), due_date=None)  # noqa: DTZ001
    assert campaign.start_date == START and campaign.due_date is None


def test_update_replaces_required_fields_and_keeps_omitted_optional_ones(world, owner, django_user_model):
    campaign = make(world, owner)
    other = django_user_model.objects.create_user(username="bob")
    updated = campaign_update(
        campaign=campaign, name="Renamed", owner=other, rule_ids=[str(world.r2.identifier)], start_date=START,
        status="completed",
    )  # fmt: skip
    assert (updated.name, updated.owner, updated.status, updated.key) == ("Renamed", other, "completed", "q1-security")
    assert (updated.description, updated.guidance, updated.due_date) == ("Why", "Do **this**", DUE)
    assert list(updated.rules.all()) == [world.r2]
    assert updated.modified_at >= campaign.modified_at
    cleared = campaign_update(
        campaign=campaign, name="Renamed", owner=other, rule_ids=[str(world.r2.identifier)], start_date=START,
        status="completed", key="new-key", due_date=None, description="", entity_scope="",
    )  # fmt: skip
    assert (cleared.key, cleared.due_date, cleared.description, cleared.entity_scope) == ("new-key", None, "", "")


def test_update_to_a_key_in_use_is_a_conflict_and_changes_nothing(world, owner):
    first = make(world, owner)
    second = make(world, owner, key="other")
    with pytest.raises(ApplicationError) as caught:
        campaign_update(campaign=second, name="X", owner=owner, rule_ids=[str(world.r1.identifier)],
                        start_date=START, status="completed", key=first.key)  # fmt: skip
    assert caught.value.code == "conflict"
    assert Campaign.objects.get(pk=second.pk).name == "Q1 Security"


def test_update_validates_like_create(world, owner):
    campaign = make(world, owner)
    with pytest.raises(ValidationFailed) as caught:
        campaign_update(campaign=campaign, name="", owner=owner, rule_ids=[], start_date=START, status="bogus")
    assert {p.path for p in caught.value.problems} == {"name", "rule_ids", "status"}


def test_delete_removes_the_campaign_not_the_rules(world, owner):
    campaign = make(world, owner)
    campaign_delete(campaign=campaign)
    assert not Campaign.objects.exists()
    assert world.r1.__class__.objects.filter(pk=world.r1.pk).exists()
    with pytest.raises(ApplicationError) as caught:
        campaign_delete(campaign=campaign)
    assert caught.value.code == "not_found"


def test_snapshot_is_one_row_per_day_and_idempotent(world, owner):
    campaign = make(world, owner, rule_ids=[str(world.r1.identifier), str(world.r2.identifier)])
    campaign_snapshot_record(campaign_id=campaign.pk)
    snapshot = campaign_snapshot_record(campaign_id=campaign.pk)
    assert CampaignSnapshot.objects.count() == 1
    assert (snapshot.entities_total, snapshot.entities_passing) == (4, 2)


def test_snapshot_task_records_open_campaigns(world, owner):
    from apps.campaigns.tasks import record_campaign_snapshots

    make(world, owner, rule_ids=[str(world.r1.identifier)])
    make(world, owner, key="done", status="completed")
    record_campaign_snapshots()  # CELERY_TASK_ALWAYS_EAGER in test settings
    assert list(CampaignSnapshot.objects.values_list("campaign__key", flat=True)) == ["q1-security"]


def test_a_rule_id_shared_by_two_scorecards_is_refused(world, owner):
    from apps.scorecards.models import Rule
    from apps.scorecards.services import rule_create_custom

    twin = rule_create_custom(name="Twin", scorecard_name="Elsewhere")
    Rule.objects.filter(pk=twin.pk).update(identifier=world.r1.identifier)
    with pytest.raises(ValidationFailed) as info:
        make(world, owner)
    (problem,) = info.value.problems
    assert problem.path == "rule_ids"
    assert f"rule id {world.r1.identifier} is in scorecards" in problem.message
    assert not Campaign.objects.exists()


def test_a_catastrophic_regex_in_a_scope_answers_at_once(world, owner):
    """Issue #13: `(a+)+$` on 40 a's and a `!` pinned a web worker; on RE2 the scope is checked in linear time."""
    from django.utils import timezone

    from apps.campaigns.selectors import scope_members
    from apps.catalog.models import CustomData

    svc = world.entities["svc-1"]
    CustomData.objects.update_or_create(entity=svc, key="x", defaults={"value": "a" * 40 + "!"})
    matching = world.entities["svc-2"]
    CustomData.objects.update_or_create(entity=matching, key="x", defaults={"value": "a" * 40})
    campaign = make(world, owner, entity_scope='custom("x").matches("(a+)+$")')
    members = scope_members(campaign=campaign, entity_ids=[svc.pk, matching.pk], now=timezone.now(), refresh=True)
    assert members == {matching.pk}


# --- races: real threads, each on its own connection, released together ----------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_creates_of_one_key_make_one_campaign_and_conflicts():
    from apps.accounts.models import User
    from tests.campaigns.world import build_world
    from tests.concurrency import race_same

    world = build_world()
    owner = User.objects.create_user(username="racer", email="racer@example.com")
    outcomes = race_same(lambda: make(world, owner, key="raced"), 6)
    assert sorted(o.kind for o in outcomes) == ["ApplicationError"] * 5 + ["ok"], [o.error for o in outcomes]
    assert {o.error.code for o in outcomes if isinstance(o.error, ApplicationError)} == {"conflict"}
    assert Campaign.objects.filter(key="raced").count() == 1
