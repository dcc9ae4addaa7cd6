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
from datetime import datetime, timedelta
from functools import lru_cache

import jq

from . import integrations, jq_sandbox
from . import values as V
from .nodes import RuleSyntaxError, _guard, _Lambda, _Named, _Node
from .values import EntityFacts, IntegrationNotConfigured, RuleRuntimeError, SemVer, type_name

NAMESPACES = ("entity", "ownership", "git", "sonarqube", "prometheus", "oncall", "dependencies")
# Catalog data a rule reads by kind; compiling a read records ("catalog", kind) so the loader fetches it.
CATALOG = "catalog"


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
            _jq_program(program_node.literal, program_node)  # refused at compile time when it is not jq
            program = program_node.literal

            def run_literal(ctx):
                return _jq_run(program, vf(ctx))

            return self._node(_guard(run_literal, meta.column), meta)
        pf = program_node.fn

        def run_dynamic(ctx):
            text = pf(ctx)
            if not isinstance(text, str):
                raise RuleRuntimeError(f"jq() needs the program as a string, got {type_name(text)}")
            try:
                _jq_cached(text)
            except ValueError as exc:
                raise RuleRuntimeError(f"invalid jq program: {_first_line(exc)}") from None
            return _jq_run(text, vf(ctx))

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
        # Team objects, as Cortex's: `.tag`, `.name`, `.members`, `.identityProviderGroups`.
        return self._node(lambda ctx: [o for o in ctx.owners if o.get("type") == "group"], meta)

    def _owners_emails(self, meta, args, where):
        self._arity("ownership.emails", args, (0,), where)
        return self._node(lambda ctx: [o["email"] for o in ctx.owners if o.get("type") == "email"], meta)


def _entity_attr(attribute: str):
    """A builder for `entity.<attribute>()`."""

    def build(compiler, meta, args, where):
        compiler._arity(f"entity.{attribute}", args, (0,), where)
        if attribute == "groups":
            return compiler._node(lambda ctx: list(ctx.groups), meta)
        if attribute == "description":
            # Cortex's reference: an empty description is null, so `entity.description() != null` means "has one".
            return compiler._node(lambda ctx: ctx.description or None, meta)
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
    return integrations.read_fact(source, key, label)


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


def _jq_run(program: str, value):
    """Real jq semantics; one output is returned as is, none as null, several as a list. The program runs
    in the jq sandbox, under a time and a memory bound."""
    try:
        outputs = jq_sandbox.run(program, value)
    except jq_sandbox.JqFailed as exc:
        raise RuleRuntimeError(f"jq: {exc}") from None
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


def takes_named_arguments(build: Callable) -> Callable:
    """Mark a builder that reads named arguments itself (`bind`); the compiler refuses them for the rest."""
    setattr(build, "named", True)  # noqa: B010 (an attribute on a function)
    return build


# -- Cortex's named-argument functions, catalog data, namespaces as values, CQL v1 names ---------------
def bind(name: str, args: list, params: tuple[str, ...], where, *, required: tuple[str, ...] = ()) -> dict:
    """Positional and named arguments matched to `params`; unknown, repeated or missing ones are refused."""
    bound: dict = {}
    for position, arg in enumerate(args):
        if isinstance(arg, _Lambda):
            raise RuleSyntaxError(f"{name}() takes no function argument", arg.line, arg.column)
        if isinstance(arg, _Named):
            if isinstance(arg.value, _Lambda):
                raise RuleSyntaxError(f"{name}() takes no function argument", arg.value.line, arg.value.column)
            if arg.name not in params:
                known = ", ".join(f"{p}=" for p in params) or "none"
                raise RuleSyntaxError(
                    f"{name}() has no argument {arg.name!r}; its arguments: {known}", arg.line, arg.column
                )
            key, value = arg.name, arg.value
        else:
            if bound and any(isinstance(a, _Named) for a in args[:position]):
                raise RuleSyntaxError(f"{name}(): a positional argument after a named one", arg.line, arg.column)
            if position >= len(params):
                raise RuleSyntaxError(f"{name}() takes at most {len(params)} arguments", arg.line, arg.column)
            key, value = params[position], arg
        if key in bound:
            raise RuleSyntaxError(f"{name}() got {key!r} twice", arg.line, arg.column)
        bound[key] = value
    for key in required:
        if key not in bound:
            raise RuleSyntaxError(
                f"{name}() needs {key}=", getattr(where, "line", None), getattr(where, "column", None)
            )
    return bound


def _data(kind: str):
    def rows(ctx: EntityFacts) -> list[dict]:
        found = ctx.data.get(kind)
        if found is None:
            raise RuleRuntimeError(f"{kind.replace('_', ' ')} were not loaded for this evaluation")
        return found

    return rows


def _value_fn(node: _Node | None, default=None):
    return node.fn if node is not None else (lambda ctx: default)


def _lookback_filter(ctx, rows: list[dict], lookback):
    if lookback is None:
        return rows
    if not isinstance(lookback, timedelta):
        raise RuleRuntimeError(f'lookback needs a duration such as duration("P7D"), got {type_name(lookback)}')
    since = ctx.now - abs(lookback)
    return [row for row in rows if row.get("timestamp") is not None and row["timestamp"] >= since]


def _one_of(value, field: str):
    if value is None:
        return None
    if isinstance(value, str):
        return {value}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return set(value)
    raise RuleRuntimeError(f"{field} needs a string or a list of strings, got {type_name(value)}")


def _timeline(kind: str, label: str, filters: dict[str, str]):
    """`deploys(lookback=, types=, environments=)`, `customEvents(lookback=, types=)`: rows newest first."""
    params = ("lookback", *filters)

    def build(compiler, meta, args, where):
        bound = bind(label, args, params, where)
        compiler.required_facts.add((CATALOG, kind))
        rows_of = _data(kind)
        lookback_fn = _value_fn(bound.get("lookback"))
        filter_fns = [(field, filters[field], bound[field].fn) for field in filters if field in bound]

        def fn(ctx):
            rows = _lookback_filter(ctx, rows_of(ctx), lookback_fn(ctx))
            for argument, field, value_fn in filter_fns:
                wanted = _one_of(value_fn(ctx), argument)
                if wanted is not None:
                    rows = [row for row in rows if row.get(field) in wanted]
            return rows

        return compiler._node(_guard(fn, meta.column), meta)

    return takes_named_arguments(build)


def _custom_metrics(compiler, meta, args, where):
    bound = bind("customMetrics", args, ("key", "lookback"), where, required=("key",))
    compiler.required_facts.add((CATALOG, "custom_metrics"))
    rows_of = _data("custom_metrics")
    key_fn, lookback_fn = bound["key"].fn, _value_fn(bound.get("lookback"))

    def fn(ctx):
        key = key_fn(ctx)
        if not isinstance(key, str):
            raise RuleRuntimeError(f"customMetrics() needs key= a string, got {type_name(key)}")
        return _lookback_filter(ctx, [row for row in rows_of(ctx) if row.get("key") == key], lookback_fn(ctx))

    return compiler._node(_guard(fn, meta.column), meta)


def _relations(kind: str, label: str, params: tuple[str, ...]):
    def build(compiler, meta, args, where):
        bound = bind(label, args, params, where)
        compiler.required_facts.add((CATALOG, kind))
        rows_of = _data(kind)
        type_fn = bound["relationshipType"].fn if "relationshipType" in bound else None

        def fn(ctx):
            rows = rows_of(ctx)
            if type_fn is not None:
                wanted = _one_of(type_fn(ctx), "relationshipType")
                if wanted is not None:
                    rows = [row for row in rows if row.get("relationshipType") in wanted]
            return rows

        return compiler._node(_guard(fn, meta.column), meta)

    return takes_named_arguments(build)


def _not_configured(integration: str, detail: str = ""):
    """A builder for a function this product cannot answer: it compiles, and its outcome says so."""

    def build(compiler, meta, args, where):
        def fn(ctx):
            raise IntegrationNotConfigured(integration, detail)

        node = compiler._node(fn, meta)
        node.opaque = True
        return node

    return takes_named_arguments(build)


def _captures(compiler, meta, args, where):
    """`captures("name", expr)`: Cortex keeps the value for the failure message; the rule sees the value."""
    compiler._arity("captures", args, (2,), where)
    return args[1]


def _has_group(compiler, meta, args, where):
    return _F._entity_has_group(compiler, meta, args, where)


def _group_objects(compiler, meta, args, where):
    """Top-level `groups()`: Cortex's group objects, each with a `name` (and `tag`)."""
    compiler._arity("groups", args, (0,), where)
    return compiler._node(lambda ctx: [{"name": g, "tag": g} for g in ctx.groups], meta)


def _entity_descriptor(compiler, meta, args, where):
    compiler._arity("entity.descriptor", args, (0,), where)
    return compiler._node(lambda ctx: ctx.descriptor, meta)


def _entity_is_archived(compiler, meta, args, where):
    compiler._arity("entity.isArchived", args, (0,), where)
    return compiler._node(lambda ctx: False, meta)  # archived entities are never evaluated


def _git_code_search(compiler, meta, args, where):
    bound = bind("git.codeSearch", args, ("query", "fileExtension", "path"), where, required=("query",))
    query = compiler._literal_string("git.codeSearch", bound["query"])
    extras = [
        f"{k}={compiler._literal_string('git.codeSearch', bound[k])}" for k in ("fileExtension", "path") if k in bound
    ]
    key = "codeSearch:" + "\x1f".join([query, *extras])
    compiler.required_facts.add(("git", key))
    return compiler._node(_guard(_fact("git", key, f'codeSearch(query="{query}")'), meta.column), meta)


takes_named_arguments(_git_code_search)


def _sonarqube_other(name: str):
    return _not_configured("sonarqube", f"{name}() is not collected; sonarqube.metric() is")


def _oncall_provider(name: str):
    """`oncall.analysis(...)` and the like ask the on-call provider, which no collector reaches yet."""

    def build(compiler, meta, args, where):
        bind(f"oncall.{name}", args, ("lookback",), where)

        def fn(ctx):
            if ctx.oncall is None:
                return
            provider = ctx.oncall.get("provider") if isinstance(ctx.oncall, dict) else None
            raise IntegrationNotConfigured(str(provider or "oncall").lower(), f"oncall.{name}() asks the provider")

        return compiler._node(fn, meta)

    return takes_named_arguments(build)


def _oncall_details(compiler, meta, args, where):
    compiler._arity("oncall.details", args, (0,), where)
    return compiler._node(operator.attrgetter("oncall"), meta)


_NAMED_FUNCTIONS: dict[str, Callable] = {
    "deploys": _timeline("deploys", "deploys", {"types": "type", "environments": "environment"}),
    "customEvents": _timeline("custom_events", "customEvents", {"types": "type"}),
    "customMetrics": _custom_metrics,
    "verifications": _not_configured("verifications", "data verification is not part of this product"),
}
_FUNCTIONS.update(
    {
        "hasGroup": _has_group,
        "groups": _group_objects,
        "tag": _entity_attr("tag"),
        "captures": _captures,
    }
)
_NAMESPACE_FUNCTIONS["entity"].update(
    {
        "descriptor": _entity_descriptor,
        "isArchived": _entity_is_archived,
        "destinations": _relations("destinations", "entity.destinations", ("relationshipType",)),
        "sources": _relations("sources", "entity.sources", ("relationshipType",)),
    }
)
_NAMESPACE_FUNCTIONS["git"].update({"codeSearch": _git_code_search, "lastCommit": _integration("git", "lastCommit", 0)})
_NAMESPACE_FUNCTIONS["sonarqube"].update({"freshness": _sonarqube_other("freshness")})
_NAMESPACE_FUNCTIONS["oncall"] = {
    "details": _oncall_details,
    **{name: _oncall_provider(name) for name in ("analysis", "numOfEscalations", "currentOncall", "schedules")},
}
_NAMESPACE_FUNCTIONS["dependencies"] = {
    "in": _relations("dependencies_in", "dependencies.in", ("includeArchived",)),
    "out": _relations("dependencies_out", "dependencies.out", ("includeArchived",)),
}


def namespace_value(compiler, node: _Node) -> _Node:
    """A namespace used as a value (`git != null`): non-null when the entity has what it names."""
    ns, meta = node.namespace, node
    if ns in integrations.UNREACHABLE:
        return integrations.linked(compiler, meta, ns)
    if ns == "git":
        return compiler._node(lambda ctx: {"repository": ctx.repository} if ctx.repository else None, meta)
    if ns == "ownership":
        return compiler._node(lambda ctx: list(ctx.owners) or None, meta)
    if ns == "oncall":
        return compiler._node(operator.attrgetter("oncall"), meta)
    if ns == "sonarqube":
        compiler.required_facts.add(("sonarqube", "project"))
        return compiler._node(_fact("sonarqube", "project", "sonarqube != null"), meta)
    if ns == "prometheus":

        def prometheus(ctx):
            if ctx.configured is not None and "prometheus" not in ctx.configured:
                raise IntegrationNotConfigured("prometheus")
            return True

        return compiler._node(prometheus, meta)
    return compiler._node(None, meta, literal=True)  # entity, dependencies: always there


def namespace_member(compiler, meta, namespace: str, name: str, where) -> _Node:
    """`git.enabled` (CQL v1); any other `namespace.name` without parentheses is a function."""
    if namespace == "git" and name == "enabled":
        return compiler._node(lambda ctx: bool(ctx.repository), meta)
    if namespace == "oncall":  # the descriptor's x-cortex-oncall, e.g. `oncall.id`
        return compiler._node(_guard(lambda ctx: V.member(ctx.oncall, name), meta.column), meta)
    if namespace in integrations.UNREACHABLE:
        return integrations.any_function(compiler, meta, namespace, name, [], where)
    raise compiler._error(f"{namespace}.{name} is a function; write {namespace}.{name}()", where)


def _v1_description(compiler, meta):
    return compiler._node(lambda ctx: ctx.description or None, meta)


def _v1_link_count(link_type: str):
    def build(compiler, meta):
        return compiler._node(lambda ctx: {"count": sum(1 for x in ctx.links if x.get("type") == link_type)}, meta)

    return build


def _v1_deploys(compiler, meta):
    """CQL v1 `deploys.frequency`: deploys per week over the last 30 days."""
    compiler.required_facts.add((CATALOG, "deploys"))
    rows_of = _data("deploys")

    def fn(ctx):
        recent = _lookback_filter(ctx, rows_of(ctx), timedelta(days=30))
        return {"frequency": round(len(recent) / (30 / 7), 2), "count": len(recent)}

    return compiler._node(_guard(fn, meta.column), meta)


# Bare names of CQL v1 that exported scorecards still carry, with their v2 meaning.
V1_NAMES: dict[str, Callable] = {
    "description": _v1_description,
    "documentation": _v1_link_count("documentation"),
    "runbooks": _v1_link_count("runbook"),
    "deploys": _v1_deploys,
}
