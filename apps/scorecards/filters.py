"""Filters decide which entities a scorecard or a rule applies to (types, groups, a query).

A filter's `query` (and a campaign's scope) is Datadog's catalog query syntax or a rule-language expression;
`compile_scope` tells them apart (a query that parses as the catalog syntax is one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from apps.scorecards.catalog_query import (
    MAX_DEPTH,
    MAX_LENGTH,
    CatalogQuerySyntaxError,
    compile_catalog_query,
    looks_like_catalog_query,
)
from apps.scorecards.language import EntityFacts, RuleSyntaxError, compile_expression

# Cortex's filter keys (as its exported descriptors carry them): `kind` says which shape the filter has
# (only GENERIC, the types/groups/query shape, is known), `category` is the legacy entity category.
FILTER_KEYS = frozenset({"types", "groups", "query", "kind", "category"})
FILTER_KINDS = frozenset({"GENERIC"})
# Category -> the entity type it means; RESOURCE is every other type (Cortex's resources are custom types).
FILTER_CATEGORIES: dict[str, str | None] = {"SERVICE": "service", "DOMAIN": "domain", "TEAM": "team", "RESOURCE": None}
_CATEGORY_TYPES = frozenset(t for t in FILTER_CATEGORIES.values() if t)


class Scope(Protocol):
    """A compiled filter query or campaign scope: a catalog query or a rule-language expression."""

    # Properties: both kinds are frozen dataclasses, whose fields cannot be assigned.
    @property
    def source(self) -> str: ...

    @property
    def required_facts(self) -> frozenset[tuple[str, str]]: ...

    def check(self, ctx: EntityFacts) -> bool: ...


def _bracket_depth_error(source: str) -> RuleSyntaxError | None:
    """Rule-language brackets nested deeper than MAX_DEPTH (outside strings), where a deeper tree would only
    exhaust the compiler's stack."""
    depth, quote, index = 0, "", 0
    while index < len(source):
        char = source[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                line = source.count("\n", 0, index) + 1
                column = index - (source.rfind("\n", 0, index) + 1) + 1
                return RuleSyntaxError(f"the query nests deeper than {MAX_DEPTH} levels", line, column)
        elif char in ")]}":
            depth -= 1
        index += 1
    return None


def compile_scope(source: str) -> Scope:
    """A filter query or a campaign scope, in either language. A query that parses as Datadog's catalog query
    syntax (`kind:service AND team:platform`) is one; otherwise it must be a rule-language expression. When
    neither parses, the error is the catalog parser's if the query starts like one (`key:`), else the rule
    language's. Both are bounded (MAX_LENGTH characters, MAX_DEPTH levels). Raises RuleSyntaxError, whose
    line and column count in `source` as given (leading spaces included)."""
    try:
        return compile_catalog_query(source)
    except CatalogQuerySyntaxError:
        if looks_like_catalog_query(source) or len(source) > MAX_LENGTH:
            raise
    if (deep := _bracket_depth_error(source)) is not None:
        raise deep
    try:
        return compile_expression(source)
    except RecursionError:
        raise RuleSyntaxError(f"the query nests deeper than {MAX_DEPTH} levels", 1, 1) from None


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    types_include: frozenset[str] = frozenset()
    types_exclude: frozenset[str] = frozenset()
    groups_include: frozenset[str] = frozenset()
    groups_exclude: frozenset[str] = frozenset()
    query: Scope | None = None
    category: str | None = None  # a FILTER_CATEGORIES key

    @property
    def is_empty(self) -> bool:
        return not (
            self.types_include
            or self.types_exclude
            or self.groups_include
            or self.groups_exclude
            or self.query
            or self.category
        )

    def _category_matches(self, entity_type: str) -> bool:
        if self.category is None:
            return True
        wanted = FILTER_CATEGORIES[self.category]
        return entity_type == wanted if wanted else entity_type not in _CATEGORY_TYPES

    def matches(self, ctx: EntityFacts) -> bool:
        """The category must match, include lists need one match, exclude lists none; the query must hold.
        May raise RuleRuntimeError."""
        if not self._category_matches(ctx.type):
            return False
        if self.types_include and ctx.type not in self.types_include:
            return False
        if ctx.type in self.types_exclude:
            return False
        if self.groups_include and self.groups_include.isdisjoint(ctx.group_set):
            return False
        if self.groups_exclude and not self.groups_exclude.isdisjoint(ctx.group_set):
            return False
        return self.query is None or self.query.check(ctx)


EMPTY_FILTER = CompiledFilter()


def compile_filter(data: dict | None) -> CompiledFilter:
    """Build from the stored JSON form ({"types": {"include": [...]}, "groups": {...}, "query": "..."})."""
    if not data:
        return EMPTY_FILTER
    types = data.get("types") or {}
    groups = data.get("groups") or {}
    query = (data.get("query") or "").strip()
    return CompiledFilter(
        types_include=frozenset(types.get("include") or ()),
        types_exclude=frozenset(types.get("exclude") or ()),
        groups_include=frozenset(groups.get("include") or ()),
        groups_exclude=frozenset(groups.get("exclude") or ()),
        query=compile_scope(query) if query else None,
        category=str(data["category"]).upper() if data.get("category") else None,
    )


def filter_problems(data) -> list[str]:
    """What is wrong with a filter given as stored JSON (the admin edits it raw)."""
    if data in (None, {}):
        return []
    if not isinstance(data, dict):
        return ["a filter is a mapping with types, groups and query"]
    problems = [f"unknown filter key {key!r}" for key in data if key not in FILTER_KEYS]
    problems.extend(category_problems(data.get("category")))
    problems.extend(kind_problems(data.get("kind")))
    for part in ("types", "groups"):
        block = data.get(part)
        if block is None:
            continue
        if not isinstance(block, dict):
            problems.append(f"{part} must be a mapping with include and exclude lists")
            continue
        for direction, values in block.items():
            if direction not in ("include", "exclude"):
                problems.append(f"{part}.{direction}: only include and exclude are allowed")
            elif not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                problems.append(f"{part}.{direction} must be a list of strings")
    query = data.get("query")
    if query is not None:
        if not isinstance(query, str):
            problems.append("query must be a catalog query or a rule-language expression")
        elif query.strip():
            try:
                compile_scope(query)
            except RuleSyntaxError as exc:
                problems.append(f"query: {exc}")
    return problems


def category_problems(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str) or value.upper() not in FILTER_CATEGORIES:
        return [f"category {value!r} is not one of {', '.join(FILTER_CATEGORIES)}"]
    return []


def kind_problems(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str) or value.upper() not in FILTER_KINDS:
        return [f"kind {value!r} is not a filter kind this server applies (only {', '.join(sorted(FILTER_KINDS))})"]
    return []
