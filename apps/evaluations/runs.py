"""Evaluation runs on Celery (DESIGN §8): start, fan out in chunks, finish, resume, dispatch.

State lives in the database, not in the broker: a run and its chunks are rows, and every state
change is a conditional UPDATE, so a task delivered twice (at-least-once), or a chunk re-run after
its worker died, never counts twice. One active run per scorecard is a partial unique index.

A chunk is two tasks, chained: collect the integration facts its rules need, then evaluate and
store. Tasks take ids only and are enqueued after commit.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.evaluations.models import (
    ChunkStatus,
    EvaluationChunk,
    EvaluationRun,
    RunStatus,
    RunTrigger,
)
from apps.evaluations.services import entities_to_evaluate, evaluate_chunk, plan_for, scores_drop_archived
from apps.integrations.services import facts_collect
from apps.scorecards.models import Scorecard

logger = logging.getLogger(__name__)


class RunInProgress(ApplicationError):
    """The scorecard is being evaluated already; `run` is that run."""

    def __init__(self, run: EvaluationRun | None) -> None:
        super().__init__("Already evaluating scorecard", code="conflict")
        self.run = run


def _lease(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.EVALUATION_LEASE_SECONDS)


def _enqueue_chunks(run_id: int, indexes: list[int]) -> None:
    from apps.evaluations.tasks import chunk_chain

    for index in indexes:
        chunk_chain(run_id, index).apply_async()


def run_start(
    *,
    scorecard: Scorecard,
    trigger: str = RunTrigger.MANUAL,
    by=None,
    entity_ids: list[int] | None = None,
    now: datetime | None = None,
) -> EvaluationRun:
    """Create a run with its chunks and enqueue them after commit.

    Raises RunInProgress when the scorecard already has a queued or running run: the database
    refuses a second one, so two dispatchers racing start exactly one.
    """
    now = now or timezone.now()
    ids = entities_to_evaluate() if entity_ids is None else list(entity_ids)
    size = settings.EVALUATION_CHUNK_SIZE
    parts = [ids[start : start + size] for start in range(0, len(ids), size)]
    try:
        with transaction.atomic():
            run = EvaluationRun.objects.create(
                scorecard=scorecard,
                trigger=trigger,
                requested_by=by,
                scorecard_version=scorecard.version,
                total_chunks=len(parts),
                entities_total=len(ids),
                created_at=now,
                started_at=now,
                lease_expires_at=_lease(now),
                status=RunStatus.RUNNING if parts else RunStatus.SUCCEEDED,
                finished_at=None if parts else now,
            )
            EvaluationChunk.objects.bulk_create(
                EvaluationChunk(run=run, index=index, entity_ids=part) for index, part in enumerate(parts)
            )
            if entity_ids is None:
                scores_drop_archived(scorecard_id=scorecard.pk)
            transaction.on_commit(lambda: _enqueue_chunks(run.pk, list(range(len(parts)))))
    except IntegrityError as exc:
        active = EvaluationRun.objects.active().filter(scorecard=scorecard).first()
        raise RunInProgress(active) from exc
    logger.info("run %s started for %s: %s entities in %s chunks", run.pk, scorecard.tag, len(ids), len(parts))
    return run


def run_request(*, scorecard: Scorecard, trigger: str = RunTrigger.MANUAL, by=None) -> EvaluationRun:
    """The entry point for people (UI, API, admin): start a run unless one is going, then return that one."""
    try:
        return run_start(scorecard=scorecard, trigger=trigger, by=by)
    except RunInProgress as exc:
        if exc.run is None:
            raise
        return exc.run


MAX_CRASHES = 2


def _claim(run_id: int, index: int, now: datetime) -> EvaluationChunk | None:
    """Mark the chunk running (again, if its last worker died). None when it is already finished, or when
    it has now stopped its worker MAX_CRASHES times: then it is failed with the reason instead."""
    # Found running: the delivery that claimed it never finished nor released it, so its process died.
    if EvaluationChunk.objects.filter(run_id=run_id, index=index, status=ChunkStatus.RUNNING).update(
        crashes=F("crashes") + 1
    ):
        crashes = EvaluationChunk.objects.filter(run_id=run_id, index=index).values_list("crashes", flat=True).first()
        if crashes is not None and crashes >= MAX_CRASHES:
            logger.error("run %s chunk %s stopped its worker %s times; failing it", run_id, index, crashes)
            chunk_fail(
                run_id=run_id,
                index=index,
                error=f"this chunk stopped its worker {crashes} times (the process was killed or ran out of "
                "memory), so it was not run again",
            )
            return None
    claimed = EvaluationChunk.objects.filter(
        run_id=run_id, index=index, status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]
    ).update(status=ChunkStatus.RUNNING, attempts=F("attempts") + 1, started_at=now)
    if not claimed:
        return None
    return EvaluationChunk.objects.select_related("run__scorecard").get(run_id=run_id, index=index)


def chunk_collect_facts(*, run_id: int, index: int) -> dict:
    """Collect the integration facts the scorecard's rules need for this chunk's entities.

    Never raises for a failing source: collectors record the failure as the fact's error, which
    turns the rules reading it into `error` for this run.
    """
    chunk = EvaluationChunk.objects.select_related("run__scorecard").filter(run_id=run_id, index=index).first()
    if chunk is None or chunk.status in (ChunkStatus.DONE, ChunkStatus.FAILED):
        return {}
    plan = plan_for(chunk.run.scorecard)
    if not plan.required_facts:
        return {}
    return dict(facts_collect(entity_ids=chunk.entity_ids, required=plan.required_facts))


def chunk_evaluate(*, run_id: int, index: int) -> bool:
    """Evaluate one chunk and store its results, marking it done and counting it, in one transaction.

    Returns False when the chunk was already finished (a duplicate delivery): nothing is written.
    """
    started = time.perf_counter()
    now = timezone.now()
    chunk = _claim(run_id, index, now)
    if chunk is None:
        return False
    run = chunk.run
    plan = plan_for(run.scorecard)
    assert run.started_at is not None  # set when the run was created with its chunks
    with transaction.atomic():
        summary = evaluate_chunk(plan=plan, entity_ids=chunk.entity_ids, now=run.started_at, collect_facts=False)
        finished = EvaluationChunk.objects.filter(pk=chunk.pk, status=ChunkStatus.RUNNING).update(
            status=ChunkStatus.DONE,
            finished_at=timezone.now(),
            rule_evaluations=summary.rule_evaluations,
            results_written=summary.results_written,
            drops=summary.drops,
            error="",
        )
        if not finished:  # another delivery finished it meanwhile; roll this one back
            transaction.set_rollback(True)
            return False
        EvaluationRun.objects.filter(pk=run_id).update(
            done_chunks=F("done_chunks") + 1,
            rule_evaluations=F("rule_evaluations") + summary.rule_evaluations,
            results_written=F("results_written") + summary.results_written,
            lease_expires_at=_lease(timezone.now()),
        )
        _finish_if_complete(run_id)
    seconds = time.perf_counter() - started
    logger.info("run %s chunk %s: %s rules in %.2fs", run_id, index, summary.rule_evaluations, seconds)
    return True


def chunk_release(*, run_id: int, index: int) -> None:
    """A delivery that raised hands the chunk back before its retry, so the retry is not taken for a crash."""
    EvaluationChunk.objects.filter(run_id=run_id, index=index, status=ChunkStatus.RUNNING).update(
        status=ChunkStatus.PENDING
    )


def chunk_fail(*, run_id: int, index: int, error: str) -> bool:
    """Give up on a chunk after its retries; the run finishes as failed once every chunk is settled."""
    with transaction.atomic():
        failed = EvaluationChunk.objects.filter(
            run_id=run_id, index=index, status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]
        ).update(status=ChunkStatus.FAILED, finished_at=timezone.now(), error=error[:4000])
        if not failed:
            return False
        EvaluationRun.objects.filter(pk=run_id).update(failed_chunks=F("failed_chunks") + 1)
        _finish_if_complete(run_id)
    return True


def _finish_if_complete(run_id: int) -> None:
    """Inside the chunk's transaction: the last chunk to settle finishes the run, exactly once."""
    now = timezone.now()
    complete = Q(pk=run_id, status=RunStatus.RUNNING) & Q(total_chunks=F("done_chunks") + F("failed_chunks"))
    succeeded = EvaluationRun.objects.filter(complete, failed_chunks=0).update(
        status=RunStatus.SUCCEEDED, finished_at=now
    )
    failed = 0
    if not succeeded:
        failed = EvaluationRun.objects.filter(complete).update(
            status=RunStatus.FAILED, finished_at=now, error="some chunks failed; see them for why"
        )
    if succeeded or failed:
        from apps.evaluations.tasks import run_finished

        transaction.on_commit(lambda: run_finished.delay(run_id))


def runs_resume_stale(*, now: datetime | None = None) -> list[int]:
    """Runs whose lease passed with chunks unfinished: re-enqueue those chunks, or fail the run after
    EVALUATION_MAX_RESUMES tries. A worker that died never leaves a run stuck."""
    now = now or timezone.now()
    resumed = []
    for run in EvaluationRun.objects.filter(status=RunStatus.RUNNING, lease_expires_at__lt=now):
        with transaction.atomic():
            claimed = EvaluationRun.objects.filter(
                pk=run.pk, status=RunStatus.RUNNING, lease_expires_at__lt=now
            ).update(lease_expires_at=_lease(now), resumes=F("resumes") + 1)
            if not claimed:
                continue  # another dispatcher took it
            if run.resumes + 1 > settings.EVALUATION_MAX_RESUMES:
                for index in run.chunks.filter(status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]).values_list(
                    "index", flat=True
                ):
                    chunk_fail(run_id=run.pk, index=index, error="abandoned: no worker finished it in time")
                continue
            indexes = list(
                run.chunks.filter(status__in=[ChunkStatus.PENDING, ChunkStatus.RUNNING]).values_list("index", flat=True)
            )
            transaction.on_commit(partial(_enqueue_chunks, run.pk, indexes))
            resumed.append(run.pk)
    return resumed


def scorecards_due(*, now: datetime) -> list[Scorecard]:
    """Published scorecards whose evaluation window has passed since their last run started."""
    due = []
    for scorecard in Scorecard.objects.published().annotate(last_run=Max("runs__created_at")):
        if scorecard.last_run is None or scorecard.last_run + timedelta(hours=scorecard.evaluation_window_hours) <= now:
            due.append(scorecard)
    return due


def dispatch(*, now: datetime | None = None) -> list[int]:
    """Every minute: resume stale runs, then start a run for each scorecard that is due."""
    now = now or timezone.now()
    runs_resume_stale(now=now)
    started = []
    for scorecard in scorecards_due(now=now):
        try:
            started.append(run_start(scorecard=scorecard, trigger=RunTrigger.SCHEDULE, now=now).pk)
        except RunInProgress:
            continue
    return started
