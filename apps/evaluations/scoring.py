"""Scoring (DESIGN §6) as pure functions over rule states: score, percentage, level, next steps."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PASS, FAIL, ERROR, NO_DATA, SKIP, EXEMPT = "pass", "fail", "error", "no_data", "skip", "exempt"
NOT_CONFIGURED = "not_configured"
# States that count toward totalPossibleScore; exempt and skip leave both sides. A rule whose integration is
# not configured counts as not passing: the entity has not shown it meets the rule, as with no data.
COUNTED = frozenset({PASS, FAIL, ERROR, NO_DATA, NOT_CONFIGURED})
# States that let a level be reached.
SATISFIED = frozenset({PASS, EXEMPT, SKIP})


@dataclass(frozen=True, slots=True)
class StateOfRule:
    """One applicable rule's outcome, as scoring sees it."""

    rule_id: int
    weight: float
    level_rank: int | None
    state: str


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    score: float
    total_possible: float
    percentage: float
    level_rank: int | None
    rules_passing: int
    rules_total: int


def score_of(states: Iterable[StateOfRule]) -> tuple[float, float, float]:
    """(score, totalPossibleScore, percentage as a fraction 0..1; 0 when nothing is possible)."""
    score = total = 0.0
    for item in states:
        if item.state in COUNTED:
            total += item.weight
            if item.state == PASS:
                score += item.weight
    return score, total, (score / total if total else 0.0)


def level_reached(states: Iterable[StateOfRule], level_ranks: Sequence[int]) -> int | None:
    """Highest rank L such that every rule of rank <= L is satisfied; None if the lowest is not reached.

    A level with no applicable rules is reached trivially, but never past a lower level that fails:
    levels are climbed in order.
    """
    if not level_ranks:
        return None
    lowest_blocked = min(
        (s.level_rank for s in states if s.level_rank is not None and s.state not in SATISFIED),
        default=None,
    )
    reachable = [rank for rank in level_ranks if lowest_blocked is None or rank < lowest_blocked]
    return max(reachable) if reachable else None


def summarize(states: Sequence[StateOfRule], level_ranks: Sequence[int]) -> ScoreSummary:
    score, total, percentage = score_of(states)
    return ScoreSummary(
        score=score,
        total_possible=total,
        percentage=percentage,
        level_rank=level_reached(states, level_ranks),
        rules_passing=sum(1 for s in states if s.state == PASS),
        rules_total=sum(1 for s in states if s.state in COUNTED),
    )


def next_rank(current: int | None, level_ranks: Sequence[int]) -> int | None:
    above = [rank for rank in sorted(level_ranks) if current is None or rank > current]
    return above[0] if above else None


def next_steps(states: Iterable[StateOfRule], current: int | None, level_ranks: Sequence[int]) -> list[StateOfRule]:
    """Rules still to fix to reach the next level: unsatisfied rules of levels up to the next rank."""
    target = next_rank(current, level_ranks)
    if target is None:
        return []
    return [s for s in states if s.level_rank is not None and s.level_rank <= target and s.state not in SATISFIED]
