import pytest

from apps.evaluations.scoring import (
    ERROR,
    EXEMPT,
    FAIL,
    NO_DATA,
    PASS,
    SKIP,
    StateOfRule,
    level_reached,
    next_rank,
    next_steps,
    score_of,
    summarize,
)

BRONZE, SILVER, GOLD = 1, 2, 3
LADDER = (BRONZE, SILVER, GOLD)


def s(rule_id, state, weight=1, level=None):
    return StateOfRule(rule_id=rule_id, weight=weight, level_rank=level, state=state)


def test_no_rules_scores_zero_and_reaches_the_top_level():
    summary = summarize([], LADDER)
    assert (summary.score, summary.total_possible, summary.percentage) == (0, 0, 0)
    assert summary.level_rank == GOLD
    assert (summary.rules_passing, summary.rules_total) == (0, 0)


def test_no_ladder_means_no_level():
    assert summarize([s(1, PASS)], ()).level_rank is None


def test_score_counts_pass_weights_over_pass_fail_error_no_data():
    states = [s(1, PASS, 3), s(2, FAIL, 2), s(3, ERROR, 1), s(4, NO_DATA, 4), s(5, PASS, 2)]
    assert score_of(states) == (5, 12, pytest.approx(5 / 12))


def test_exempt_and_skip_leave_both_sides():
    states = [s(1, PASS, 2), s(2, EXEMPT, 5), s(3, SKIP, 7), s(4, FAIL, 2)]
    assert score_of(states) == (2, 4, 0.5)


def test_zero_weights_give_zero_percentage_not_a_division_error():
    assert score_of([s(1, PASS, 0), s(2, FAIL, 0)]) == (0, 0, 0.0)


def test_rules_passing_and_total_ignore_exempt_and_skip():
    summary = summarize([s(1, PASS), s(2, FAIL), s(3, EXEMPT), s(4, SKIP), s(5, ERROR)], LADDER)
    assert (summary.rules_passing, summary.rules_total) == (1, 3)


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([s(1, PASS, level=BRONZE), s(2, PASS, level=SILVER), s(3, FAIL, level=GOLD)], SILVER),
        ([s(1, PASS, level=BRONZE), s(2, FAIL, level=SILVER), s(3, PASS, level=GOLD)], BRONZE),
        ([s(1, FAIL, level=BRONZE), s(2, PASS, level=SILVER), s(3, PASS, level=GOLD)], None),
        ([s(1, PASS, level=BRONZE), s(2, PASS, level=SILVER), s(3, PASS, level=GOLD)], GOLD),
        # exempt and skip satisfy a level; error and no_data block it
        ([s(1, EXEMPT, level=BRONZE), s(2, SKIP, level=SILVER), s(3, PASS, level=GOLD)], GOLD),
        ([s(1, PASS, level=BRONZE), s(2, ERROR, level=SILVER)], BRONZE),
        ([s(1, NO_DATA, level=BRONZE)], None),
        # rules without a level only give points
        ([s(1, FAIL), s(2, PASS, level=BRONZE)], GOLD),
    ],
)
def test_level_reached(states, expected):
    assert level_reached(states, LADDER) == expected


def test_a_level_with_no_rules_is_reached_trivially():
    # Bronze has no rules, Silver fails: Bronze is still reached.
    assert level_reached([s(1, FAIL, level=SILVER), s(2, PASS, level=GOLD)], LADDER) == BRONZE


def test_levels_are_climbed_in_order_even_when_higher_ones_pass():
    # Gold's own rules pass, but Silver's fail: the entity stays at Bronze.
    states = [s(1, PASS, level=BRONZE), s(2, FAIL, level=SILVER), s(3, PASS, level=GOLD), s(4, PASS, level=GOLD)]
    assert level_reached(states, LADDER) == BRONZE


def test_ladders_with_gaps_in_ranks():
    assert level_reached([s(1, PASS, level=1), s(2, FAIL, level=5)], (1, 5, 9)) == 1
    assert level_reached([s(1, PASS, level=1), s(2, PASS, level=5)], (1, 5, 9)) == 9


def test_next_steps_lists_unsatisfied_rules_up_to_the_next_level():
    states = [
        s(1, PASS, level=BRONZE),
        s(2, FAIL, level=SILVER),
        s(3, ERROR, level=SILVER),
        s(4, EXEMPT, level=SILVER),
        s(5, FAIL, level=GOLD),
        s(6, FAIL),
    ]
    current = level_reached(states, LADDER)
    assert current == BRONZE
    assert [x.rule_id for x in next_steps(states, current, LADDER)] == [2, 3]


def test_next_steps_with_no_level_yet_targets_the_lowest():
    states = [s(1, FAIL, level=BRONZE), s(2, FAIL, level=SILVER)]
    assert [x.rule_id for x in next_steps(states, None, LADDER)] == [1]


def test_next_steps_at_the_top_is_empty():
    assert next_steps([s(1, PASS, level=GOLD)], GOLD, LADDER) == []
    assert next_rank(GOLD, LADDER) is None
    assert next_rank(None, LADDER) == BRONZE
