"""Re-scoring after a write: the listener of `apps.core.score_inputs` and the coalescing flush behind it.

A write anywhere (a descriptor, custom data, an outcome, a rule, a scorecard's filter or ladder, an
exemption) announces which (entity, scorecard) pairs it touched. The listener turns that into
`PendingRescore` rows and schedules one flush a short debounce later; whatever else is announced
meanwhile joins the same flush. The flush takes every pending row at once (locked, skipping rows
another flush holds), merges them, and enqueues per scorecard one task per chunk of entities, or one
run for a scorecard-wide change, so importing 1,000 descriptors is a few tasks, not thousands.

Why rows rather than messages: rows survive a broker outage and a worker restart, merge with SQL, and
let a flush that meets a run in progress leave its change for later instead of losing it (a run that
started before the change may have scored some chunks with the old definition). Beat's dispatcher and
the end of every run flush again, so a deferred or orphaned change waits at most a minute.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.catalog.models import Entity
from apps.core.score_inputs import ScoreInputsChange
from apps.evaluations.models import EntityScore, EvaluationRun, PendingRescore, RuleResult, RunTrigger
from apps.scorecards.models import Scorecard

logger = logging.getLogger(__name__)

FLUSH_FLAG = "evaluations:rescore-flush-scheduled"
# Rows taken by one flush; a larger backlog is taken by the flush that this one enqueues.
FLUSH_LIMIT = 20_000


# --- The listener (runs in the process that made the write, after its commit) ---------------------------


def on_score_inputs_changed(changes: list[ScoreInputsChange]) -> None:
    """Record what changed and schedule a flush. Archived entities leave their scorecards here and now,
    as `cortex catalog archive` promises ("at once"); everything else is left to the workers."""
    now = timezone.now()
    rows: list[PendingRescore] = []
    entity_ids: set[int] = set()
    for change in changes:
        entities: Iterable[int | None] = sorted(change.entity_ids) if change.entity_ids is not None else [None]
        scorecards: Iterable[int | None] = sorted(change.scorecard_ids) if change.scorecard_ids is not None else [None]
        entity_ids.update(change.entity_ids or ())
        why = change.why[:200]
        rows.extend(
            PendingRescore(entity_id=e, scorecard_id=s, rerun=change.rerun, why=why, created_at=now)
            for e in entities
            for s in scorecards
        )
    if entity_ids:
        scores_drop_archived_entities(entity_ids=entity_ids)
    # Rows naming an entity or scorecard deleted meanwhile would break the foreign key: keep the live ones.
    live_entities = set(Entity.objects.filter(pk__in=entity_ids).values_list("pk", flat=True)) if entity_ids else set()
    named_scorecards = {row.scorecard_id for row in rows if row.scorecard_id is not None}
    live_scorecards = (
        set(Scorecard.objects.filter(pk__in=named_scorecards).values_list("pk", flat=True))
        if named_scorecards
        else set()
    )
    rows = [
        row
        for row in rows
        if (row.entity_id is None or row.entity_id in live_entities)
        and (row.scorecard_id is None or row.scorecard_id in live_scorecards)
    ]
    if not rows:
        return
    PendingRescore.objects.bulk_create(rows, batch_size=2000)
    schedule_flush()


def schedule_flush() -> None:
    """Enqueue a flush a debounce from now, unless one is scheduled already.

    The flag lives as long as the debounce: a row written while it is set is committed before the
    scheduled flush runs, so that flush takes it; a row written after it lapses schedules its own.
    """
    delay = settings.RESCORE_DEBOUNCE_SECONDS
    if cache.add(FLUSH_FLAG, 1, timeout=max(delay, 1)):
        from apps.evaluations.tasks import rescore_flush

        rescore_flush.apply_async(countdown=delay)


def scores_drop_archived_entities(*, entity_ids: Iterable[int]) -> int:
    """Remove the scores and results of those of these entities that are archived; returns the scores removed."""
    archived = list(Entity.objects.filter(pk__in=list(entity_ids), archived=True).values_list("pk", flat=True))
    if not archived:
        return 0
    removed, _ = EntityScore.objects.filter(entity_id__in=archived).delete()
    RuleResult.objects.filter(entity_id__in=archived).delete()
    return removed


# --- The flush (a worker task) ----------------------------------------------------------------------------


@dataclass
class FlushResult:
    taken: int = 0
    deferred: int = 0  # scorecard-wide changes left for later: a run that started before them is going
    runs: list[int] = field(default_factory=list)
    tasks: list[tuple[str, tuple]] = field(default_factory=list)  # (task name, args), enqueued on commit
    more: bool = False  # FLUSH_LIMIT rows were taken: there may be more

    def count(self, name: str) -> int:
        return sum(1 for task, _ in self.tasks if task == name)


def rescore_pending(*, now: datetime | None = None) -> FlushResult:
    """Take every pending change and turn them into a few tasks; idempotent, and safe to run concurrently.

    - A scorecard-wide change starts one run of that scorecard (all its entities, in chunks), unless a
      run started after the change already covers it; while an older run is still going, the change
      stays pending for the run's end (`run_finished` flushes again).
    - Entity changes become one `rescore_entities` task per scorecard and chunk of entities.
    - Exemption-only changes re-apply exemptions to stored results (`rescore_exemptions`), unless the
      pair is re-evaluated anyway.
    """
    from apps.evaluations.runs import RunInProgress, run_start

    now = now or timezone.now()
    result = FlushResult()
    with transaction.atomic():
        marks = list(
            PendingRescore.objects.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "entity_id", "scorecard_id", "rerun", "created_at")[:FLUSH_LIMIT]
        )
        if not marks:
            return result
        result.taken = len(marks)
        result.more = len(marks) == FLUSH_LIMIT
        published = set(Scorecard.objects.published().values_list("id", flat=True))

        wide: dict[int, list[tuple[int, datetime]]] = defaultdict(list)  # scorecard -> [(mark id, created_at)]
        evaluate: dict[int, set[int]] = defaultdict(set)  # scorecard -> entities to evaluate
        exemptions: set[tuple[int, int]] = set()  # (entity, scorecard) to re-apply exemptions to
        for mark_id, entity_id, scorecard_id, rerun, created_at in marks:
            targets = [scorecard_id] if scorecard_id is not None else sorted(published)
            for target in targets:
                if entity_id is None:
                    if target in published:  # drafts are evaluated only when someone names them
                        wide[target].append((mark_id, created_at))
                elif rerun:
                    evaluate[target].add(entity_id)
                else:
                    exemptions.add((entity_id, target))

        keep: set[int] = set()
        covered: set[int] = set()
        for scorecard_id, scorecard_marks in sorted(wide.items()):
            oldest = min(created_at for _, created_at in scorecard_marks)
            if EvaluationRun.objects.filter(scorecard_id=scorecard_id, created_at__gte=oldest).exists():
                covered.add(scorecard_id)  # a run that started after the change scores all of it
                continue
            try:
                run = run_start(scorecard=Scorecard.objects.get(pk=scorecard_id), trigger=RunTrigger.CHANGE, now=now)
            except RunInProgress:
                keep.update(mark_id for mark_id, _ in scorecard_marks)
                continue
            covered.add(scorecard_id)
            result.runs.append(run.pk)
        result.deferred = len(keep)

        size = settings.EVALUATION_CHUNK_SIZE
        for scorecard_id, entity_ids in sorted(evaluate.items()):
            if scorecard_id in covered:
                continue
            ids = sorted(entity_ids)
            for start in range(0, len(ids), size):
                result.tasks.append(("rescore_entities", (scorecard_id, ids[start : start + size])))
        pairs = sorted((e, s) for e, s in exemptions if s not in covered and e not in evaluate.get(s, ()))
        for start in range(0, len(pairs), size):
            result.tasks.append(("rescore_exemptions", ([list(pair) for pair in pairs[start : start + size]],)))

        PendingRescore.objects.filter(pk__in=[mark_id for mark_id, *_ in marks if mark_id not in keep]).delete()
        transaction.on_commit(partial(_enqueue, list(result.tasks)))
    logger.info(
        "re-score flush: %s changes, %s runs, %s tasks, %s deferred",
        result.taken,
        len(result.runs),
        len(result.tasks),
        result.deferred,
    )
    return result


def _enqueue(tasks: list[tuple[str, tuple]]) -> None:
    from apps.evaluations import tasks as task_module

    for name, args in tasks:
        getattr(task_module, name).delay(*args)


# --- The work (worker tasks) ---------------------------------------------------------------------------------


def entities_rescore(*, scorecard_id: int, entity_ids: Sequence[int], now: datetime | None = None) -> int:
    """Evaluate these entities on this scorecard and store the results (idempotent); returns how many were
    scored. Archived entities lose their score on it instead; deleted ones and a deleted scorecard are skipped."""
    from apps.evaluations.services import evaluate_chunk, plan_for

    scorecard = Scorecard.objects.filter(pk=scorecard_id).first()
    if scorecard is None:
        return 0
    now = now or timezone.now()
    states = dict(Entity.objects.filter(pk__in=list(entity_ids)).values_list("pk", "archived"))
    archived = [pk for pk, is_archived in states.items() if is_archived]
    if archived:
        EntityScore.objects.filter(scorecard_id=scorecard_id, entity_id__in=archived).delete()
        RuleResult.objects.filter(scorecard_id=scorecard_id, entity_id__in=archived).delete()
    active = sorted(pk for pk, is_archived in states.items() if not is_archived)
    if not active:
        return 0
    summary = evaluate_chunk(plan=plan_for(scorecard), entity_ids=active, now=now)
    return summary.entities_in_scope


def exemptions_rescore(*, pairs: Sequence[Sequence[int]], now: datetime | None = None) -> int:
    """Re-apply exemptions to the stored results of these (entity, scorecard) pairs; returns how many had a score."""
    from apps.evaluations.services import entity_rescore

    existing = set(Scorecard.objects.filter(pk__in={s for _, s in pairs}).values_list("pk", flat=True))
    scored = 0
    for entity_id, scorecard_id in pairs:
        if scorecard_id not in existing:  # deleted since the change was announced
            continue
        scored += entity_rescore(entity_id=entity_id, scorecard_id=scorecard_id, now=now) is not None
    return scored


def pending_rescores(*, scorecard_id: int) -> int:
    """How many changes wait to be re-scored on this scorecard (its own, and those for every scorecard)."""
    return PendingRescore.objects.filter(Q(scorecard_id=scorecard_id) | Q(scorecard__isnull=True)).count()
