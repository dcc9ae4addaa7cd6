"""Services behind the Datadog-style rules API: create (with its scorecard), update, delete."""

from __future__ import annotations

import uuid

import pytest

from apps.core.errors import ApplicationError, NotFoundError
from apps.scorecards.models import Level, Rule, Scorecard
from apps.scorecards.selectors import rule_list, scorecard_list
from apps.scorecards.services import (
    rule_create_custom,
    rule_delete,
    rule_update,
    scorecard_get_or_create_by_name,
)

pytestmark = pytest.mark.django_db


def test_create_makes_the_scorecard_once_with_a_three_level_ladder():
    first = rule_create_custom(name="A", scorecard_name="Team Health", level=1, owner="sre")
    second = rule_create_custom(name="B", scorecard_name="Team Health")
    assert first.scorecard_id == second.scorecard_id
    scorecard = Scorecard.objects.get()
    assert (scorecard.tag, scorecard.name, scorecard.draft) == ("team-health", "Team Health", False)
    assert list(scorecard.levels.values_list("name", "rank")) == [("Bronze", 1), ("Silver", 2), ("Gold", 3)]
    assert (first.level.rank, second.level.rank) == (1, 3)
    assert (first.position, second.position) == (0, 1)
    assert (first.expression, first.owner, first.weight, first.enabled) == ("", "sre", 1, True)
    assert scorecard.version == 3  # each new rule bumps the definition


def test_get_or_create_by_name_reuses_and_picks_a_free_tag():
    Scorecard.objects.create(tag="ops", name="Not ops")
    scorecard, created = scorecard_get_or_create_by_name(name="Ops")
    assert created and scorecard.tag == "ops-2"
    again, created_again = scorecard_get_or_create_by_name(name="Ops")
    assert again.pk == scorecard.pk and not created_again
    odd, _ = scorecard_get_or_create_by_name(name="!!!")
    assert odd.tag == "scorecard"


def test_ambiguous_scorecard_name_is_refused():
    Scorecard.objects.create(tag="a", name="Same")
    Scorecard.objects.create(tag="b", name="Same")
    with pytest.raises(ApplicationError, match="more than one scorecard is named 'Same'"):
        rule_create_custom(name="x", scorecard_name="Same")
    assert not Rule.objects.exists()


def test_create_refuses_duplicates_and_bad_scope_queries():
    rule_create_custom(name="A", scorecard_name="S")
    with pytest.raises(ApplicationError) as duplicate:
        rule_create_custom(name="A", scorecard_name="S")
    assert duplicate.value.code == "conflict"
    with pytest.raises(ApplicationError, match="scope_query"):
        rule_create_custom(name="B", scorecard_name="S", scope_query="entity.type( =")
    assert Rule.objects.count() == 1


def test_scope_query_is_stored_verbatim_as_the_rule_filter_query():
    rule = rule_create_custom(name="A", scorecard_name="S", scope_query='  entity.type() = "service" ')
    assert rule.filter == {"query": '  entity.type() = "service" '}
    catalog = rule_create_custom(name="B", scorecard_name="S", scope_query="kind:service AND team:platform")
    assert catalog.filter == {"query": "kind:service AND team:platform"}


def test_a_bad_scope_query_is_refused_with_its_column():
    with pytest.raises(ApplicationError, match=r"scope_query: line 1, column 14: unknown key 'colour'"):
        rule_create_custom(name="A", scorecard_name="S", scope_query="kind:service colour:red")


def test_update_replaces_datadog_attributes_and_keeps_the_rest():
    rule = rule_create_custom(name="A", scorecard_name="S", level=1, owner="x", description="d", scope_query="true")
    Rule.objects.filter(pk=rule.pk).update(weight=5, filter={"groups": {"include": ["tier-1"]}, "query": "true"})
    updated = rule_update(rule_id=str(rule.identifier), name="A2", enabled=False)
    assert (updated.title, updated.enabled, updated.level.rank, updated.owner, updated.description) == (
        "A2",
        False,
        3,
        "",
        "",
    )
    assert updated.weight == 5
    assert updated.filter == {"groups": {"include": ["tier-1"]}}
    assert updated.identifier == rule.identifier


def test_update_refuses_unknown_rules_and_missing_levels():
    rule = rule_create_custom(name="A", scorecard_name="S")
    with pytest.raises(NotFoundError, match="rule not found: nope"):
        rule_update(rule_id="nope", name="x")
    with pytest.raises(NotFoundError):
        rule_update(rule_id=str(uuid.uuid4()), name="x")
    Level.objects.filter(scorecard=rule.scorecard, rank=2).delete()
    with pytest.raises(ApplicationError, match="no level of rank 2"):
        rule_update(rule_id=str(rule.identifier), name="A", level=2)


def test_delete_removes_the_rule_and_bumps_the_version():
    rule = rule_create_custom(name="A", scorecard_name="S")
    version = Scorecard.objects.get().version
    rule_delete(rule_id=str(rule.identifier))
    assert not Rule.objects.exists()
    assert Scorecard.objects.get().version == version + 1
    with pytest.raises(NotFoundError, match=f"rule not found: {rule.identifier}"):
        rule_delete(rule_id=str(rule.identifier))


def test_selectors_filter_and_hide_drafts(user_factory, rule_factory):
    from django.contrib.auth.models import Permission

    viewer = user_factory(username="v")
    editor = user_factory(username="e")
    editor.user_permissions.add(Permission.objects.get(codename="change_scorecard"))
    pushed = rule_create_custom(name="Pushed", scorecard_name="Draft card")
    Scorecard.objects.filter(pk=pushed.scorecard_id).update(draft=True)
    coded = rule_factory(title="Coded", expression="true")
    assert list(rule_list(user=viewer)) == [coded]
    assert set(rule_list(user=editor)) == {pushed, coded}
    assert list(rule_list(user=editor, custom=True)) == [pushed]
    assert list(rule_list(user=editor, ids=[str(coded.identifier), "bad"])) == [coded]
    assert [s.tag for s in scorecard_list(user=viewer)] == [coded.scorecard.tag]
    assert [s.tag for s in scorecard_list(user=editor, name="draft")] == [pushed.scorecard.tag]


# --- moving a rule to another scorecard (a PUT with another scorecard_name) ----------------------------


def test_update_with_another_scorecard_name_moves_the_rule_with_its_rows(
    entity_factory, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from apps.evaluations.models import RuleOutcome, RuleResult
    from apps.exemptions.models import Exemption, ExemptionStatus

    rule = rule_create_custom(name="A", scorecard_name="S", level=1)
    rule_create_custom(name="Other", scorecard_name="T")
    source, target = Scorecard.objects.get(name="S"), Scorecard.objects.get(name="T")
    entity = entity_factory()
    now = timezone.now()
    RuleResult.objects.create(
        entity=entity, scorecard=source, rule=rule, state="pass", raw_state="pass", changed_at=now
    )
    RuleOutcome.objects.create(entity=entity, rule=rule, state="pass")
    Exemption.objects.create(
        scorecard=source, entity=entity, rule=rule, status=ExemptionStatus.APPROVED, reason="r", requested_at=now
    )
    versions = {s.pk: s.version for s in (source, target)}

    with django_capture_on_commit_callbacks() as callbacks:
        moved = rule_update(rule_id=str(rule.identifier), name="A", scorecard_name="T", level=2)

    assert (moved.pk, moved.scorecard_id, moved.level.scorecard_id, moved.level.rank) == (
        rule.pk,
        target.pk,
        target.pk,
        2,
    )
    assert moved.position == 1  # after the rule T had
    assert RuleResult.objects.get().scorecard_id == target.pk
    assert Exemption.objects.get().scorecard_id == target.pk
    assert RuleOutcome.objects.get().rule_id == rule.pk
    # Both scorecards changed: versions bumped, and re-scoring announced after the commit.
    assert {s.pk: s.version for s in Scorecard.objects.filter(pk__in=versions)} == {
        pk: version + 1 for pk, version in versions.items()
    }
    assert callbacks


def test_moving_to_a_new_scorecard_name_creates_it():
    rule = rule_create_custom(name="A", scorecard_name="S")
    moved = rule_update(rule_id=str(rule.identifier), name="A", scorecard_name="Brand New")
    assert moved.scorecard.name == "Brand New" and moved.level.rank == 3
    assert not Rule.objects.filter(scorecard__name="S").exists()


def test_a_move_onto_a_taken_name_or_a_missing_level_changes_nothing():
    rule = rule_create_custom(name="A", scorecard_name="S")
    rule_create_custom(name="A", scorecard_name="T")
    with pytest.raises(ApplicationError, match="already exists in scorecard 'T'") as conflict:
        rule_update(rule_id=str(rule.identifier), name="A", scorecard_name="T")
    assert conflict.value.code == "conflict"
    Level.objects.filter(scorecard__name="T", rank=1).delete()
    with pytest.raises(ApplicationError, match="no level of rank 1"):
        rule_update(rule_id=str(rule.identifier), name="B", scorecard_name="T", level=1)
    assert Rule.objects.get(pk=rule.pk).scorecard.name == "S"
