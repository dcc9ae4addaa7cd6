"""Evaluating scorecards and storing the results. Used by the `evaluate` command and by Celery tasks.

Writes are idempotent: evaluating the same entities twice with the same inputs leaves the same rows
(only `EntityScore.evaluated_at` moves). Result rows are written only when their state changes.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.catalog.models import Entity, normalise_tag
from apps.core.errors import ApplicationError
from apps.core.score_inputs import score_inputs_changed
from apps.evaluations.engine import EntityEvaluation, ScorecardPlan, evaluate_entity, rescore
from apps.evaluations.models import EntityScore, RuleOutcome, RuleResult, ScoreHistory
from apps.evaluations.selectors import entity_facts_bulk, exempt_rules_bulk, outcomes_bulk
from apps.integrations.services import facts_collect
from apps.scorecards.models import Scorecard

logger = logging.getLogger(__name__)


def plan_for(scorecard: Scorecard) -> ScorecardPlan:
    return ScorecardPlan.build(scorecard, scorecard.rules.all(), scorecard.levels.all())


@dataclass
class EvaluationSummary:
    scorecard_tag: str
    entities_in_scope: int = 0
    entities_out_of_scope: int = 0
    rule_evaluations: int = 0
    results_written: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    drops: list[dict] = field(default_factory=list)


def entities_to_evaluate() -> list[int]:
    return list(Entity.objects.active().order_by("id").values_list("id", flat=True))


def evaluate_chunk(
    *, plan: ScorecardPlan, entity_ids: Sequence[int], now: datetime, collect_facts: bool = True
) -> EvaluationSummary:
    """Evaluate one chunk of entities and store results and scores in bulk.

    Loads everything in a fixed number of queries, runs the rules in memory, then writes only what
    changed. Safe to run again: the same inputs leave the same rows.
    """
    summary = EvaluationSummary(scorecard_tag="")
    if collect_facts and plan.required_facts:
        facts_collect(entity_ids=list(entity_ids), required=plan.required_facts, now=now)
    facts = entity_facts_bulk(entity_ids, now=now, required=plan.required_facts)
    outcomes = outcomes_bulk(scorecard_id=plan.scorecard_id, entity_ids=entity_ids)
    exempt = exempt_rules_bulk(scorecard_id=plan.scorecard_id, entity_ids=entity_ids, now=now)

    evaluations: dict[int, EntityEvaluation] = {}
    out_of_scope: list[int] = []
    for entity_id in entity_ids:
        ctx = facts.get(entity_id)
        if ctx is None:  # deleted since the run started
            continue
        evaluation = evaluate_entity(
            plan, ctx, now=now, outcomes=outcomes.get(entity_id), exempt_rule_ids=exempt.get(entity_id, frozenset())
        )
        if evaluation is None:
            out_of_scope.append(entity_id)
        else:
            evaluations[entity_id] = evaluation
            summary.rule_evaluations += len(evaluation.results)
    summary.entities_in_scope = len(evaluations)
    summary.entities_out_of_scope = len(out_of_scope)
    stored = store_evaluations(plan=plan, evaluations=evaluations, out_of_scope=out_of_scope, now=now)
    summary.results_written = stored.results_written
    summary.drops = stored.drops
    return summary


@dataclass
class StoreOutcome:
    results_written: int = 0
    history_points: int = 0
    drops: list[dict] = field(default_factory=list)


def _dropped(old_rank: int | None, new_rank: int | None) -> bool:
    return old_rank is not None and (new_rank is None or new_rank < old_rank)


@transaction.atomic
def store_evaluations(
    *, plan: ScorecardPlan, evaluations: dict[int, EntityEvaluation], out_of_scope: Sequence[int], now: datetime
) -> StoreOutcome:
    """Upsert scores, upsert changed rule results, delete results of rules that no longer apply,
    add history points (on a change of score or level, and once a day), and report drops.

    Idempotent for the same inputs and `now`: a second call writes no results and no history.
    """
    outcome = StoreOutcome()
    scorecard_id = plan.scorecard_id
    if out_of_scope:
        EntityScore.objects.filter(scorecard_id=scorecard_id, entity_id__in=out_of_scope).delete()
        RuleResult.objects.filter(scorecard_id=scorecard_id, entity_id__in=out_of_scope).delete()
    if not evaluations:
        return outcome
    entity_ids = list(evaluations)
    existing = {
        (entity_id, rule_id): (pk, state, raw_state, message)
        for pk, entity_id, rule_id, state, raw_state, message in RuleResult.objects.filter(
            scorecard_id=scorecard_id, entity_id__in=entity_ids
        ).values_list("id", "entity_id", "rule_id", "state", "raw_state", "message")
    }
    upserts: list[RuleResult] = []
    keep: set[int] = set()
    for entity_id, evaluation in evaluations.items():
        for result in evaluation.results:
            current = existing.get((entity_id, result.rule_id))
            if current is not None:
                keep.add(current[0])
                if current[1:] == (result.state, result.raw_state, result.message):
                    continue
            upserts.append(
                RuleResult(
                    entity_id=entity_id,
                    scorecard_id=scorecard_id,
                    rule_id=result.rule_id,
                    state=result.state,
                    raw_state=result.raw_state,
                    message=result.message,
                    changed_at=now,
                )
            )
    stale = [pk for pk, *_ in existing.values() if pk not in keep]
    if stale:
        RuleResult.objects.filter(pk__in=stale).delete()
    if upserts:
        RuleResult.objects.bulk_create(
            upserts,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["entity", "rule"],
            update_fields=["state", "raw_state", "message", "changed_at", "scorecard"],
        )
    outcome.results_written = len(upserts) + len(stale)

    previous = {
        row[0]: row[1:]
        for row in EntityScore.objects.filter(scorecard_id=scorecard_id, entity_id__in=entity_ids).values_list(
            "entity_id", "score", "level__rank", "history_at", "total_possible"
        )
    }
    today = now.astimezone(UTC).date()
    scores, history = [], []
    for entity_id, evaluation in evaluations.items():
        summary = evaluation.summary
        old = previous.get(entity_id)
        history_at = old[2] if old else None
        changed = old is None or (old[0], old[1]) != (summary.score, summary.level_rank)
        if changed or history_at is None or history_at.astimezone(UTC).date() < today:
            history_at = now
            history.append(
                ScoreHistory(
                    entity_id=entity_id,
                    scorecard_id=scorecard_id,
                    recorded_at=now,
                    score=summary.score,
                    total_possible=summary.total_possible,
                    level_rank=summary.level_rank,
                    scorecard_version=plan.version,
                )
            )
        # Nothing scored (total possible 0: every rule skipped or not yet effective), before or now, is no drop.
        fell = old is not None and (summary.score < old[0] or _dropped(old[1], summary.level_rank))
        if fell and old is not None and old[3] > 0 and summary.total_possible > 0:
            outcome.drops.append(
                {"entity": entity_id, "score": [old[0], summary.score], "level": [old[1], summary.level_rank]}
            )
        scores.append(
            EntityScore(
                entity_id=entity_id,
                scorecard_id=scorecard_id,
                score=summary.score,
                total_possible=summary.total_possible,
                percentage=summary.percentage,
                level_id=plan.level_ids.get(summary.level_rank) if summary.level_rank is not None else None,
                rules_passing=summary.rules_passing,
                rules_total=summary.rules_total,
                scorecard_version=plan.version,
                evaluated_at=now,
                history_at=history_at,
            )
        )
    EntityScore.objects.bulk_create(
        scores,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["entity", "scorecard"],
        update_fields=[
            "score",
            "total_possible",
            "percentage",
            "level",
            "rules_passing",
            "rules_total",
            "scorecard_version",
            "evaluated_at",
            "history_at",
        ],
    )
    if history:
        ScoreHistory.objects.bulk_create(history, batch_size=2000)
    outcome.history_points = len(history)
    return outcome


def scores_drop_archived(*, scorecard_id: int) -> None:
    """Archived entities leave every scorecard: a full run removes what they had."""
    EntityScore.objects.filter(scorecard_id=scorecard_id, entity__archived=True).delete()
    RuleResult.objects.filter(scorecard_id=scorecard_id, entity__archived=True).delete()


def scorecard_evaluate(
    *, scorecard: Scorecard, entity_ids: Sequence[int] | None = None, now: datetime | None = None
) -> EvaluationSummary:
    """Evaluate a scorecard for the given entities (default: every active entity), chunk by chunk."""
    started = time.perf_counter()
    now = now or timezone.now()
    plan = plan_for(scorecard)
    summary = EvaluationSummary(scorecard_tag=scorecard.tag)
    full_run = entity_ids is None
    ids = entities_to_evaluate() if entity_ids is None else list(entity_ids)
    if full_run:
        scores_drop_archived(scorecard_id=scorecard.pk)
    size = settings.EVALUATION_CHUNK_SIZE
    for start in range(0, len(ids), size):
        part = evaluate_chunk(plan=plan, entity_ids=ids[start : start + size], now=now)
        summary.entities_in_scope += part.entities_in_scope
        summary.entities_out_of_scope += part.entities_out_of_scope
        summary.rule_evaluations += part.rule_evaluations
        summary.results_written += part.results_written
        summary.drops.extend(part.drops)
    summary.seconds = time.perf_counter() - started
    return summary


@transaction.atomic
def entity_rescore(*, entity_id: int, scorecard_id: int, now: datetime | None = None) -> EntityScore | None:
    """Re-apply exemptions to stored results and recompute the score, without running any expression.

    Called after every exemption transition. Returns None when the entity has no score on the scorecard.
    """
    now = now or timezone.now()
    scorecard = Scorecard.objects.get(pk=scorecard_id)
    plan = plan_for(scorecard)
    score = EntityScore.objects.select_for_update().filter(entity_id=entity_id, scorecard_id=scorecard_id).first()
    if score is None:
        return None
    stored = list(
        RuleResult.objects.filter(entity_id=entity_id, scorecard_id=scorecard_id).values_list(
            "rule_id", "raw_state", "message", "state"
        )
    )
    exempt = exempt_rules_bulk(scorecard_id=scorecard_id, entity_ids=[entity_id], now=now).get(entity_id, set())
    evaluation = rescore(plan, [row[:3] for row in stored], exempt)
    current = {row[0]: row[3] for row in stored}
    changed: dict[str, list[int]] = {}
    for result in evaluation.results:
        if current.get(result.rule_id) != result.state:
            changed.setdefault(result.state, []).append(result.rule_id)
    for state, rule_ids in changed.items():
        RuleResult.objects.filter(entity_id=entity_id, rule_id__in=rule_ids).update(state=state, changed_at=now)
    summary = evaluation.summary
    EntityScore.objects.filter(pk=score.pk).update(
        score=summary.score,
        total_possible=summary.total_possible,
        percentage=summary.percentage,
        level_id=plan.level_ids.get(summary.level_rank) if summary.level_rank is not None else None,
        rules_passing=summary.rules_passing,
        rules_total=summary.rules_total,
    )
    score.refresh_from_db()
    return score


def score_history_prune(*, now: datetime | None = None) -> int:
    """Delete history points older than SCORE_HISTORY_RETENTION_DAYS; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SCORE_HISTORY_RETENTION_DAYS)
    deleted, _ = ScoreHistory.objects.filter(recorded_at__lt=cutoff).delete()
    return deleted


# --- Pushed outcomes (Datadog-style, API_CONTRACT §3, §4) ---------------------------------------------


class UnknownRuleError(ApplicationError):
    """An outcome names a rule id that does not exist (the real server answers 409 "Invalid rule_id")."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="conflict")


@dataclass(frozen=True)
class OutcomeInput:
    """One pushed outcome: a rule identifier, the entity by type and tag, and pass / fail / skip."""

    rule_id: str
    entity_type: str
    entity_tag: str
    state: str
    remarks: str = ""


@dataclass
class OutcomesPushResult:
    outcomes: list[RuleOutcome]  # the stored outcomes of every (rule, entity) received, rule and entity joined
    total_received: int
    total_updated: int  # new or changed (state or remarks)
    entities_created: list[str] = field(default_factory=list)


def _entities_for(refs: set[tuple[str, str]]) -> tuple[dict[str, int], list[str]]:
    """Entity id by tag for (type, tag) references, creating minimal entities that do not exist yet.

    Race-safe: creation ignores conflicts on the unique tag and the rows are read back afterwards.
    A tag that exists with another type is refused (tags are unique across types).
    """
    tags = {tag for _, tag in refs}
    found = {tag: (pk, kind) for pk, tag, kind in Entity.objects.filter(tag__in=tags).values_list("id", "tag", "type")}
    missing = sorted({(kind, tag) for kind, tag in refs if tag not in found}, key=lambda r: r[1])
    created: list[str] = []
    if missing:
        Entity.objects.bulk_create(
            [Entity(tag=tag, name=tag, type=kind) for kind, tag in missing], ignore_conflicts=True
        )
        created = [tag for _, tag in missing]
        found = {
            tag: (pk, kind) for pk, tag, kind in Entity.objects.filter(tag__in=tags).values_list("id", "tag", "type")
        }
    for kind, tag in sorted(refs):
        if found[tag][1] != kind:
            raise ApplicationError(
                f"entity_reference {kind}:{tag}: entity {tag!r} exists as a {found[tag][1]}, not a {kind}"
            )
    return {tag: pk for tag, (pk, _) in found.items()}, created


@transaction.atomic
def outcomes_push(*, results: Sequence[OutcomeInput]) -> OutcomesPushResult:
    """Store pushed rule outcomes and re-score the entities whose outcomes changed.

    All or nothing: an unknown rule id raises UnknownRuleError (409), a rule with an expression raises
    a conflict (its state is evaluated, not pushed), an entity tag used by another type is refused.
    Entities that do not exist yet are created (type and tag, name = tag); tags are matched and stored in
    `normalise_tag`'s form, so `Payments-API` reaches `payments-api`. Within one push the last
    outcome for a (rule, entity) wins. Idempotent: pushing the same outcomes again writes nothing and
    enqueues nothing. After commit, each (entity, scorecard) with a new or changed outcome is announced
    for re-scoring, which writes its rule results, score and a score-history point on the workers.
    """
    from apps.scorecards.selectors import rules_by_identifiers

    if not results:
        return OutcomesPushResult(outcomes=[], total_received=0, total_updated=0)
    parsed: dict[str, uuid.UUID | None] = {}
    for item in results:
        try:
            parsed[item.rule_id] = uuid.UUID(str(item.rule_id))
        except ValueError:
            parsed[item.rule_id] = None
    # Outcomes name rules by bare id. Identifiers are unique per scorecard only: an id that several
    # scorecards' rules share is refused (AmbiguousRuleError, 409) rather than pushed to all or one.
    rules = rules_by_identifiers({u for u in parsed.values() if u})
    unknown = [raw for raw, value in parsed.items() if value is None or str(value) not in rules]
    if unknown:
        raise UnknownRuleError(f"rule not found: {', '.join(unknown)}")
    evaluated = [raw for raw, value in parsed.items() if rules[str(value)].expression.strip()]
    if evaluated:
        raise ApplicationError(
            f"rule {', '.join(evaluated)} has an expression: its state is evaluated, outcomes cannot be pushed",
            code="conflict",
        )
    entity_ids, created = _entities_for({(item.entity_type, normalise_tag(item.entity_tag)) for item in results})

    wanted: dict[tuple[int, int], tuple[str, str]] = {}
    for item in results:
        rule_pk = rules[str(parsed[item.rule_id])].pk
        wanted[(rule_pk, entity_ids[normalise_tag(item.entity_tag)])] = (item.state, item.remarks or "")
    rule_pks = {rule_pk for rule_pk, _ in wanted}
    entity_pks = {entity_pk for _, entity_pk in wanted}
    current = {
        (rule_pk, entity_pk): (state, remarks)
        for rule_pk, entity_pk, state, remarks in RuleOutcome.objects.filter(
            rule_id__in=rule_pks, entity_id__in=entity_pks
        ).values_list("rule_id", "entity_id", "state", "remarks")
    }
    changed = [pair for pair, value in wanted.items() if current.get(pair) != value]
    if changed:
        RuleOutcome.objects.bulk_create(
            [
                RuleOutcome(
                    rule_id=rule_pk,
                    entity_id=entity_pk,
                    state=wanted[(rule_pk, entity_pk)][0],
                    remarks=wanted[(rule_pk, entity_pk)][1],
                )
                for rule_pk, entity_pk in changed
            ],
            update_conflicts=True,
            unique_fields=["entity", "rule"],
            update_fields=["state", "remarks", "updated_at"],
        )
    stored = [
        outcome
        for outcome in RuleOutcome.objects.filter(rule_id__in=rule_pks, entity_id__in=entity_pks)
        .select_related("rule__scorecard", "entity")
        .order_by("id")
        if (outcome.rule_id, outcome.entity_id) in wanted
    ]
    scorecard_of_rule = {outcome.rule_id: outcome.rule.scorecard_id for outcome in stored}
    by_scorecard: dict[int, set[int]] = {}
    for rule_pk, entity_pk in changed:
        by_scorecard.setdefault(scorecard_of_rule[rule_pk], set()).add(entity_pk)
    for scorecard_pk, entity_pks_changed in sorted(by_scorecard.items()):
        score_inputs_changed(entity_ids=entity_pks_changed, scorecard_ids=[scorecard_pk], why="rule outcomes pushed")
    return OutcomesPushResult(
        outcomes=stored, total_received=len(results), total_updated=len(changed), entities_created=created
    )


def results_follow_rule(*, rule_id: int, from_scorecard_id: int, to_scorecard_id: int) -> int:
    """Listener of apps.core.rule_moves: a moved rule's stored results name its new scorecard at once (the
    re-score that the move announces then refreshes or removes them). Pushed outcomes name only the rule, so
    they follow by themselves. Runs in the mover's transaction; idempotent. Returns how many moved."""
    return RuleResult.objects.filter(rule_id=rule_id, scorecard_id=from_scorecard_id).update(
        scorecard_id=to_scorecard_id
    )
