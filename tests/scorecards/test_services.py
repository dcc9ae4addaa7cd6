"""Applying descriptors: a dry run is the real apply rolled back, so it refuses exactly what applying refuses."""

import pytest

from apps.core.errors import ValidationFailed
from apps.core.score_inputs import score_inputs_batch
from apps.scorecards.models import Level, Rule, Scorecard
from apps.scorecards.services import scorecard_apply_descriptor
from tests.scorecards.test_descriptors import DESIGN_DESCRIPTOR

pytestmark = pytest.mark.django_db

OTHER = DESIGN_DESCRIPTOR.replace("tag: production-readiness", "tag: other-card")


def apply(text, **kwargs):
    return scorecard_apply_descriptor(text=text, source="test.yaml", **kwargs)


def snapshot():
    return (
        sorted(Scorecard.objects.values_list("tag", "name", "version", "filter")),
        sorted(Level.objects.values_list("scorecard__tag", "name", "rank", "color")),
        sorted(Rule.objects.values_list("scorecard__tag", "identifier", "title", "weight", "level__name")),
    )


# Every kind of refusal the apply makes: validation of the document, and what only the database knows
# (a unique constraint, a value out of the column's range).
REFUSALS = {
    "validation: unknown level": DESIGN_DESCRIPTOR.replace("level: Bronze", "level: Platinum"),
    "validation: bad colour": DESIGN_DESCRIPTOR.replace('color: "#c38b5f"', "color: brown"),
    "validation: unknown filter key": DESIGN_DESCRIPTOR.replace("groups: {exclude: [deprecated]}", "owners: [x]"),
    "validation: level name longer than the column": DESIGN_DESCRIPTOR.replace(
        "name: Gold,", f"name: {'G' * 65},"
    ).replace("level: Gold", f"level: {'G' * 65}"),
    "database: weight out of the integer range": DESIGN_DESCRIPTOR.replace("weight: 2", "weight: 3000000000"),
    "database: rank collides with a level being removed": DESIGN_DESCRIPTOR.replace(
        '- {name: Silver, rank: 2, color: "#8c9298"}', "- {name: Mithril, rank: 30002}"
    ),
    "validation: tag longer than the column": DESIGN_DESCRIPTOR.replace(
        "tag: production-readiness", f"tag: {'t' * 256}"
    ),
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_dry_run_refuses_exactly_what_applying_refuses_and_writes_nothing(kind, django_capture_on_commit_callbacks):
    apply(DESIGN_DESCRIPTOR)  # the stored scorecard the refused descriptor would update
    before = snapshot()
    text = REFUSALS[kind]
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationFailed) as dry:
        apply(text, dry_run=True)
    assert callbacks == []
    assert snapshot() == before
    with pytest.raises(ValidationFailed) as real:
        apply(text)
    assert snapshot() == before
    assert [str(p) for p in dry.value.problems] == [str(p) for p in real.value.problems]
    if kind.startswith("database"):
        assert "the database refused the descriptor" in dry.value.problems[0].message


def test_dry_run_of_a_new_scorecard_says_what_it_would_do_and_writes_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        result = apply(DESIGN_DESCRIPTOR, dry_run=True)
    assert callbacks == []
    assert result.action == "valid"
    assert result.scorecard is None
    assert result.rules_created == ["Has an owner", "Coverage at least 80%"]
    assert snapshot() == ([], [], [])


def test_dry_run_of_a_change_reports_the_rule_changes_and_keeps_the_stored_scorecard(
    django_capture_on_commit_callbacks,
):
    apply(DESIGN_DESCRIPTOR)
    before = snapshot()
    changed = DESIGN_DESCRIPTOR.replace("weight: 2", "weight: 5").replace("name: Production Readiness", "name: New")
    with django_capture_on_commit_callbacks() as callbacks:
        result = apply(changed, dry_run=True)
    assert callbacks == []
    assert result.scorecard is not None
    assert result.scorecard.name == "Production Readiness"
    assert result.rules_updated == ["Has an owner"]
    assert result.definition_changed is True
    assert snapshot() == before


def test_dry_run_inside_a_score_inputs_batch_announces_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, score_inputs_batch():
        apply(DESIGN_DESCRIPTOR, dry_run=True)
    assert callbacks == []


def test_dry_run_accepts_what_applying_accepts_for_a_shared_identifier():
    apply(DESIGN_DESCRIPTOR)
    identifier = Rule.objects.get(title="Has an owner").identifier
    other = OTHER.replace("  - title: Has an owner", f"  - identifier: {identifier}\n    title: Has an owner")
    assert apply(other, dry_run=True).action == "valid"
    assert Scorecard.objects.count() == 1
    assert apply(other).action == "created"


def test_apply_scorecard_dry_run_lists_what_it_would_change(tmp_path, capsys):
    from django.core.management import call_command

    apply(DESIGN_DESCRIPTOR)
    path = tmp_path / "sc.yaml"
    path.write_text(DESIGN_DESCRIPTOR.replace("weight: 2", "weight: 7"))
    before = snapshot()
    call_command("apply_scorecard", str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "valid: would update production-readiness" in out
    assert "rule would be updated: Has an owner" in out
    assert snapshot() == before


def test_apply_scorecard_dry_run_fails_on_a_database_refusal(tmp_path, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    path = tmp_path / "sc.yaml"
    path.write_text(DESIGN_DESCRIPTOR.replace("weight: 2", "weight: 3000000000"))
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("apply_scorecard", str(path), "--dry-run")
    assert "the database refused the descriptor" in capsys.readouterr().err
    assert snapshot() == ([], [], [])


# --- races: real threads, each on its own connection, released together ----------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_applies_of_one_new_scorecard_create_it_once_and_all_succeed():
    from tests.concurrency import race_same

    outcomes = race_same(lambda: scorecard_apply_descriptor(text=DESIGN_DESCRIPTOR).action, 6)
    # The loser of the insert applies again as an update of the same content: what it would do had it come second.
    assert sorted(o.value for o in outcomes) == ["created"] + ["unchanged"] * 5, [o.error for o in outcomes]
    scorecard = Scorecard.objects.get(tag="production-readiness")
    assert scorecard.version == 1
    assert Level.objects.filter(scorecard=scorecard).count() == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_datadog_rule_creates_of_one_name_make_one_rule_and_conflicts():
    from apps.core.errors import ApplicationError
    from apps.scorecards.services import rule_create_custom
    from tests.concurrency import race_same

    outcomes = race_same(lambda: rule_create_custom(name="Raced", scorecard_name="Raced Scorecard"), 6)
    assert sorted(o.kind for o in outcomes) == ["ApplicationError"] * 5 + ["ok"], [o.error for o in outcomes]
    assert {o.error.code for o in outcomes if isinstance(o.error, ApplicationError)} == {"conflict"}
    assert list(Rule.objects.values_list("title", flat=True)) == ["Raced"]
    assert Scorecard.objects.filter(name="Raced Scorecard").count() == 1
