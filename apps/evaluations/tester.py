"""Trying one expression against one entity: its value, the rule's state, and every fact it read.

`manage.py test_rule` prints this; the browser editor's rule tester shows it. Nothing is written but
the integration facts the expression needs, which are collected fresh (as a run would) unless told
not to, so the answer is what the next evaluation will see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from apps.catalog.models import Entity
from apps.evaluations.selectors import entity_facts_bulk
from apps.integrations.services import facts_collect
from apps.scorecards.language import (
    CompiledExpression,
    IntegrationNotConfigured,
    RuleRuntimeError,
    RuleSyntaxError,
    compile_expression,
)
from apps.scorecards.language.values import type_name


@dataclass
class FactRead:
    """One thing the expression read: `label` such as `custom("tier")` or `git fileExists:README.md`."""

    label: str
    value: Any
    error: str = ""


@dataclass
class RuleTest:
    expression: str
    entity_tag: str
    value: Any = None
    value_type: str = ""
    state: str = ""  # pass | fail | error | not_configured; "" when it does not compile
    message: str = ""
    syntax_error: RuleSyntaxError | None = None
    reads: list[FactRead] = field(default_factory=list)


class _Recording(dict):
    """A dict that notes every key the expression asks for with `.get`, found or not."""

    def __init__(self, data: dict, note) -> None:
        super().__init__(data)
        self._note = note

    def get(self, key, default=None):
        found = super().get(key, default)
        self._note(key, found)
        return found


def rule_test(*, entity: Entity, expression: str, collect: bool = True, now: datetime | None = None) -> RuleTest:
    result = RuleTest(expression=expression, entity_tag=entity.tag)
    try:
        compiled = compile_expression(expression.strip())
    except RuleSyntaxError as exc:
        result.syntax_error = exc
        result.message = str(exc)
        return result
    now = now or timezone.now()
    if collect and compiled.required_facts:
        facts_collect(entity_ids=[entity.id], required=compiled.required_facts, now=now)
    ctx = entity_facts_bulk([entity.id], now=now, required=compiled.required_facts)[entity.id]
    seen: dict[str, FactRead] = {}

    def note(label: str, value: Any, error: str = "") -> None:
        seen.setdefault(label, FactRead(label, value, error))

    ctx.custom = _Recording(ctx.custom, lambda key, value: note(f'custom("{key}")', value))
    ctx.facts = _Recording(
        ctx.facts,
        lambda key, found: note(f"{key[0]} {key[1]}", *(found if found else (None, "not collected"))),
    )
    ctx.data = _Recording(ctx.data, lambda kind, rows: note(kind, rows))
    _evaluate(compiled, ctx, result)
    result.reads = list(seen.values())
    return result


def _evaluate(compiled: CompiledExpression, ctx, result: RuleTest) -> None:
    try:
        result.value = compiled.evaluate(ctx)
    except IntegrationNotConfigured as exc:
        result.state, result.message = "not_configured", str(exc)
        return
    except RuleRuntimeError as exc:
        result.state, result.message = "error", str(exc)
        return
    except RecursionError:
        result.state, result.message = "error", "the expression nests too deeply"
        return
    result.value_type = type_name(result.value)
    if result.value is True:
        result.state = "pass"
    elif result.value is False or result.value is None:
        result.state = "fail"
    else:
        result.state = "error"
        result.message = f"a rule must give true or false, but this one gave {result.value_type}"
