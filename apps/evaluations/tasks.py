"""Celery entry points. They take ids only and call services, so a retry or a duplicate is harmless."""

from __future__ import annotations

import logging

from celery import chain, shared_task
from django.db import OperationalError

logger = logging.getLogger(__name__)


@shared_task(
    ignore_result=True,
    acks_late=True,
    autoretry_for=(ConnectionError, OperationalError),
    retry_backoff=True,
    max_retries=5,
)
def rescore_entity(entity_id: int, scorecard_id: int) -> None:
    """Re-apply exemptions to one entity's stored results (after an exemption transition)."""
    from apps.evaluations.services import entity_rescore

    entity_rescore(entity_id=entity_id, scorecard_id=scorecard_id)


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def evaluate_entity(entity_id: int) -> None:
    """Evaluate one entity on every published scorecard (its descriptor or custom data changed)."""
    from apps.evaluations.services import entity_evaluate_everywhere

    entity_evaluate_everywhere(entity_id=entity_id)


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
    from apps.evaluations.runs import chunk_evaluate, chunk_fail

    try:
        chunk_evaluate(run_id=run_id, index=index)
    except Exception as exc:
        if self.request.retries >= self.max_retries:
            logger.exception("run %s chunk %s failed for good", run_id, index)
            chunk_fail(run_id=run_id, index=index, error=f"{type(exc).__name__}: {exc}")
            return
        raise self.retry(exc=exc, countdown=min(2**self.request.retries, 60)) from exc


def chunk_chain(run_id: int, index: int):
    return chain(collect_chunk_facts.si(run_id, index), evaluate_run_chunk.si(run_id, index))


@shared_task(ignore_result=True, acks_late=True)
def run_finished(run_id: int) -> None:
    """After a run: notify owners of score and level drops when the scorecard asks for it."""
    from apps.notifications.services import notify_score_drops

    notify_score_drops(run_id=run_id)


@shared_task(ignore_result=True)
def dispatch_evaluations() -> None:
    """Every minute (beat): resume stale runs and start the ones that are due."""
    from apps.evaluations.runs import dispatch

    dispatch()


@shared_task(ignore_result=True)
def expire_exemptions() -> None:
    from apps.exemptions.services import exemptions_expire

    exemptions_expire()


@shared_task(ignore_result=True)
def prune_score_history() -> None:
    from apps.evaluations.services import score_history_prune

    score_history_prune()
