"""The evaluator: a pure function of (scorecard plan, entity facts, outcomes, exemptions, now).

A ScorecardPlan compiles a scorecard's rules and filters once; `evaluate_entity` then runs them
for one entity without touching the database. Persistence lives in `services.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from apps.evaluations.scoring import (
    ERROR,
    EXEMPT,
    FAIL,
    NO_DATA,
    NOT_CONFIGURED,
    PASS,
    ScoreSummary,
    StateOfRule,
    summarize,
)
from apps.scorecards.filters import EMPTY_FILTER, CompiledFilter, compile_filter
from apps.scorecards.language import (
    CompiledExpression,
    EntityFacts,
    IntegrationNotConfigured,
    RuleRuntimeError,
    RuleSyntaxError,
    compile_expression,
)


@dataclass(frozen=True, slots=True)
class RulePlan:
    rule_id: int
    weight: float
    level_rank: int | None
    enabled: bool
    effective_from: datetime | None
    expression: CompiledExpression | None  # None: outcomes are pushed from outside
    filter: CompiledFilter
    compile_error: str = ""

    def applies_at(self, now: datetime) -> bool:
        return self.enabled and (self.effective_from is None or self.effective_from <= now)


@dataclass(frozen=True, slots=True)
class ScorecardPlan:
    scorecard_id: int
    version: int
    filter: CompiledFilter
    filter_error: str
    rules: tuple[RulePlan, ...]
    level_ranks: tuple[int, ...]
    level_ids: dict[int, int]  # rank -> Level id
    required_facts: frozenset[tuple[str, str]]

    @classmethod
    def build(cls, scorecard, rules: Iterable, levels: Iterable) -> ScorecardPlan:
        """Compile once. A stored rule that no longer compiles becomes an `error` result, not a crash."""
        levels = list(levels)
        rank_of_level = {level.id: level.rank for level in levels}
        plans: list[RulePlan] = []
        required: set[tuple[str, str]] = set()
        for rule in rules:
            expression, error = None, ""
            rule_filter = EMPTY_FILTER
            try:
                rule_filter = compile_filter(rule.filter)
                if rule.expression.strip():
                    expression = compile_expression(rule.expression.strip())
                    required |= expression.required_facts
                if rule_filter.query is not None:
                    required |= rule_filter.query.required_facts
            except RuleSyntaxError as exc:
                error = f"the rule does not compile: {exc}"
            plans.append(
                RulePlan(
                    rule_id=rule.id,
                    weight=rule.weight,
                    level_rank=rank_of_level.get(rule.level_id),
                    enabled=rule.enabled,
                    effective_from=rule.effective_from,
                    expression=expression,
                    filter=rule_filter,
                    compile_error=error,
                )
            )
        scorecard_filter, filter_error = EMPTY_FILTER, ""
        try:
            scorecard_filter = compile_filter(scorecard.filter)
            if scorecard_filter.query is not None:
                required |= scorecard_filter.query.required_facts
        except RuleSyntaxError as exc:
            filter_error = f"the scorecard filter does not compile: {exc}"
        return cls(
            scorecard_id=scorecard.id,
            version=scorecard.version,
            filter=scorecard_filter,
            filter_error=filter_error,
            rules=tuple(plans),
            level_ranks=tuple(sorted(rank_of_level.values())),
            level_ids={level.rank: level.id for level in levels},
            required_facts=frozenset(required),
        )


@dataclass(frozen=True, slots=True)
class RuleEvaluation:
    rule_id: int
    state: str  # after exemptions
    raw_state: str  # as evaluated
    message: str


@dataclass(frozen=True, slots=True)
class EntityEvaluation:
    results: tuple[RuleEvaluation, ...]
    summary: ScoreSummary


def in_scope(plan: ScorecardPlan, ctx: EntityFacts) -> tuple[bool, str]:
    """Whether the scorecard applies to the entity; a failing filter query keeps it in scope with an error."""
    if plan.filter_error:
        return True, plan.filter_error
    try:
        return plan.filter.matches(ctx), ""
    except RuleRuntimeError as exc:
        return True, f"the scorecard filter failed: {exc}"


def evaluate_entity(
    plan: ScorecardPlan,
    ctx: EntityFacts,
    *,
    now: datetime,
    outcomes: dict[int, str] | None = None,
    exempt_rule_ids: frozenset[int] | set[int] = frozenset(),
) -> EntityEvaluation | None:
    """Evaluate every applicable rule for one entity; None when the scorecard does not apply to it.

    `outcomes` maps rule id -> pushed state (pass / fail / skip) for rules without an expression.
    """
    applies, scope_error = in_scope(plan, ctx)
    if not applies:
        return None
    outcomes = outcomes or {}
    results: list[RuleEvaluation] = []
    states: list[StateOfRule] = []
    for rule in plan.rules:
        if not rule.applies_at(now):
            continue
        state, message = _run_rule(rule, ctx, outcomes, scope_error)
        if state is None:
            continue
        final = EXEMPT if rule.rule_id in exempt_rule_ids else state
        results.append(RuleEvaluation(rule.rule_id, final, state, message))
        states.append(StateOfRule(rule.rule_id, rule.weight, rule.level_rank, final))
    return EntityEvaluation(tuple(results), summarize(states, plan.level_ranks))


def _run_rule(rule: RulePlan, ctx: EntityFacts, outcomes: dict[int, str], scope_error: str) -> tuple[str | None, str]:
    """(state, message); state None means the rule's filter excludes this entity."""
    if scope_error:
        return ERROR, scope_error
    if rule.compile_error:
        return ERROR, rule.compile_error
    if not rule.filter.is_empty:
        try:
            if not rule.filter.matches(ctx):
                return None, ""
        except RuleRuntimeError as exc:
            return ERROR, f"the rule's filter failed: {exc}"
    if rule.expression is None:
        pushed = outcomes.get(rule.rule_id)
        return (pushed, "") if pushed else (NO_DATA, "no outcome has been reported yet")
    try:
        return (PASS, "") if rule.expression.check(ctx) else (FAIL, "")
    except IntegrationNotConfigured as exc:
        return NOT_CONFIGURED, str(exc)
    except RuleRuntimeError as exc:
        return ERROR, str(exc)
    except RecursionError:
        return ERROR, "the expression nests too deeply"


def rescore(
    plan: ScorecardPlan, raw: Iterable[tuple[int, str, str]], exempt_rule_ids: frozenset[int] | set[int]
) -> EntityEvaluation:
    """Re-apply exemptions to stored raw states (rule_id, raw_state, message) without running expressions."""
    by_id = {rule.rule_id: rule for rule in plan.rules}
    results, states = [], []
    for rule_id, raw_state, message in raw:
        rule = by_id.get(rule_id)
        if rule is None:
            continue
        final = EXEMPT if rule_id in exempt_rule_ids else raw_state
        results.append(RuleEvaluation(rule_id, final, raw_state, message))
        states.append(StateOfRule(rule_id, rule.weight, rule.level_rank, final))
    return EntityEvaluation(tuple(results), summarize(states, plan.level_ranks))
