"""Compile rule-language source into a tree of Python closures, once per rule.

Lark parses the source (LALR, positions kept); a Transformer turns each node into a closure
`fn(ctx) -> value`, checking at compile time everything that can be checked then: names,
function arity, literal arguments of integration functions, regexes, jq programs, durations and
versions given as literals. Evaluating a rule is then just calling its closure with an
`EntityFacts`, with no parsing and no Python `eval`.

This module holds `compile_expression`, `CompiledExpression` and the Transformer's syntax:
literals, operators, member access and methods. The built-in functions and namespaces are in
`functions.py`, the parser and its error messages in `syntax.py`, shared node helpers in `nodes.py`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedInput, VisitError

from . import values as V
from .functions import _EXAMPLES, _FUNCTIONS, _NAMESPACE_FUNCTIONS, NAMESPACES, _Functions
from .nodes import _NOT_LITERAL, RuleSyntaxError, _guard, _Node
from .syntax import _parser, _syntax_error
from .values import EntityFacts, RuleRuntimeError, SemVer, type_name


@dataclass(frozen=True, slots=True)
class CompiledExpression:
    """A compiled rule. `required_facts` lists the (source, key) facts integrations must collect."""

    source: str
    fn: Callable[[EntityFacts], Any]
    required_facts: frozenset[tuple[str, str]]

    def evaluate(self, ctx: EntityFacts) -> Any:
        return self.fn(ctx)

    def check(self, ctx: EntityFacts) -> bool:
        """Evaluate as a rule: true passes, false or null fails, anything else is an error."""
        value = self.fn(ctx)
        if value is True or value is False:
            return value
        if value is None:
            return False
        raise RuleRuntimeError(f"a rule must give true or false, but this one gave {type_name(value)} {value!r}")


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _unescape(raw: str) -> str:
    # Unknown escapes stay as written, so regexes like "\d+" need no doubling.
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)


@v_args(meta=True, inline=True)
class _Compiler(_Functions, Transformer):
    def __init__(self) -> None:
        super().__init__()
        self.required_facts: set[tuple[str, str]] = set()

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _error(message: str, where) -> RuleSyntaxError:
        line = getattr(where, "line", None)
        column = getattr(where, "column", None)
        return RuleSyntaxError(message, line, column)

    def _value(self, node: _Node) -> _Node:
        if node.namespace:
            raise RuleSyntaxError(
                f"{node.namespace!r} is not a value; call one of its functions, e.g. {_EXAMPLES[node.namespace]}",
                node.line,
                node.column,
            )
        return node

    def _node(self, fn, meta, literal=_NOT_LITERAL) -> _Node:
        return _Node(fn, literal=literal, line=meta.line, column=meta.column)

    @staticmethod
    def _arity(name: str, args: list[_Node], allowed: tuple[int, ...], where) -> None:
        if len(args) not in allowed:
            wanted = " or ".join(str(n) for n in allowed)
            plural = "" if allowed == (1,) else "s"
            raise _Compiler._error(f"{name}() takes {wanted} argument{plural}, got {len(args)}", where)

    def _literal_string(self, fname: str, node: _Node) -> str:
        if not node.is_literal or not isinstance(node.literal, str):
            raise RuleSyntaxError(
                f"{fname}() needs a string literal here, so the data can be collected before evaluation",
                node.line,
                node.column,
            )
        return node.literal

    # -- literals -------------------------------------------------------------------------
    def number(self, meta, token: Token) -> _Node:
        text = str(token)
        value = float(text) if any(c in text for c in ".eE") else int(text)
        return self._node(None, meta, literal=value)

    def string(self, meta, token: Token) -> _Node:
        return self._node(None, meta, literal=_unescape(str(token)))

    def true(self, meta) -> _Node:
        return self._node(None, meta, literal=True)

    def false(self, meta) -> _Node:
        return self._node(None, meta, literal=False)

    def null(self, meta) -> _Node:
        return self._node(None, meta, literal=None)

    def arglist(self, meta, *items: _Node) -> list[_Node]:
        return [self._value(item) for item in items]

    def list_(self, meta, items: list[_Node] | None) -> _Node:
        items = items or []
        if all(item.is_literal for item in items):
            return self._node(None, meta, literal=[item.literal for item in items])
        fns = [item.fn for item in items]
        return self._node(lambda ctx: [f(ctx) for f in fns], meta)

    def name(self, meta, token: Token) -> _Node:
        name = str(token)
        if name in NAMESPACES:
            return _Node(namespace=name, line=meta.line, column=meta.column)
        if name == "oncall":
            return self._node(operator.attrgetter("oncall"), meta)
        if name in _FUNCTIONS:
            raise self._error(f"{name} is a function; write {name}(...)", meta)
        raise self._error(f"unknown name {name!r}; known names: {', '.join((*NAMESPACES, 'oncall'))}", meta)

    # -- operators ------------------------------------------------------------------------
    def or_(self, meta, left: _Node, right: _Node) -> _Node:
        lf, rf = self._value(left).fn, self._value(right).fn
        truth = V.truth

        def fn(ctx):
            return truth(lf(ctx), "or") or truth(rf(ctx), "or")

        return self._node(_guard(fn, meta.column), meta)

    def and_(self, meta, left: _Node, right: _Node) -> _Node:
        lf, rf = self._value(left).fn, self._value(right).fn
        truth = V.truth

        def fn(ctx):
            return truth(lf(ctx), "and") and truth(rf(ctx), "and")

        return self._node(_guard(fn, meta.column), meta)

    def not_(self, meta, operand: _Node) -> _Node:
        of = self._value(operand).fn
        truth = V.truth
        return self._node(_guard(lambda ctx: not truth(of(ctx), "not"), meta.column), meta)

    def coalesce(self, meta, left: _Node, right: _Node) -> _Node:
        """`a ?? b`: a, or b when a is null; b is evaluated only then."""
        left, right = self._value(left), self._value(right)
        if left.is_literal:
            return right if left.literal is None else left
        lf, rf = left.fn, right.fn

        def fn(ctx):
            value = lf(ctx)
            return rf(ctx) if value is None else value

        return self._node(fn, meta)

    def in_(self, meta, item: _Node, op: Token, container: _Node) -> _Node:
        """`x in [list]`, `x in "string"` (substring), `x in object` (key): `container.contains(x)`."""
        itf, cf = self._value(item).fn, self._value(container).fn
        member_of = V.member_of
        return self._node(_guard(lambda ctx: member_of(itf(ctx), cf(ctx)), op.column), meta)

    def compare(self, meta, left: _Node, op: Token, right: _Node) -> _Node:
        lf, rf = self._value(left).fn, self._value(right).fn
        symbol = str(op)
        if symbol in ("=", "=="):
            equals = V.equals
            return self._node(_guard(lambda ctx: equals(lf(ctx), rf(ctx)), op.column), meta)
        if symbol == "!=":
            equals = V.equals
            return self._node(_guard(lambda ctx: not equals(lf(ctx), rf(ctx)), op.column), meta)
        if right.is_literal and V.is_number(right.literal):
            # The common case (`custom("x") >= 80`) gets a fast path with no type dispatch.
            const = right.literal
            python_op = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[symbol]
            order = V.order

            def fast(ctx):
                value = lf(ctx)
                if value.__class__ is int or value.__class__ is float:
                    return python_op(value, const)
                return order(symbol, value, const)

            return self._node(_guard(fast, op.column), meta)
        order = V.order
        return self._node(_guard(lambda ctx: order(symbol, lf(ctx), rf(ctx)), op.column), meta)

    def _binary(self, meta, left: _Node, right: _Node, impl) -> _Node:
        left, right = self._value(left), self._value(right)
        if left.is_literal and right.is_literal:
            try:
                return self._node(None, meta, literal=impl(left.literal, right.literal))
            except (RuleRuntimeError, OverflowError):
                pass  # a type error is the rule's runtime error (DESIGN §5), not a compile error
        lf, rf = left.fn, right.fn
        return self._node(_guard(lambda ctx: impl(lf(ctx), rf(ctx)), meta.column), meta)

    def add(self, meta, left, right):
        return self._binary(meta, left, right, V.add)

    def sub(self, meta, left, right):
        return self._binary(meta, left, right, V.sub)

    def mul(self, meta, left, right):
        return self._binary(meta, left, right, V.mul)

    def div(self, meta, left, right):
        return self._binary(meta, left, right, V.div)

    def neg(self, meta, operand: _Node) -> _Node:
        operand = self._value(operand)
        if operand.is_literal:
            try:
                return self._node(None, meta, literal=V.neg(operand.literal))
            except RuleRuntimeError:
                pass  # a type error is the rule's runtime error (DESIGN §5), not a compile error
        of = operand.fn
        return self._node(_guard(lambda ctx: V.neg(of(ctx)), meta.column), meta)

    # -- member access and calls -------------------------------------------------------
    # Each builds `impl(ctx, value)` for the evaluated target `value`. `.` already gives null on a
    # null target; `?.` (`safe_member`, `safe_method`) gives null without evaluating anything else,
    # so the arguments of a method after `?.` are skipped too. Namespaces are never null: `git?.x()`
    # is `git.x()`.
    def _access(self, meta, target: _Node, impl, column, safe: bool) -> _Node:
        tf = target.fn
        if safe:

            def fn(ctx):
                value = tf(ctx)
                return None if value is None else impl(ctx, value)

        else:

            def fn(ctx):
                return impl(ctx, tf(ctx))

        return self._node(_guard(fn, column), meta)

    def member(self, meta, target: _Node, name_token: Token, safe: bool = False) -> _Node:
        name = str(name_token)
        if target.namespace:
            raise self._error(f"{target.namespace}.{name} is a function; write {target.namespace}.{name}()", name_token)
        if name == "length":
            length = V.length
            return self._access(meta, target, lambda ctx, value: length(value), name_token.column, safe)
        member = V.member
        return self._access(meta, target, lambda ctx, value: member(value, name), name_token.column, safe)

    def safe_member(self, meta, target: _Node, name_token: Token) -> _Node:
        return self.member(meta, target, name_token, safe=True)

    def method(self, meta, target: _Node, name_token: Token, args: list[_Node] | None, safe: bool = False) -> _Node:
        name = str(name_token)
        args = args or []
        if target.namespace:
            return self._namespace_call(meta, target.namespace, name, args, name_token)
        column = name_token.column
        if name == "matches":
            self._arity(name, args, (1,), name_token)
            pattern = self._literal_string(name, args[0])
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise RuleSyntaxError(f"invalid regular expression: {exc}", args[0].line, args[0].column) from None
            matches = V.regex_matches
            return self._access(meta, target, lambda ctx, value: matches(value, compiled), column, safe)
        if name == "contains":
            self._arity(name, args, (1,), name_token)
            af = args[0].fn
            contains = V.contains
            return self._access(meta, target, lambda ctx, value: contains(value, af(ctx)), column, safe)
        if name in ("startsWith", "endsWith"):
            self._arity(name, args, (1,), name_token)
            af = args[0].fn
            affix = V.string_affix
            return self._access(meta, target, lambda ctx, value: affix(value, af(ctx), name), column, safe)
        if name == "isStable":
            self._arity(name, args, (0,), name_token)

            def is_stable(ctx, value):
                if value is None:
                    return None
                if isinstance(value, str):
                    value = SemVer(value)
                if not isinstance(value, SemVer):
                    raise RuleRuntimeError(f"isStable() works on semver values, got {type_name(value)}")
                return value.version.major >= 1 and not value.version.prerelease

            return self._access(meta, target, is_stable, column, safe)
        if name == "length":
            raise self._error("length is a property; write .length without parentheses", name_token)
        raise self._error(
            f"unknown method {name!r}; methods: matches, contains, startsWith, endsWith, isStable, and .length",
            name_token,
        )

    def safe_method(self, meta, target: _Node, name_token: Token, args: list[_Node] | None) -> _Node:
        return self.method(meta, target, name_token, args, safe=True)

    def _namespace_call(self, meta, namespace: str, name: str, args: list[_Node], where) -> _Node:
        table = _NAMESPACE_FUNCTIONS[namespace]
        if name not in table:
            known = ", ".join(f"{namespace}.{n}()" for n in table)
            raise self._error(f"unknown function {namespace}.{name}(); known: {known}", where)
        return table[name](self, meta, args, where)

    def call(self, meta, name_token: Token, args: list[_Node] | None) -> _Node:
        name = str(name_token)
        args = args or []
        if name in NAMESPACES or name == "oncall":
            raise self._error(f"{name} is not a function", name_token)
        if name not in _FUNCTIONS:
            raise self._error(
                f"unknown function {name}(); known: {', '.join(n + '()' for n in _FUNCTIONS)}", name_token
            )
        return _FUNCTIONS[name](self, meta, args, name_token)


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CompiledExpression:
    """Parse and compile `source`; raises RuleSyntaxError with line and column. Cached by source."""
    if not isinstance(source, str) or not source.strip():
        raise RuleSyntaxError("the expression is empty", 1, 1)
    try:
        tree = _parser().parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    compiler = _Compiler()
    try:
        node = compiler.transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, RuleSyntaxError):
            raise exc.orig_exc from None
        raise
    if node.namespace:
        raise RuleSyntaxError(
            f"{node.namespace!r} is not a value; call one of its functions, e.g. {_EXAMPLES[node.namespace]}",
            node.line,
            node.column,
        )
    return CompiledExpression(source=source, fn=node.fn, required_facts=frozenset(compiler.required_facts))
