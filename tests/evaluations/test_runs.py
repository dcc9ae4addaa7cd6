"""The run machinery in eager mode: chunking, exactly-once counting, resume, dispatch, history, drops."""

import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from apps.catalog.models import CustomData, Entity
from apps.evaluations.models import (
    ChunkStatus,
    EntityScore,
    EvaluationChunk,
    EvaluationRun,
    RuleResult,
    RunStatus,
    RunTrigger,
    ScoreHistory,
)
from apps.evaluations.runs import (
    RunInProgress,
    chunk_evaluate,
    chunk_fail,
    dispatch,
    run_request,
    run_start,
    runs_resume_stale,
    scorecards_due,
)
from apps.evaluations.services import score_history_prune, scorecard_evaluate
from apps.scorecards.services import scorecard_apply_descriptor

pytestmark = pytest.mark.django_db

SCORECARD = textwrap.dedent(
    """\
    tag: card
    name: Card
    evaluation: {window: 4}
    ladder:
      levels:
        - {name: Bronze, rank: 1}
        - {name: Gold, rank: 2}
    rules:
      - title: Score 50
        expression: custom("score") >= 50
        weight: 2
        level: Bronze
      - title: Score 80
        expression: custom("score") >= 80
        weight: 1
        level: Gold
    """
)


@pytest.fixture
def card():
    return scorecard_apply_descriptor(text=SCORECARD).scorecard


def make_entities(scores):
    entities = Entity.objects.bulk_create([Entity(tag=f"svc-{i:03d}", name=f"S{i}") for i in range(len(scores))])
    CustomData.objects.bulk_create(
        [CustomData(entity=e, key="score", value=score) for e, score in zip(entities, scores, strict=True)]
    )
    return entities


def start(scorecard, capture, **kwargs):
    with capture(execute=True):
        run = run_start(scorecard=scorecard, **kwargs)
    run.refresh_from_db()
    return run


def test_a_run_is_chunked_and_completes(card, settings, django_capture_on_commit_callbacks):
    settings.EVALUATION_CHUNK_SIZE = 3
    make_entities([90, 60, 10, 85, 55, 20, 100])
    run = start(card, django_capture_on_commit_callbacks)
    assert (run.status, run.total_chunks, run.done_chunks, run.failed_chunks) == (RunStatus.SUCCEEDED, 3, 3, 0)
    assert (run.entities_total, run.rule_evaluations, run.results_written) == (7, 14, 14)
    assert run.finished_at >= run.started_at and run.progress == 1.0
    assert list(run.chunks.values_list("index", "status", "entity_ids")) == [
        (0, "done", [e.id for e in Entity.objects.order_by("id")[:3]]),
        (1, "done", [e.id for e in Entity.objects.order_by("id")[3:6]]),
        (2, "done", [e.id for e in Entity.objects.order_by("id")[6:]]),
    ]
    levels = dict(EntityScore.objects.values_list("entity__tag", "level__name"))
    assert levels == {
        "svc-000": "Gold",
        "svc-001": "Bronze",
        "svc-002": None,
        "svc-003": "Gold",
        "svc-004": "Bronze",
        "svc-005": None,
        "svc-006": "Gold",
    }
    assert set(EntityScore.objects.values_list("evaluated_at", flat=True)) == {run.started_at}


def test_one_active_run_per_scorecard(card, django_capture_on_commit_callbacks):
    make_entities([1])
    first = run_start(scorecard=card)  # not committed-and-run: stays running
    assert first.status == RunStatus.RUNNING
    with pytest.raises(RunInProgress) as info:
        run_start(scorecard=card)
    assert info.value.run == first
    assert info.value.message == "Already evaluating scorecard"
    assert run_request(scorecard=card) == first
    assert EvaluationRun.objects.count() == 1


def test_empty_catalog_run_succeeds_at_once(card):
    run = run_start(scorecard=card)
    assert (run.status, run.total_chunks) == (RunStatus.SUCCEEDED, 0)


def test_a_chunk_counts_once_however_often_it_is_delivered(card, settings):
    settings.EVALUATION_CHUNK_SIZE = 2
    make_entities([90, 60, 10])
    run = run_start(scorecard=card)  # chunks enqueued only after commit, which never comes here
    assert chunk_evaluate(run_id=run.id, index=0) is True
    snapshot = list(RuleResult.objects.order_by("id").values_list("id", "state", "changed_at"))
    assert chunk_evaluate(run_id=run.id, index=0) is False
    assert list(RuleResult.objects.order_by("id").values_list("id", "state", "changed_at")) == snapshot
    run.refresh_from_db()
    assert (run.done_chunks, run.status, run.rule_evaluations) == (1, RunStatus.RUNNING, 4)
    assert chunk_evaluate(run_id=run.id, index=1) is True
    run.refresh_from_db()
    assert (run.done_chunks, run.status, run.rule_evaluations) == (2, RunStatus.SUCCEEDED, 6)


def test_a_chunk_whose_worker_died_is_claimed_again(card, settings):
    settings.EVALUATION_CHUNK_SIZE = 5
    make_entities([90])
    run = run_start(scorecard=card)
    EvaluationChunk.objects.filter(run=run).update(status=ChunkStatus.RUNNING, attempts=1)
    assert chunk_evaluate(run_id=run.id, index=0) is True
    chunk = run.chunks.get()
    assert (chunk.status, chunk.attempts) == (ChunkStatus.DONE, 2)


def test_failed_chunk_fails_the_run_once_all_are_settled(card, settings):
    settings.EVALUATION_CHUNK_SIZE = 1
    make_entities([90, 60])
    run = run_start(scorecard=card)
    assert chunk_fail(run_id=run.id, index=0, error="boom") is True
    assert chunk_fail(run_id=run.id, index=0, error="again") is False
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING
    chunk_evaluate(run_id=run.id, index=1)
    run.refresh_from_db()
    assert (run.status, run.done_chunks, run.failed_chunks) == (RunStatus.FAILED, 1, 1)
    assert "chunks failed" in run.error
    assert run.chunks.get(index=0).error == "boom"
    # a finished run frees the scorecard for the next one
    assert run_start(scorecard=card).status == RunStatus.RUNNING


def test_stale_runs_are_resumed_then_failed_after_too_many_tries(card, settings, django_capture_on_commit_callbacks):
    settings.EVALUATION_CHUNK_SIZE = 1
    settings.EVALUATION_MAX_RESUMES = 1
    make_entities([90, 60])
    run = run_start(scorecard=card)
    chunk_evaluate(run_id=run.id, index=0)
    later = run.lease_expires_at + timedelta(minutes=20)
    assert runs_resume_stale(now=run.lease_expires_at - timedelta(seconds=1)) == []
    with django_capture_on_commit_callbacks(execute=True):
        assert runs_resume_stale(now=later) == [run.id]
    run.refresh_from_db()
    assert (run.status, run.done_chunks, run.resumes) == (RunStatus.SUCCEEDED, 2, 1)

    other = run_start(scorecard=card)
    EvaluationRun.objects.filter(pk=other.pk).update(resumes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert runs_resume_stale(now=other.lease_expires_at + timedelta(minutes=1)) == []
    other.refresh_from_db()
    assert (other.status, other.failed_chunks) == (RunStatus.FAILED, 2)
    assert "abandoned" in other.chunks.first().error


def test_dispatch_starts_due_scorecards_only(card, django_capture_on_commit_callbacks):
    draft = scorecard_apply_descriptor(text=SCORECARD.replace("tag: card", "tag: d") + "draft: true\n").scorecard
    make_entities([90])
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert scorecards_due(now=now) == [card]
    with django_capture_on_commit_callbacks(execute=True):
        started = dispatch(now=now)
    assert len(started) == 1
    run = EvaluationRun.objects.get()
    assert (run.trigger, run.scorecard, run.status) == (RunTrigger.SCHEDULE, card, RunStatus.SUCCEEDED)
    assert dispatch(now=now + timedelta(hours=3, minutes=59)) == []
    assert scorecards_due(now=now + timedelta(hours=4)) == [card]
    assert not EvaluationRun.objects.filter(scorecard=draft).exists()


def test_history_points_on_change_and_daily_and_drops(card):
    entity = make_entities([90])[0]
    day1 = datetime(2026, 5, 1, 9, tzinfo=UTC)
    scorecard_evaluate(scorecard=card, now=day1)
    scorecard_evaluate(scorecard=card, now=day1 + timedelta(hours=4))  # same day, unchanged: no point
    assert ScoreHistory.objects.count() == 1
    CustomData.objects.filter(entity=entity).update(value=60)
    dropped = scorecard_evaluate(scorecard=card, now=day1 + timedelta(hours=8))
    assert dropped.drops == [{"entity": entity.id, "score": [3.0, 2.0], "level": [2, 1]}]
    scorecard_evaluate(scorecard=card, now=day1 + timedelta(days=1))  # next day: daily point
    points = list(ScoreHistory.objects.order_by("recorded_at").values_list("score", "level_rank", "scorecard_version"))
    assert points == [(3.0, 2, 1), (2.0, 1, 1), (2.0, 1, 1)]
    assert ScoreHistory.objects.order_by("recorded_at").last().percentage == pytest.approx(2 / 3)


def test_history_is_tagged_with_the_scorecard_version(card):
    make_entities([90])
    scorecard_evaluate(scorecard=card, now=datetime(2026, 5, 1, tzinfo=UTC))
    scorecard_apply_descriptor(text=SCORECARD.replace(">= 80", ">= 95"))
    card.refresh_from_db()
    scorecard_evaluate(scorecard=card, now=datetime(2026, 5, 1, 1, tzinfo=UTC))
    assert list(ScoreHistory.objects.order_by("recorded_at").values_list("scorecard_version", "level_rank")) == [
        (1, 2),
        (2, 1),
    ]


def test_rises_are_not_drops(card):
    entity = make_entities([10])[0]
    scorecard_evaluate(scorecard=card, now=datetime(2026, 5, 1, tzinfo=UTC))
    CustomData.objects.filter(entity=entity).update(value=95)
    assert scorecard_evaluate(scorecard=card, now=datetime(2026, 5, 1, 1, tzinfo=UTC)).drops == []


def test_prune_removes_only_old_points(card, settings):
    settings.SCORE_HISTORY_RETENTION_DAYS = 30
    make_entities([90])
    now = datetime(2026, 5, 1, tzinfo=UTC)
    scorecard_evaluate(scorecard=card, now=now - timedelta(days=40))
    scorecard_evaluate(scorecard=card, now=now - timedelta(days=10))
    assert score_history_prune(now=now) == 1
    assert ScoreHistory.objects.count() == 1


def test_applying_a_descriptor_starts_a_run(tmp_path, capsys, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    make_entities([90, 10])
    path = tmp_path / "card.yaml"
    path.write_text(SCORECARD)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("apply_scorecard", str(path))
    assert "every entity on it is being re-scored on the workers" in capsys.readouterr().out
    run = EvaluationRun.objects.get()
    assert (run.trigger, run.status, run.entities_total) == (RunTrigger.CHANGE, RunStatus.SUCCEEDED, 2)
    assert EntityScore.objects.count() == 2
    call_command("apply_scorecard", str(path))  # unchanged: no new run
    assert EvaluationRun.objects.count() == 1


def test_importing_the_catalog_evaluates_changed_entities(card, tmp_path, capsys, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    (tmp_path / "svc.yaml").write_text(
        "openapi: 3.0.1\ninfo:\n  title: S\n  x-cortex-tag: svc\n  x-cortex-custom-metadata: {score: 85}\n"
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_catalog", str(tmp_path))
    assert "1 entities queued for re-scoring" in capsys.readouterr().out
    assert EntityScore.objects.get(entity__tag="svc").level.name == "Gold"
    call_command("import_catalog", str(tmp_path))
    assert "queued" not in capsys.readouterr().out


def test_a_failing_fact_source_turns_its_rules_into_errors_and_the_run_still_succeeds(
    tmp_path, django_capture_on_commit_callbacks
):
    card = scorecard_apply_descriptor(
        text=SCORECARD + '  - title: Readme\n    expression: git.fileExists("README.md")\n    weight: 1\n'
    ).scorecard
    entity = make_entities([90])[0]
    Entity.objects.filter(pk=entity.pk).update(git_url=str(tmp_path / "not-a-repository"))
    run = start(card, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED
    result = RuleResult.objects.get(rule__title="Readme")
    assert result.state == "error" and "git" in result.message
    assert RuleResult.objects.get(rule__title="Score 50").state == "pass"
