"""Celery entry points. They take ids only and call services, so a retry or a duplicate is harmless."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def rescore_entity(entity_id: int, scorecard_id: int) -> None:
    """Re-apply exemptions to one entity's stored results (after an exemption transition)."""
    from apps.evaluations.services import entity_rescore

    entity_rescore(entity_id=entity_id, scorecard_id=scorecard_id)


@shared_task(ignore_result=True, acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def evaluate_scorecard(scorecard_id: int, entity_ids: list[int] | None = None) -> None:
    """Evaluate one scorecard (for some entities, or all)."""
    from apps.evaluations.services import scorecard_evaluate
    from apps.scorecards.models import Scorecard

    scorecard = Scorecard.objects.filter(pk=scorecard_id).first()
    if scorecard is not None:
        scorecard_evaluate(scorecard=scorecard, entity_ids=entity_ids)
