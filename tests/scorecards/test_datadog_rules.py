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


def test_scope_query_is_stored_as_the_rule_filter_query():
    rule = rule_create_custom(name="A", scorecard_name="S", scope_query='  entity.type() = "service" ')
    assert rule.filter == {"query": 'entity.type() = "service"'}


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


def test_update_refuses_unknown_moves_and_missing_levels():
    rule = rule_create_custom(name="A", scorecard_name="S")
    with pytest.raises(NotFoundError, match="rule not found: nope"):
        rule_update(rule_id="nope", name="x")
    with pytest.raises(NotFoundError):
        rule_update(rule_id=str(uuid.uuid4()), name="x")
    with pytest.raises(ApplicationError, match="cannot move"):
        rule_update(rule_id=str(rule.identifier), name="A", scorecard_name="T")
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
