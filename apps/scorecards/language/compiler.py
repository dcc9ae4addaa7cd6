"""Compile rule-language source into a tree of Python closures, once per rule.

Lark parses the source (LALR, positions kept); a Transformer turns each node into a closure
`fn(ctx) -> value`, checking at compile time everything that can be checked then: names,
function arity, literal arguments of integration functions, regexes, jq programs, durations and
versions given as literals. Evaluating a rule is then just calling its closure with an
`EntityFacts`, with no parsing and no Python `eval`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jq
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import values as V
from .values import EntityFacts, RuleRuntimeError, SemVer, type_name

_NOT_LITERAL = object()
NAMESPACES = ("entity", "ownership", "git", "sonarqube", "prometheus")


class RuleSyntaxError(Exception):
    """The source is not a valid rule: `line` and `column` (1-based) say where."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line is not None else ""
        super().__init__(f"{where}{message}")


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


class _Node:
    """A compiled sub-expression: a closure, or a literal value, or a namespace such as `entity`."""

    __slots__ = ("fn", "literal", "namespace", "line", "column")

    def __init__(self, fn=None, *, literal=_NOT_LITERAL, namespace=None, line=None, column=None):
        if fn is None and literal is not _NOT_LITERAL:
            fn = _constant(literal)
        self.fn = fn
        self.literal = literal
        self.namespace = namespace
        self.line = line
        self.column = column

    @property
    def is_literal(self) -> bool:
        return self.literal is not _NOT_LITERAL


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
        except RuleRuntimeError as exc:
            raise _positioned(exc, column) from None
        except OverflowError as exc:  # e.g. now() + duration("P9000Y"): past year 9999
            raise _positioned(RuleRuntimeError(f"value out of range: {exc}"), column) from None

    return guarded


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _unescape(raw: str) -> str:
    # Unknown escapes stay as written, so regexes like "\d+" need no doubling.
    body = raw[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)


def _fact(source: str, key: str, label: str):
    def read(ctx: EntityFacts):
        found = ctx.facts.get((source, key))
        if found is None:
            raise RuleRuntimeError(f"{source}: no data collected for {label}")
        value, error = found
        if error:
            raise RuleRuntimeError(f"{source}: {error}")
        return value

    return read


@v_args(meta=True, inline=True)
class _Compiler(Transformer):
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
    def member(self, meta, target: _Node, name_token: Token) -> _Node:
        name = str(name_token)
        if target.namespace:
            raise self._error(f"{target.namespace}.{name} is a function; write {target.namespace}.{name}()", name_token)
        tf = target.fn
        if name == "length":
            length = V.length
            return self._node(_guard(lambda ctx: length(tf(ctx)), name_token.column), meta)
        member = V.member
        return self._node(_guard(lambda ctx: member(tf(ctx), name), name_token.column), meta)

    def method(self, meta, target: _Node, name_token: Token, args: list[_Node] | None) -> _Node:
        name = str(name_token)
        args = args or []
        if target.namespace:
            return self._namespace_call(meta, target.namespace, name, args, name_token)
        tf = target.fn
        column = name_token.column
        if name == "matches":
            self._arity(name, args, (1,), name_token)
            pattern = self._literal_string(name, args[0])
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise RuleSyntaxError(f"invalid regular expression: {exc}", args[0].line, args[0].column) from None
            matches = V.regex_matches
            return self._node(_guard(lambda ctx: matches(tf(ctx), compiled), column), meta)
        if name == "contains":
            self._arity(name, args, (1,), name_token)
            af = args[0].fn
            contains = V.contains
            return self._node(_guard(lambda ctx: contains(tf(ctx), af(ctx)), column), meta)
        if name in ("startsWith", "endsWith"):
            self._arity(name, args, (1,), name_token)
            af = args[0].fn
            affix = V.string_affix
            return self._node(_guard(lambda ctx: affix(tf(ctx), af(ctx), name), column), meta)
        if name == "isStable":
            self._arity(name, args, (0,), name_token)

            def is_stable(ctx):
                value = tf(ctx)
                if value is None:
                    return None
                if isinstance(value, str):
                    value = SemVer(value)
                if not isinstance(value, SemVer):
                    raise RuleRuntimeError(f"isStable() works on semver values, got {type_name(value)}")
                return value.version.major >= 1 and not value.version.prerelease

            return self._node(_guard(is_stable, column), meta)
        if name == "length":
            raise self._error("length is a property; write .length without parentheses", name_token)
        raise self._error(
            f"unknown method {name!r}; methods: matches, contains, startsWith, endsWith, isStable, and .length",
            name_token,
        )

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

    # -- functions (called through the tables below) ----------------------------------------
    def _fn_custom(self, meta, args, where):
        self._arity("custom", args, (1,), where)
        key = args[0]
        if key.is_literal:
            if not isinstance(key.literal, str):
                raise RuleSyntaxError("custom() needs a string key", key.line, key.column)
            literal_key = key.literal
            return self._node(lambda ctx: ctx.custom.get(literal_key), meta)
        kf = key.fn

        def custom(ctx):
            value = kf(ctx)
            if not isinstance(value, str):
                raise RuleRuntimeError(f"custom() needs a string key, got {type_name(value)}")
            return ctx.custom.get(value)

        return self._node(_guard(custom, meta.column), meta)

    def _fn_links(self, meta, args, where):
        self._arity("links", args, (0, 1), where)
        if not args:
            return self._node(lambda ctx: list(ctx.links), meta)
        tf = args[0].fn
        return self._node(lambda ctx: [link for link in ctx.links if link.get("type") == tf(ctx)], meta)

    def _fn_jq(self, meta, args, where):
        self._arity("jq", args, (2,), where)
        vf, program_node = args[0].fn, args[1]
        if program_node.is_literal:
            if not isinstance(program_node.literal, str):
                raise RuleSyntaxError("jq() needs the program as a string", program_node.line, program_node.column)
            program = _jq_program(program_node.literal, program_node)

            def run_literal(ctx):
                return _jq_run(program, vf(ctx))

            return self._node(_guard(run_literal, meta.column), meta)
        pf = program_node.fn

        def run_dynamic(ctx):
            text = pf(ctx)
            if not isinstance(text, str):
                raise RuleRuntimeError(f"jq() needs the program as a string, got {type_name(text)}")
            try:
                program = _jq_cached(text)
            except ValueError as exc:
                raise RuleRuntimeError(f"invalid jq program: {_first_line(exc)}") from None
            return _jq_run(program, vf(ctx))

        return self._node(_guard(run_dynamic, meta.column), meta)

    def _fn_semver(self, meta, args, where):
        self._arity("semver", args, (1,), where)
        arg = args[0]
        if arg.is_literal:
            try:
                return self._node(None, meta, literal=SemVer(arg.literal))
            except RuleRuntimeError as exc:
                raise RuleSyntaxError(str(exc), arg.line, arg.column) from None
        af = arg.fn
        return self._node(_guard(lambda ctx: None if (v := af(ctx)) is None else SemVer(v), meta.column), meta)

    def _fn_duration(self, meta, args, where):
        self._arity("duration", args, (1,), where)
        arg = args[0]
        if arg.is_literal:
            try:
                return self._node(None, meta, literal=V.parse_duration(arg.literal))
            except RuleRuntimeError as exc:
                raise RuleSyntaxError(str(exc), arg.line, arg.column) from None
        af = arg.fn
        return self._node(
            _guard(lambda ctx: None if (v := af(ctx)) is None else V.parse_duration(v), meta.column), meta
        )

    def _fn_now(self, meta, args, where):
        self._arity("now", args, (0,), where)
        return self._node(operator.attrgetter("now"), meta)

    def _fn_slos(self, meta, args, where):
        self._arity("slos", args, (0,), where)
        return self._node(lambda ctx: list(ctx.slos), meta)

    def _fn_packages(self, meta, args, where):
        self._arity("packages", args, (0,), where)
        return self._node(lambda ctx: list(ctx.packages), meta)

    def _fn_package(self, meta, args, where):
        self._arity("package", args, (1,), where)
        nf = args[0].fn

        def package(ctx):
            wanted = nf(ctx)
            if not isinstance(wanted, str):
                raise RuleRuntimeError(f"package() needs a package name, got {type_name(wanted)}")
            for candidate in ctx.packages:
                if candidate.get("name") == wanted:
                    return candidate
            return None

        return self._node(_guard(package, meta.column), meta)

    def _fn_datetime(self, meta, args, where):
        self._arity("datetime", args, (1,), where)
        arg = args[0]
        if arg.is_literal and isinstance(arg.literal, str):
            try:
                return self._node(None, meta, literal=V.parse_datetime(arg.literal))
            except RuleRuntimeError as exc:
                raise RuleSyntaxError(str(exc), arg.line, arg.column) from None
        af = arg.fn

        def to_datetime(ctx):
            value = af(ctx)
            if value is None or isinstance(value, datetime):
                return value
            if not isinstance(value, str):
                raise RuleRuntimeError(f"datetime() needs a string, got {type_name(value)}")
            return V.parse_datetime(value)

        return self._node(_guard(to_datetime, meta.column), meta)

    # entity.*
    def _entity_attr(self, attribute: str):
        def build(compiler, meta, args, where):
            compiler._arity(f"entity.{attribute}", args, (0,), where)
            if attribute == "groups":
                return compiler._node(lambda ctx: list(ctx.groups), meta)
            return compiler._node(operator.attrgetter(attribute), meta)

        return build

    def _entity_has_group(self, meta, args, where):
        self._arity("entity.hasGroup", args, (1,), where)
        arg = args[0]
        if arg.is_literal and (arg.literal is None or isinstance(arg.literal, str)):
            group = arg.literal
            return self._node(lambda ctx: group in ctx.group_set, meta)
        af = arg.fn

        def has_group(ctx):
            group = af(ctx)
            if group is not None and not isinstance(group, str):
                raise RuleRuntimeError(f"entity.hasGroup() needs a group name, got {type_name(group)}")
            return group in ctx.group_set

        return self._node(_guard(has_group, meta.column), meta)

    # ownership.*
    def _owners_all(self, meta, args, where):
        self._arity("ownership.allOwners", args, (0,), where)
        return self._node(lambda ctx: list(ctx.owners), meta)

    def _owners_teams(self, meta, args, where):
        self._arity("ownership.teams", args, (0,), where)
        return self._node(lambda ctx: [o["name"] for o in ctx.owners if o.get("type") == "group"], meta)

    def _owners_emails(self, meta, args, where):
        self._arity("ownership.emails", args, (0,), where)
        return self._node(lambda ctx: [o["email"] for o in ctx.owners if o.get("type") == "email"], meta)

    # integrations
    def _integration(self, source: str, function: str, arity: int):
        def build(compiler, meta, args, where):
            compiler._arity(f"{source}.{function}", args, (arity,), where)
            if arity:
                argument = compiler._literal_string(f"{source}.{function}", args[0])
                key = f"{function}:{argument}"
                label = f'{function}("{argument}")'
            else:
                key, label = function, f"{function}()"
            compiler.required_facts.add((source, key))
            return compiler._node(_guard(_fact(source, key, label), meta.column), meta)

        return build


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@lru_cache(maxsize=512)
def _jq_cached(text: str):
    return jq.compile(text)


def _jq_program(text: str, node: _Node):
    try:
        return _jq_cached(text)
    except ValueError as exc:
        raise RuleSyntaxError(f"invalid jq program: {_first_line(exc)}", node.line, node.column) from None


def _jq_run(program, value):
    """Real jq semantics; one output is returned as is, none as null, several as a list."""
    try:
        outputs = program.input_value(value).all()
    except (ValueError, TypeError) as exc:
        raise RuleRuntimeError(f"jq: {_first_line(exc)}") from None
    if not outputs:
        return None
    return outputs[0] if len(outputs) == 1 else outputs


_C = _Compiler
_FUNCTIONS: dict[str, Callable] = {
    "custom": _C._fn_custom,
    "links": _C._fn_links,
    "jq": _C._fn_jq,
    "semver": _C._fn_semver,
    "duration": _C._fn_duration,
    "datetime": _C._fn_datetime,
    "now": _C._fn_now,
    "slos": _C._fn_slos,
    "packages": _C._fn_packages,
    "package": _C._fn_package,
}
_NAMESPACE_FUNCTIONS: dict[str, dict[str, Callable]] = {
    "entity": {
        "tag": _C._entity_attr(None, "tag"),
        "name": _C._entity_attr(None, "name"),
        "type": _C._entity_attr(None, "type"),
        "description": _C._entity_attr(None, "description"),
        "groups": _C._entity_attr(None, "groups"),
        "hasGroup": _C._entity_has_group,
    },
    "ownership": {"allOwners": _C._owners_all, "teams": _C._owners_teams, "emails": _C._owners_emails},
    "git": {
        "fileExists": _C._integration(None, "git", "fileExists", 1),
        "fileContents": _C._integration(None, "git", "fileContents", 1),
        "defaultBranch": _C._integration(None, "git", "defaultBranch", 0),
    },
    "sonarqube": {"metric": _C._integration(None, "sonarqube", "metric", 1)},
    "prometheus": {"query": _C._integration(None, "prometheus", "query", 1)},
}
_EXAMPLES = {
    "entity": "entity.tag()",
    "ownership": "ownership.allOwners()",
    "git": 'git.fileExists("README.md")',
    "sonarqube": 'sonarqube.metric("coverage")',
    "prometheus": 'prometheus.query("up")',
}

_GRAMMAR = (Path(__file__).parent / "grammar.lark").read_text()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=True)


_TOKEN_NAMES = {
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "DOT": "'.'",
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "COMP_OP": "a comparison",
    "$END": "the end of the expression",
}


def _describe_expected(exc: UnexpectedInput) -> str:
    # `accepts` is exact for this parser state; `expected` may list tokens of merged LALR states.
    expected = getattr(exc, "accepts", None) or getattr(exc, "expected", None) or ()
    names = sorted({_TOKEN_NAMES.get(name, name.lower()) for name in expected})
    if len(names) > 6:
        return ""
    return "; expected " + ", ".join(names)


def _syntax_error(exc: UnexpectedInput, source: str) -> RuleSyntaxError:
    line, column = getattr(exc, "line", None), getattr(exc, "column", None)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        lines = source.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
        expected = _describe_expected(exc)
        return RuleSyntaxError(f"the expression ends too early{expected}", line, column)
    if isinstance(exc, UnexpectedCharacters):
        return RuleSyntaxError(f"unexpected character {exc.char!r}", line, column)
    if isinstance(exc, UnexpectedToken):
        expected = _describe_expected(exc)
        return RuleSyntaxError(f"unexpected {str(exc.token)!r}{expected}", line, column)
    return RuleSyntaxError(str(exc), line, column)


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
