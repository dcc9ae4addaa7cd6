"""Celery entry points. They take ids only and call services, so a retry or a duplicate is harmless."""

from __future__ import annotations

import logging

from celery import chain, shared_task
from django.db import OperationalError

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rescore_flush() -> None:
    """Turn every pending change of a score's inputs into a few tasks (see apps.evaluations.rescoring)."""
    from django.core.cache import cache

    from apps.evaluations.rescoring import FLUSH_FLAG, rescore_pending

    # Cleared first: a change recorded from now on schedules a flush of its own, so none waits unseen.
    cache.delete(FLUSH_FLAG)
    if rescore_pending().more:
        rescore_flush.delay()


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def rescore_entities(scorecard_id: int, entity_ids: list[int]) -> None:
    """Evaluate a chunk of entities on one scorecard after their inputs changed."""
    from apps.evaluations.rescoring import entities_rescore

    entities_rescore(scorecard_id=scorecard_id, entity_ids=entity_ids)


@shared_task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=(ConnectionError, OperationalError),
    retry_backoff=True,
    max_retries=5,
)
def rescore_exemptions(pairs: list[list[int]]) -> None:
    """Re-apply exemptions to stored results of (entity, scorecard) pairs (after exemption transitions)."""
    from apps.evaluations.rescoring import exemptions_rescore

    exemptions_rescore(pairs=pairs)


@shared_task(ignore_result=True, acks_late=True)
def collect_chunk_facts(run_id: int, index: int) -> None:
    """First half of a chunk. Never fails: a source that fails or times out becomes its rules' error."""
    from apps.evaluations.runs import chunk_collect_facts

    try:
        chunk_collect_facts(run_id=run_id, index=index)
    except Exception:  # the evaluation that follows reports missing facts as rule errors
        logger.exception("fact collection failed for run %s chunk %s", run_id, index)


@shared_task(bind=True, ignore_result=True, acks_late=True, max_retries=5)
def evaluate_run_chunk(self, run_id: int, index: int) -> None:
    """Second half of a chunk: evaluate and store, exactly once however often it is delivered."""
    from apps.evaluations.runs import chunk_evaluate, chunk_fail, chunk_release

    try:
        chunk_evaluate(run_id=run_id, index=index)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            logger.exception("run %s chunk %s failed for good", run_id, index)
            chunk_fail(run_id=run_id, index=index, error=f"{type(exc).__name__}: {exc}")
            return
        chunk_release(run_id=run_id, index=index)
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc


def chunk_chain(run_id: int, index: int):
    return chain(collect_chunk_facts.si(run_id, index), evaluate_run_chunk.si(run_id, index))


@shared_task(ignore_result=True, acks_late=True)
def run_finished(run_id: int) -> None:
    """After a run: notify owners of score and level drops when the scorecard asks for it."""
    from apps.evaluations.rescoring import rescore_pending
    from apps.notifications.services import notify_score_drops

    notify_score_drops(run_id=run_id)
    # Changes that waited for this run to end (it started before them) can be re-scored now.
    rescore_pending()


@shared_task(ignore_result=True)
def dispatch_evaluations() -> None:
    """Every minute (beat): resume stale runs, start the ones that are due, flush waiting re-scores."""
    from apps.evaluations.rescoring import rescore_pending
    from apps.evaluations.runs import dispatch

    dispatch()
    rescore_pending()


@shared_task(ignore_result=True)
def expire_exemptions() -> None:
    from apps.exemptions.services import exemptions_expire

    exemptions_expire()


@shared_task(ignore_result=True)
def prune_score_history() -> None:
    from apps.evaluations.services import score_history_prune

    score_history_prune()


@shared_task(ignore_result=True, acks_late=True)
def run_query(job_pk: int) -> None:
    """Run one catalog query job (apps.evaluations.queries); a finished job is left alone, so a redelivery
    is harmless. A failure is recorded on the job (FAILED, with the reason) and not retried."""
    from apps.evaluations.queries import query_job_run

    try:
        query_job_run(job_pk=job_pk)
    except Exception:  # already recorded on the job as FAILED
        logger.exception("query job %s failed", job_pk)
