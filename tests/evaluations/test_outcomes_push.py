"""`outcomes_push`: stores pushed outcomes, creates missing entities, re-scores through Celery after commit."""

from __future__ import annotations

import pytest

from apps.catalog.models import Entity
from apps.core.errors import ApplicationError
from apps.evaluations.models import EntityScore, RuleOutcome, RuleResult, ScoreHistory
from apps.evaluations.selectors import outcome_list
from apps.evaluations.services import OutcomeInput, UnknownRuleError, outcomes_push
from apps.scorecards.services import rule_create_custom

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule():
    return rule_create_custom(name="Pushed", scorecard_name="Ops", level=1)


def item(rule, tag="svc", state="pass", kind="service", remarks=""):
    return OutcomeInput(str(rule.identifier), kind, tag, state, remarks)


def test_push_creates_the_entity_and_rescores_the_changed_entities_in_one_task(
    rule, django_capture_on_commit_callbacks, tasks_run
):
    with django_capture_on_commit_callbacks(execute=True):
        result = outcomes_push(results=[item(rule, "a"), item(rule, "b", "fail"), item(rule, "a", "skip", remarks="r")])
    ids = sorted(Entity.objects.values_list("id", flat=True))
    assert tasks_run == [("rescore_flush", ()), ("rescore_entities", (rule.scorecard_id, ids))]
    assert (result.total_received, result.total_updated) == (3, 2)
    assert sorted(result.entities_created) == ["a", "b"]
    assert sorted((o.entity.tag, o.state, o.remarks) for o in result.outcomes) == [
        ("a", "skip", "r"),
        ("b", "fail", ""),
    ]
    assert set(Entity.objects.values_list("tag", "type", "name")) == {("a", "service", "a"), ("b", "service", "b")}
    # Eager Celery re-scored both: results, scores and history exist.
    states = dict(RuleResult.objects.values_list("entity__tag", "state"))
    assert states == {"a": "skip", "b": "fail"}
    scores = {
        s.entity.tag: (s.score, s.total_possible, s.level_id) for s in EntityScore.objects.select_related("entity")
    }
    assert scores["b"] == (0, 1, None)  # Bronze rule failing: no level
    assert scores["a"][:2] == (0, 0)  # skip leaves both sides
    assert ScoreHistory.objects.count() == 2


def test_push_is_idempotent(rule, django_capture_on_commit_callbacks):
    outcomes_push(results=[item(rule)])
    before = RuleOutcome.objects.get()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = outcomes_push(results=[item(rule)])
    assert (again.total_updated, callbacks) == (0, [])
    after = RuleOutcome.objects.get()
    assert after.updated_at == before.updated_at


def test_push_updates_state_and_remarks_in_place(rule):
    outcomes_push(results=[item(rule, state="pass")])
    created = RuleOutcome.objects.get()
    outcomes_push(results=[item(rule, state="fail", remarks="broken")])
    updated = RuleOutcome.objects.get()
    assert (updated.pk, updated.state, updated.remarks) == (created.pk, "fail", "broken")
    assert updated.created_at == created.created_at and updated.updated_at > created.updated_at


def test_unknown_rules_refuse_the_whole_push(rule):
    with pytest.raises(UnknownRuleError, match="rule not found: nope") as refused:
        outcomes_push(results=[item(rule), OutcomeInput("nope", "service", "x", "pass")])
    assert refused.value.code == "conflict"
    assert not RuleOutcome.objects.exists() and not Entity.objects.exists()


def test_rules_with_an_expression_do_not_take_outcomes(rule_factory):
    coded = rule_factory(expression="true")
    with pytest.raises(ApplicationError, match="has an expression") as refused:
        outcomes_push(results=[item(coded)])
    assert refused.value.code == "conflict"


def test_existing_entities_are_reused_and_types_must_match(rule, entity_factory):
    team = entity_factory(tag="core", type="team")
    outcomes_push(results=[item(rule, "core", kind="team")])
    assert RuleOutcome.objects.get().entity_id == team.pk
    with pytest.raises(ApplicationError, match="exists as a team, not a service"):
        outcomes_push(results=[item(rule, "core")])


def test_empty_push_does_nothing():
    result = outcomes_push(results=[])
    assert (result.total_received, result.total_updated, result.outcomes) == (0, 0, [])


def test_outcome_list_filters(rule, user_factory):
    viewer = user_factory(username="v")
    outcomes_push(results=[item(rule, "a"), item(rule, "b", "fail")])
    assert [o.entity.tag for o in outcome_list(user=viewer)] == ["a", "b"]
    assert [o.entity.tag for o in outcome_list(user=viewer, state="fail")] == ["b"]
    assert [o.entity.tag for o in outcome_list(user=viewer, service_name="a")] == ["a"]
    assert list(outcome_list(user=viewer, rule_ids=["junk"])) == []
    assert list(outcome_list(user=viewer, rule_enabled=False)) == []


def test_a_rule_id_shared_by_two_scorecards_refuses_the_push(rule):
    from apps.scorecards.models import Rule
    from apps.scorecards.selectors import AmbiguousRuleError

    twin = rule_create_custom(name="Pushed", scorecard_name="Other", level=1)
    Rule.objects.filter(pk=twin.pk).update(identifier=rule.identifier)
    with pytest.raises(AmbiguousRuleError, match="is in scorecards ops, other") as info:
        outcomes_push(results=[item(rule, "svc")])
    assert info.value.code == "conflict"
    assert not RuleOutcome.objects.exists()
    assert not Entity.objects.exists()
