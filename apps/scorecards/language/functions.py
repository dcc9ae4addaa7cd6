"""The rule language's built-in functions and namespaces, and the tables the compiler dispatches on.

Plain functions: custom, links, jq, semver, duration, datetime, now, slos, packages, package.
Namespaces: `entity.*` and `ownership.*` read the entity itself; `git.*`, `sonarqube.*` and
`prometheus.*` read facts that integrations collect before evaluation, so compiling one records
it in the compiler's `required_facts`.

Each builder takes `(compiler, meta, args, where)` and returns a `_Node`; `_Functions` is mixed
into `_Compiler`, whose `_arity`, `_node` and `_literal_string` helpers the builders use.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

import jq

from . import values as V
from .nodes import RuleSyntaxError, _guard, _Node
from .values import EntityFacts, RuleRuntimeError, SemVer, type_name

NAMESPACES = ("entity", "ownership", "git", "sonarqube", "prometheus")


class _Functions:
    """Builders for the plain functions and the `entity.*` and `ownership.*` namespaces."""

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


def _entity_attr(attribute: str):
    """A builder for `entity.<attribute>()`."""

    def build(compiler, meta, args, where):
        compiler._arity(f"entity.{attribute}", args, (0,), where)
        if attribute == "groups":
            return compiler._node(lambda ctx: list(ctx.groups), meta)
        return compiler._node(operator.attrgetter(attribute), meta)

    return build


def _integration(source: str, function: str, arity: int):
    """A builder for `<source>.<function>(...)`, a fact that integration collects before evaluation."""

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


_F = _Functions
_FUNCTIONS: dict[str, Callable] = {
    "custom": _F._fn_custom,
    "links": _F._fn_links,
    "jq": _F._fn_jq,
    "semver": _F._fn_semver,
    "duration": _F._fn_duration,
    "datetime": _F._fn_datetime,
    "now": _F._fn_now,
    "slos": _F._fn_slos,
    "packages": _F._fn_packages,
    "package": _F._fn_package,
}
_NAMESPACE_FUNCTIONS: dict[str, dict[str, Callable]] = {
    "entity": {
        "tag": _entity_attr("tag"),
        "name": _entity_attr("name"),
        "type": _entity_attr("type"),
        "description": _entity_attr("description"),
        "groups": _entity_attr("groups"),
        "hasGroup": _F._entity_has_group,
    },
    "ownership": {"allOwners": _F._owners_all, "teams": _F._owners_teams, "emails": _F._owners_emails},
    "git": {
        "fileExists": _integration("git", "fileExists", 1),
        "fileContents": _integration("git", "fileContents", 1),
        "defaultBranch": _integration("git", "defaultBranch", 0),
    },
    "sonarqube": {"metric": _integration("sonarqube", "metric", 1)},
    "prometheus": {"query": _integration("prometheus", "query", 1)},
}
# Shown when a namespace is used as a value, e.g. `entity = "x"`.
_EXAMPLES = {
    "entity": "entity.tag()",
    "ownership": "ownership.allOwners()",
    "git": 'git.fileExists("README.md")',
    "sonarqube": 'sonarqube.metric("coverage")',
    "prometheus": 'prometheus.query("up")',
}
