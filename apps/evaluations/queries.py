"""Catalog queries: a rule-language expression run over every entity as a job on the workers.

`query_start` compiles first (a syntax error is refused with its line and column, and nothing is stored),
stores a PENDING job and enqueues `run_query` after commit. `query_job_run` (the task's body) evaluates the
catalog in chunks of `EVALUATION_CHUNK_SIZE` with the bulk loaders, so each chunk costs the same few queries
whatever its size. It reads the facts integrations last collected and calls no integration itself. An entity
whose evaluation errors (a runtime error, an integration not configured, a non-boolean value) is not a match.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.catalog.models import Entity
from apps.core.errors import ApplicationError, NotFoundError
from apps.evaluations.models import QueryJob, QueryState
from apps.evaluations.selectors import entity_facts_bulk
from apps.scorecards.language import (
    CompiledExpression,
    IntegrationNotConfigured,
    RuleRuntimeError,
    RuleSyntaxError,
    compile_expression,
)

MAX_EXPRESSION_LENGTH = 10_000


def _compile(expression: str) -> CompiledExpression:
    try:
        return compile_expression(expression)
    except RuleSyntaxError as exc:
        raise ApplicationError(f"The query does not compile: {exc}") from exc


def query_start(*, expression: str, by: User | None) -> QueryJob:
    """Store a PENDING job for `expression` and run it on the workers after commit.

    Raises ApplicationError (400) when the expression is empty, too long or does not compile; then nothing
    is stored and nothing is enqueued.
    """
    from apps.evaluations.tasks import run_query as run_query_task

    expression = expression.strip()
    if not expression:
        raise ApplicationError("The query is empty.")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ApplicationError(f"The query is longer than {MAX_EXPRESSION_LENGTH} characters.")
    _compile(expression)
    with transaction.atomic():
        job = QueryJob.objects.create(expression=expression, requested_by=by, created_at=timezone.now())
        transaction.on_commit(lambda: run_query_task.delay(job.pk))
    return job


def query_job_run(*, job_pk: int) -> None:
    """Evaluate the job's expression over the catalog; idempotent.

    Claims the job (PENDING, or RUNNING again when a worker died and the task was redelivered) and finishes
    it DONE with the matching ids, or FAILED with the reason. A finished job is left alone.
    """
    now = timezone.now()
    claimed = QueryJob.objects.filter(pk=job_pk, state__in=[QueryState.PENDING, QueryState.RUNNING]).update(
        state=QueryState.RUNNING, started_at=now, entities_done=0, error=""
    )
    if claimed != 1:
        return
    job = QueryJob.objects.get(pk=job_pk)
    try:
        matches = _evaluate_catalog(job, now=now)
    except Exception as exc:
        _finish(job_pk, state=QueryState.FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(job_pk, state=QueryState.DONE, matches=matches)


def _evaluate_catalog(job: QueryJob, *, now) -> list[int]:
    compiled = _compile(job.expression)
    entity_ids = list(Entity.objects.active().order_by("tag").values_list("pk", flat=True))
    QueryJob.objects.filter(pk=job.pk).update(entities_total=len(entity_ids))
    size = max(1, settings.EVALUATION_CHUNK_SIZE)
    matches: list[int] = []
    for start in range(0, len(entity_ids), size):
        chunk = entity_ids[start : start + size]
        facts = entity_facts_bulk(chunk, now=now, required=compiled.required_facts)
        matches.extend(entity_id for entity_id in chunk if entity_id in facts and _matches(compiled, facts[entity_id]))
        QueryJob.objects.filter(pk=job.pk, state=QueryState.RUNNING).update(
            entities_done=F("entities_done") + len(chunk)
        )
    return matches


def _matches(compiled: CompiledExpression, ctx) -> bool:
    """True only when the expression gives true; any error for this entity means no match."""
    try:
        return compiled.check(ctx)
    except (IntegrationNotConfigured, RuleRuntimeError, RecursionError):
        return False


def _finish(job_pk: int, *, state: str, matches: list[int] | None = None, error: str = "") -> None:
    QueryJob.objects.filter(pk=job_pk, state=QueryState.RUNNING).update(
        state=state, finished_at=timezone.now(), result_entity_ids=matches or [], error=error[:2000]
    )


# --- reads -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryMatch:
    id: str  # the entity's public id
    tag: str
    name: str
    type: str
    description: str


def query_job_get(*, job_id: str, viewer: User) -> QueryJob:
    """The job with that id that `viewer` may see: their own, or any for a superuser. NotFoundError otherwise."""
    try:
        wanted = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFoundError(f"No query job {job_id!r}.") from None
    jobs = QueryJob.objects.filter(job_id=wanted)
    if not viewer.is_superuser:
        jobs = jobs.filter(requested_by=viewer)
    job = jobs.first()
    if job is None:
        raise NotFoundError(f"No query job {job_id!r}.")
    return job


def query_job_list(*, viewer: User, limit: int = 20) -> list[QueryJob]:
    """The viewer's latest jobs, newest first."""
    return list(QueryJob.objects.filter(requested_by=viewer).order_by("-created_at", "-id")[:limit])


def query_matches(job: QueryJob) -> list[QueryMatch]:
    """The entities a finished job matched, ordered by tag, in one query."""
    if job.state != QueryState.DONE or not job.result_entity_ids:
        return []
    rows = Entity.objects.filter(pk__in=job.result_entity_ids).order_by("tag")
    return [
        QueryMatch(id=e.public_id, tag=e.tag, name=e.name, type=e.type, description=e.description)
        for e in rows.only("public_id", "tag", "name", "type", "description")
    ]
