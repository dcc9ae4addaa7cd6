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

import itertools
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedInput, VisitError

from . import integrations
from . import values as V
from .functions import (
    _FUNCTIONS,
    _NAMED_FUNCTIONS,
    _NAMESPACE_FUNCTIONS,
    NAMESPACES,
    V1_NAMES,
    _Functions,
    namespace_member,
    namespace_value,
)
from .methods import METHODS, REGEX_METHODS, _compile_regex, describe_shapes, regex_method, shape_of
from .nodes import _NOT_LITERAL, RuleSyntaxError, _guard, _Lambda, _Named, _Node
from .syntax import _comment_error, _parser, _syntax_error
from .values import EntityFacts, IntegrationNotConfigured, RuleRuntimeError, type_name


@dataclass(frozen=True, slots=True)
class CompiledExpression:
    """A compiled rule. `required_facts` lists the (source, key) facts integrations must collect."""

    source: str
    fn: Callable[[EntityFacts], Any]
    required_facts: frozenset[tuple[str, str]]
    placeholder: bool = False

    def evaluate(self, ctx: EntityFacts) -> Any:
        ctx.steps = 0
        return self.fn(ctx)

    def check(self, ctx: EntityFacts) -> bool:
        """Evaluate as a rule: true passes, false or null fails, anything else is an error."""
        ctx.steps = 0
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

    def _value(self, node) -> _Node:
        """The node as a value: a namespace used as one (`git != null`) says whether the entity has it."""
        if isinstance(node, _Lambda | _Named):
            what = "a function (x => ...)" if isinstance(node, _Lambda) else f"the named argument {node.name}="
            raise RuleSyntaxError(f"{what} can only be given to a function or method", node.line, node.column)
        if node.namespace:
            return namespace_value(self, node)
        return node

    def _plain(self, name: str, args: list, where) -> list[_Node]:
        """Arguments of a function that takes neither named arguments nor functions."""
        for arg in args:
            if isinstance(arg, _Named):
                raise RuleSyntaxError(f"{name}() takes no named argument {arg.name!r}", arg.line, arg.column)
            if isinstance(arg, _Lambda):
                raise RuleSyntaxError(f"{name}() takes no function argument", arg.line, arg.column)
        return args

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
        if len(text) > MAX_NUMBER_DIGITS:
            raise self._error(f"a number may have at most {MAX_NUMBER_DIGITS} digits", token)
        value = float(text) if any(c in text for c in ".eE") else int(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise self._error(f"the number {text} is out of range", token)
        return self._node(None, meta, literal=value)

    def string(self, meta, token: Token) -> _Node:
        return self._node(None, meta, literal=_unescape(str(token)))

    def true(self, meta) -> _Node:
        return self._node(None, meta, literal=True)

    def false(self, meta) -> _Node:
        return self._node(None, meta, literal=False)

    def null(self, meta) -> _Node:
        return self._node(None, meta, literal=None)

    def arglist(self, meta, *items) -> list:
        return [item if isinstance(item, _Lambda | _Named) else self._value(item) for item in items]

    def named_arg(self, meta, token: Token, value) -> _Named:
        name = str(token).rstrip("= \t\r\n")
        if not isinstance(value, _Lambda):
            value = self._value(value)
        return _Named(name, value, token.line, token.column)

    def lambda_(self, meta, params, body: _Node) -> _Lambda:
        token, slots = params
        bf = self._value(body).fn
        if len(slots) == 1:
            (only,) = slots

            def call_one(ctx, element):
                ctx.steps += 1
                if ctx.steps > MAX_STEPS:
                    raise RuleRuntimeError(_TOO_MANY_STEPS)
                ctx.bindings[only] = element
                return bf(ctx)

            return _Lambda(call_one, 1, token.line, token.column)

        def call(ctx, *elements):
            ctx.steps += 1
            if ctx.steps > MAX_STEPS:
                raise RuleRuntimeError(_TOO_MANY_STEPS)
            if len(elements) != len(slots):
                raise RuleRuntimeError(f"this function takes {len(slots)} arguments, got {len(elements)}")
            for slot, element in zip(slots, elements, strict=True):
                ctx.bindings[slot] = element
            return bf(ctx)

        return _Lambda(call, len(slots), token.line, token.column)

    def param(self, meta, token: Token, slot: int) -> _Node:
        return self._node(lambda ctx: ctx.bindings.get(slot), meta)

    def items(self, meta, *items: _Node) -> list[_Node]:
        return [self._value(item) for item in items]

    def list_(self, meta, items: list[_Node] | None) -> _Node:
        items = items or []
        if all(item.is_literal for item in items):
            return self._node(None, meta, literal=[item.literal for item in items])
        fns = [item.fn for item in items]
        return self._node(lambda ctx: [f(ctx) for f in fns], meta)

    def pair(self, meta, key: Token, value: _Node) -> tuple[str, _Node]:
        text = _unescape(str(key)) if key.type == "STRING" else str(key)
        return text, self._value(value)

    def pairs(self, meta, *pairs) -> list:
        return list(pairs)

    def map_(self, meta, pairs: list | None) -> _Node:
        pairs = pairs or []
        if all(node.is_literal for _, node in pairs):
            return self._node(None, meta, literal={key: node.literal for key, node in pairs})
        fns = [(key, node.fn) for key, node in pairs]
        return self._node(lambda ctx: {key: f(ctx) for key, f in fns}, meta)

    def index(self, meta, target: _Node, key: _Node) -> _Node:
        """`value[key]`: a field of an object, or an element of a list (null when out of range)."""
        tf, kf = self._value(target).fn, self._value(key).fn
        get = METHODS["get"][0]([kf])

        def fn(ctx):
            value = tf(ctx)
            return None if value is None else get(ctx, value)

        return self._node(_guard(fn, meta.column), meta)

    def name(self, meta, token: Token) -> _Node:
        name = str(token)
        if name in NAMESPACES or name in integrations.UNREACHABLE:
            return _Node(namespace=name, line=meta.line, column=meta.column)
        if name in V1_NAMES:
            return V1_NAMES[name](self, meta)
        if name in _FUNCTIONS or name in _NAMED_FUNCTIONS:
            raise self._error(f"{name} is a function; write {name}(...)", meta)
        known = ", ".join((*NAMESPACES, *V1_NAMES))
        raise self._error(f"unknown name {name!r}; known names: {known}, and integrations such as jira", meta)

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
            return namespace_member(self, meta, target.namespace, name, name_token)
        target = self._value(target)
        if target.opaque:
            return target
        if name == "length":
            length = V.length
            return self._access(meta, target, lambda ctx, value: length(value), name_token.column, safe)
        member = V.member
        return self._access(meta, target, lambda ctx, value: member(value, name), name_token.column, safe)

    def safe_member(self, meta, target: _Node, name_token: Token) -> _Node:
        return self.member(meta, target, name_token, safe=True)

    def method(self, meta, target: _Node, name_token: Token, args: list | None, safe: bool = False) -> _Node:
        name = str(name_token)
        args = args or []
        if target.namespace:
            return self._namespace_call(meta, target.namespace, name, args, name_token)
        target = self._value(target)
        if target.opaque:
            return target
        column = name_token.column
        if name in REGEX_METHODS:
            self._arity(name, self._plain(name, args, name_token), (1,), name_token)
            impl = regex_method(name, _compile_regex(args[0], name))
            return self._access(meta, target, _null_safe(impl), column, safe)
        if name == "length":
            raise self._error("length is a property; write .length without parentheses", name_token)
        if name not in METHODS:
            known = ", ".join(sorted((*METHODS, *REGEX_METHODS)))
            raise self._error(f"unknown method {name!r}; methods: {known}, and .length", name_token)
        builder, shapes = METHODS[name]
        for arg in args:
            if isinstance(arg, _Named):
                raise RuleSyntaxError(f"{name}() takes no named argument {arg.name!r}", arg.line, arg.column)
        shape = shape_of(args)
        if shape not in shapes:
            raise self._error(describe_shapes(name, shapes, shape), name_token)
        compiled = [arg.call if isinstance(arg, _Lambda) else arg.fn for arg in args]
        return self._access(meta, target, _null_safe(builder(compiled)), column, safe)

    def safe_method(self, meta, target: _Node, name_token: Token, args: list[_Node] | None) -> _Node:
        return self.method(meta, target, name_token, args, safe=True)

    def _namespace_call(self, meta, namespace: str, name: str, args: list, where) -> _Node:
        if namespace in integrations.UNREACHABLE:
            return integrations.any_function(self, meta, namespace, name, args, where)
        table = _NAMESPACE_FUNCTIONS[namespace]
        if name not in table:
            if namespace == "git" and name in integrations.GIT_PROVIDER_FUNCTIONS:
                return integrations.any_function(self, meta, "git-provider", name, args, where)
            known = ", ".join(f"{namespace}.{n}()" for n in table)
            raise self._error(f"unknown function {namespace}.{name}(); known: {known}", where)
        builder = table[name]
        if not getattr(builder, "named", False):
            args = self._plain(f"{namespace}.{name}", args, where)
        return builder(self, meta, args, where)

    def call(self, meta, name_token: Token, args: list | None) -> _Node:
        name = str(name_token)
        args = args or []
        if name in NAMESPACES or name in integrations.UNREACHABLE:
            raise self._error(f"{name} is not a function; use one of its functions, e.g. {name}.x()", name_token)
        if name in _NAMED_FUNCTIONS:
            return _NAMED_FUNCTIONS[name](self, meta, args, name_token)
        if name not in _FUNCTIONS:
            known = ", ".join(n + "()" for n in (*_FUNCTIONS, *_NAMED_FUNCTIONS))
            raise self._error(f"unknown function {name}(); known: {known}", name_token)
        return _FUNCTIONS[name](self, meta, self._plain(name, args, name_token), name_token)


def _null_safe(impl):
    """Methods on null give null, as Cortex's do: `custom("x").any(...)` fails the rule, it is no error."""

    def fn(ctx, value):
        return None if value is None else impl(ctx, value)

    return fn


_LAMBDA_NAMES = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_slots = itertools.count()


def _bind_lambda_parameters(tree: Tree) -> None:
    """Turn each name a lambda binds into a `param` node with the lambda's own slot (inner lambdas shadow)."""
    for node in tree.iter_subtrees_topdown():
        if node.data != "lambda_":
            continue
        token = node.children[0]
        names = _LAMBDA_NAMES.findall(str(token).rsplit("=>", 1)[0])
        if len(set(names)) != len(names):
            raise RuleSyntaxError("a function's parameters must have different names", token.line, token.column)
        slots = {name: next(_slots) for name in names}
        node.children[0] = (token, [slots[name] for name in names])
        for sub in node.children[1].iter_subtrees():
            if sub.data in ("name", "param") and str(sub.children[0]) in slots:
                sub.data = "param"
                sub.children = [sub.children[0], slots[str(sub.children[0])]]


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CompiledExpression:
    """Parse and compile `source`; raises RuleSyntaxError with line and column. Cached by source."""
    if not isinstance(source, str) or not source.strip():
        raise RuleSyntaxError("the expression is empty", 1, 1)
    _check_size(source)
    try:
        tree = _parser().parse(source)
    except UnexpectedInput as exc:
        commented = _comment_error(source)
        if commented is not None and commented.message.startswith("the expression is empty"):
            return _placeholder(source)
        raise _syntax_error(exc, source) from None
    compiler = _Compiler()
    try:
        if isinstance(tree, Tree):
            _check_depth(tree)
            _bind_lambda_parameters(tree)
        node = compiler._value(compiler.transform(tree))
    except VisitError as exc:
        if isinstance(exc.orig_exc, RuleSyntaxError):
            raise exc.orig_exc from None
        if isinstance(exc.orig_exc, RecursionError):
            raise RuleSyntaxError(f"the expression nests more than {MAX_DEPTH} levels deep", 1, 1) from None
        raise
    except RecursionError:
        raise RuleSyntaxError(f"the expression nests more than {MAX_DEPTH} levels deep", 1, 1) from None
    if isinstance(node, _Lambda | _Named):
        compiler._value(node)
    return CompiledExpression(source=source, fn=node.fn, required_facts=frozenset(compiler.required_facts))


# Real rules are a line or two; these bounds keep a hostile one from holding a web or worker process.
MAX_SOURCE_LENGTH = 10_000
# Each level is a few Python frames when compiling and when evaluating; 200 stays well inside the stack.
MAX_DEPTH = 200
MAX_NUMBER_DIGITS = 100
# Lambda calls one evaluation of a rule may make: a lambda over a list inside a lambda over another is
# quadratic, and this bounds its time (about a second) and the lists it can build.
MAX_STEPS = 1_000_000
_TOO_MANY_STEPS = f"the rule made more than {MAX_STEPS:,} function calls over lists and was stopped"


def _check_size(source: str) -> None:
    if len(source) > MAX_SOURCE_LENGTH:
        raise RuleSyntaxError(
            f"the expression is {len(source):,} characters long; at most {MAX_SOURCE_LENGTH:,} are allowed", 1, 1
        )
    if "\x00" in source:
        offset = source.index("\x00")
        line = source.count("\n", 0, offset) + 1
        column = offset - (source.rfind("\n", 0, offset) + 1) + 1
        raise RuleSyntaxError("the expression holds a NUL character", line, column)


def _check_depth(tree: Tree) -> None:
    """Refuse trees deeper than MAX_DEPTH before anything recursive walks them (iteratively, so the check
    itself cannot overflow the stack)."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            meta = node.meta
            line = getattr(meta, "line", None) if not meta.empty else None
            column = getattr(meta, "column", None) if not meta.empty else None
            raise RuleSyntaxError(f"the expression nests more than {MAX_DEPTH} levels deep", line or 1, column or 1)
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _placeholder(source: str) -> CompiledExpression:
    """A rule whose expression is only a comment (Cortex's library ships such templates): it loads, and
    every entity gets "not configured" until someone writes the expression."""

    def not_written(ctx):
        raise IntegrationNotConfigured("", message="not configured: the expression is only a comment, not a check yet")

    return CompiledExpression(source=source, fn=not_written, required_facts=frozenset(), placeholder=True)
