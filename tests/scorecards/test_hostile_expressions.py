"""Hostile rule expressions are refused when compiled, fast, with where and why (issue #13): oversized,
deeply nested, NUL-bearing, 5,000-digit literals. Nothing reaches Python's recursion or integer limits."""

from __future__ import annotations

import pytest

from apps.core.errors import ValidationFailed
from apps.scorecards.language import RuleSyntaxError, compile_expression
from apps.scorecards.language.compiler import MAX_DEPTH
from apps.scorecards.services import scorecard_apply_descriptor


@pytest.mark.parametrize(
    ("source", "line", "column", "message"),
    [
        ("not " * 20_000 + "true", 1, 1, "the expression is 80,004 characters long; at most 10,000 are allowed"),
        ("not " * 1_000 + "true", 1, 801, f"the expression nests more than {MAX_DEPTH} levels deep"),
        (" and ".join(["true"] * 1_000), 1, 1, "the expression is 8,996 characters long"),
        (" and ".join(["true"] * 500), 1, 2701, f"the expression nests more than {MAX_DEPTH} levels deep"),
        ("[1].any(x => " * 300 + "true" + ")" * 300, 1, 867, "nests more than"),
        ("1" * 5_000 + " > 1", 1, 1, "a number may have at most 100 digits"),
        ("1e999 > 1", 1, 1, "the number 1e999 is out of range"),
        ('custom("a\x00b") = 1', 1, 10, "the expression holds a NUL character"),
        ('true and\n  custom("\x00")', 2, 11, "the expression holds a NUL character"),
    ],
    ids=["20000-nots", "1000-nots", "1000-ands", "500-ands", "300-lambdas", "5000-digits", "1e999", "nul", "nul-2"],
)
def test_hostile_expressions_are_refused_with_where_and_why(source, line, column, message):
    with pytest.raises(RuleSyntaxError) as raised:
        compile_expression(source)
    error = raised.value
    if "8,996" in message:  # long, but within the length bound: then it is the depth that refuses it
        assert "at most 10,000" not in error.message
        assert error.message == f"the expression nests more than {MAX_DEPTH} levels deep"
        return
    assert message in error.message
    assert (error.line, error.column) == (line, column)


def test_deep_parentheses_and_long_but_flat_rules_still_compile():
    from apps.scorecards.language import EntityFacts

    ctx = EntityFacts(tag="svc")
    assert compile_expression("(" * 500 + "1" + ")" * 500 + " = 1").evaluate(ctx) is True
    assert compile_expression(" and ".join(["true"] * 150)).evaluate(ctx) is True


@pytest.mark.django_db
def test_a_descriptor_with_a_hostile_rule_is_refused_naming_the_rule_and_writes_nothing():
    from apps.scorecards.models import Scorecard

    text = "tag: hostile\nname: Hostile\nrules:\n  - title: Deep\n    expression: " + "not " * 1_000 + "true\n"
    with pytest.raises(ValidationFailed) as raised:
        scorecard_apply_descriptor(text=text, source="hostile.yaml")
    (problem,) = raised.value.problems
    assert problem.path == "rules[0].expression"
    assert "nests more than 200 levels deep" in problem.message
    assert not Scorecard.objects.filter(tag="hostile").exists()


def test_a_quadratic_rule_is_stopped_after_a_million_calls_and_the_next_evaluation_starts_afresh():
    from apps.scorecards.language import EntityFacts, RuleRuntimeError
    from apps.scorecards.language.compiler import MAX_STEPS

    ctx = EntityFacts(tag="svc", custom={"big": list(range(2_000)), "small": list(range(900))})
    quadratic = compile_expression('custom("big").map(x => custom("big").map(y => x + y)).flatten().length > 0')
    with pytest.raises(RuleRuntimeError, match=f"more than {MAX_STEPS:,} function calls over lists"):
        quadratic.check(ctx)
    # 900 x 900 = 810,000 calls: under the bound, and the count starts again for every evaluation.
    fits = compile_expression('custom("small").map(x => custom("small").map(y => x + y)).flatten().length > 0')
    assert fits.check(ctx) is True
    assert fits.check(ctx) is True
