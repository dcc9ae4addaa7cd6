"""The pieces the compiler and the built-in functions share.

`RuleSyntaxError` (a rule rejected at compile time, with its position), `_Node` (a compiled
sub-expression), and the closure helpers `_constant` and `_guard`, which gives a runtime error the
column of the operator or function that raised it.
"""

from __future__ import annotations

from .values import IntegrationNotConfigured, RuleRuntimeError

_NOT_LITERAL = object()


class RuleSyntaxError(Exception):
    """The source is not a valid rule: `line` and `column` (1-based) say where."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}")


class _Node:
    """A compiled sub-expression: a closure, or a literal value, or a namespace such as `entity`."""

    __slots__ = ("fn", "literal", "namespace", "line", "column", "opaque")

    def __init__(self, fn=None, *, literal=_NOT_LITERAL, namespace=None, line=None, column=None, opaque=False):
        if fn is None and literal is not _NOT_LITERAL:
            fn = _constant(literal)
        self.fn = fn
        self.literal = literal
        self.namespace = namespace
        self.line = line
        self.column = column
        # The result of a function this product cannot answer: methods on it compile to the same outcome.
        self.opaque = opaque

    @property
    def is_literal(self) -> bool:
        return self.literal is not _NOT_LITERAL


class _Lambda:
    """A compiled `(x) => body`: `call(ctx, element)` binds the parameter(s) and evaluates the body."""

    __slots__ = ("call", "arity", "line", "column")

    def __init__(self, call, arity: int, line=None, column=None):
        self.call = call
        self.arity = arity
        self.line = line
        self.column = column


class _Named:
    """A named argument, `lookback = duration("P7D")`."""

    __slots__ = ("name", "value", "line", "column")

    def __init__(self, name: str, value, line=None, column=None):
        self.name = name
        self.value = value
        self.line = line
        self.column = column


def _constant(value):
    return lambda ctx: value


def _positioned(exc: RuleRuntimeError, column: int | None) -> RuleRuntimeError:
    if column is None or getattr(exc, "positioned", False):
        return exc
    new = RuleRuntimeError(f"{exc} (at column {column})")
    new.positioned = True  # type: ignore[attr-defined]
    return new


def _guard(fn, column):
    """Name the column of the operator whose operands were of the wrong type."""

    def guarded(ctx):
        try:
            return fn(ctx)
        except IntegrationNotConfigured:
            raise  # one outcome whatever the operator: "integration not configured: jira"
        except RuleRuntimeError as exc:
            raise _positioned(exc, column) from None
        except OverflowError as exc:  # e.g. now() + duration("P9000Y"): past year 9999
            raise _positioned(RuleRuntimeError(f"value out of range: {exc}"), column) from None

    return guarded
