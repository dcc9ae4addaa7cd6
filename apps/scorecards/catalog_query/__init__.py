"""Datadog's catalog query syntax (`kind:service AND team:platform`), parsed with `grammar.lark`.

Rules made through the Datadog-style API carry it as `scope_query`, campaigns as `entity_scope`. A query
compiles once into a `CatalogQuery`, whose `check(ctx)` answers for one entity's facts without touching
the database; it has the `check` and `required_facts` of a compiled rule-language expression, so filters
and campaign scopes use either kind alike (see apps.scorecards.filters.compile_scope).

Keys (case-insensitive) and what they match, values case-insensitively, `*` matching any run of characters
(in unquoted values only; inside quotes `*` is a plain character):

- `kind`: the entity type (`service`, `domain`, `team`, or a custom type).
- `team`: the tag of any team owner.
- `tier`: custom data `tier`, or else a group `tier-<value>` / `tier:<value>`.
- `lifecycle`: custom data `lifecycle`.
- `language`: custom data `language` or `languages` (a string or a list).
- `tag` / `tags`: any of the entity's groups (Cortex's tags), such as `tags:env:prod` for the group `env:prod`.
- `name`: the entity's tag or its display name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from apps.scorecards.language import EntityFacts, RuleSyntaxError
from apps.scorecards.language.methods import compile_regex

MAX_LENGTH = 2000
MAX_DEPTH = 32  # parentheses and NOT / `-` prefixes, counted together

_GRAMMAR = (Path(__file__).parent / "grammar.lark").read_text()


class CatalogQuerySyntaxError(RuleSyntaxError):
    """A catalog query that does not parse; `line` and `column` (1-based) say where. A RuleSyntaxError, so code
    that refuses bad filters refuses these alike."""


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", propagate_positions=True)


# --- what each key reads -----------------------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    if value is None or isinstance(value, dict):
        return []
    if isinstance(value, list | tuple):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, bool):
        return [str(value).lower()]
    return [str(value)]


def _kind(ctx: EntityFacts) -> list[str]:
    return [ctx.type]


def _team(ctx: EntityFacts) -> list[str]:
    return [str(o.get("tag") or o.get("name") or "") for o in ctx.owners if o.get("type") == "group"]


_TIER_GROUP = re.compile(r"^tier[-:](.+)$", re.I)


def _tier(ctx: EntityFacts) -> list[str]:
    if "tier" in ctx.custom:
        return _texts(ctx.custom["tier"])
    return [m.group(1) for g in ctx.groups if (m := _TIER_GROUP.match(g))]


def _lifecycle(ctx: EntityFacts) -> list[str]:
    return _texts(ctx.custom.get("lifecycle"))


def _language(ctx: EntityFacts) -> list[str]:
    return _texts(ctx.custom.get("language")) + _texts(ctx.custom.get("languages"))


def _tags(ctx: EntityFacts) -> list[str]:
    return list(ctx.groups)


def _name(ctx: EntityFacts) -> list[str]:
    return [ctx.tag, ctx.name]


KEYS: dict[str, Callable[[EntityFacts], list[str]]] = {
    "kind": _kind,
    "team": _team,
    "tier": _tier,
    "lifecycle": _lifecycle,
    "language": _language,
    "tag": _tags,
    "tags": _tags,
    "name": _name,
}


# --- compiled form -----------------------------------------------------------------------------------

Check = Callable[[EntityFacts], bool]


def _pattern(value: str, *, wildcards: bool) -> Callable[[str], bool]:
    folded = value.casefold()
    if not wildcards or "*" not in value:
        return lambda text: text.casefold() == folded
    # RE2: `a*a*a*...*b` would backtrack polynomially in Python's engine; RE2 matches in linear time.
    regex = compile_regex("(?s)" + ".*".join(re.escape(part) for part in folded.split("*")))
    return lambda text: regex.fullmatch(text.casefold()) is not None


@dataclass(frozen=True)
class CatalogQuery:
    """A compiled catalog query: `check(ctx)` says whether the entity matches. It reads only catalog facts
    every evaluation loads, so `required_facts` is empty."""

    source: str
    fn: Check
    required_facts: frozenset[tuple[str, str]] = frozenset()
    syntax: str = "catalog"

    def check(self, ctx: EntityFacts) -> bool:
        return self.fn(ctx)


def _compile(tree: Tree | Token) -> Check:
    # Depth is bounded before this runs (MAX_DEPTH), so recursion here stays shallow.
    assert isinstance(tree, Tree)
    if tree.data == "term":
        key_token, value_token = tree.children
        assert isinstance(key_token, Token) and isinstance(value_token, Token)
        key = key_token[:-1].lower()
        reader = KEYS.get(key)
        if reader is None:
            raise CatalogQuerySyntaxError(
                f"unknown key {key_token[:-1]!r}; use one of {', '.join(sorted(KEYS))}",
                key_token.line,
                key_token.column,
            )
        if value_token.start_pos != key_token.end_pos:
            raise CatalogQuerySyntaxError(
                f"a value must follow {str(key_token)!r} without a space", value_token.line, value_token.column
            )
        if value_token.type == "QUOTED":
            text = re.sub(r"\\(.)", r"\1", value_token[1:-1], flags=re.S)
            matches = _pattern(text, wildcards=False)
        else:
            matches = _pattern(str(value_token), wildcards=True)
        return lambda ctx: any(matches(text) for text in reader(ctx))
    if tree.data == "not_":
        inner = _compile(tree.children[-1])
        return lambda ctx: not inner(ctx)
    parts = [_compile(child) for child in tree.children if isinstance(child, Tree)]
    if tree.data == "and_expr":
        return lambda ctx: all(part(ctx) for part in parts)
    if tree.data == "or_expr":
        return lambda ctx: any(part(ctx) for part in parts)
    raise AssertionError(f"unexpected node {tree.data}")  # pragma: no cover


def _position(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def _depth_error(source: str) -> CatalogQuerySyntaxError | None:
    """The first place where parentheses and negations nest deeper than MAX_DEPTH (outside quotes)."""
    depth, prefixes, index, quoted = 0, 0, 0, False
    stack: list[int] = []  # prefixes open when each parenthesis opened
    while index < len(source):
        char = source[index]
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char == "(":
            stack.append(prefixes)
            depth += 1
        elif char == ")":
            if stack:
                prefixes = stack.pop()
                depth -= 1
        elif char == "-" and (index == 0 or source[index - 1] in " \t\r\n(-"):
            prefixes += 1
        elif source.startswith("NOT", index) and (index == 0 or source[index - 1] in " \t\r\n(-"):
            prefixes += 1
            index += 2
        elif char not in " \t\r\n":
            # A term ends the prefixes that apply to it; the next term starts afresh at this depth.
            while index + 1 < len(source) and source[index + 1] not in ' \t\r\n()"':
                index += 1
            prefixes = stack[-1] if stack else 0
        if depth + prefixes > MAX_DEPTH:
            line, column = _position(source, index)
            return CatalogQuerySyntaxError(f"the query nests deeper than {MAX_DEPTH} levels", line, column)
        index += 1
    return None


_EXPECTED = "a key:value term, NOT, '-' or '('"


def _syntax_error(exc: UnexpectedInput, source: str) -> CatalogQuerySyntaxError:
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        lines = source.splitlines() or [""]
        accepts = set(getattr(exc, "accepts", None) or getattr(exc, "expected", None) or ())
        if "WORD" in accepts:
            wanted = "a value after the colon"
        elif "RPAR" in accepts and "KEY" not in accepts:
            wanted = "')'"
        elif "RPAR" in accepts:
            wanted = "another term or ')'"
        else:
            wanted = _EXPECTED
        return CatalogQuerySyntaxError(f"the query ends too early; expected {wanted}", len(lines), len(lines[-1]) + 1)
    line, column = getattr(exc, "line", 1), getattr(exc, "column", 1)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "KEY" and "WORD" in exc.accepts:
            return CatalogQuerySyntaxError(f"a value must follow the colon, not {str(token)!r}", line, column)
        if token.type in ("WORD", "QUOTED"):
            return CatalogQuerySyntaxError(f"{str(token)!r} is not a key:value term", line, column)
        if token.type == "RPAR":
            return CatalogQuerySyntaxError(f"unexpected ')'; expected {_EXPECTED}", line, column)
        return CatalogQuerySyntaxError(f"unexpected {str(token)!r}; expected {_EXPECTED}", line, column)
    if isinstance(exc, UnexpectedCharacters):
        if exc.char == '"':
            return CatalogQuerySyntaxError("this quoted value is never closed", line, column)
        word = re.match(r'[^\s()"]+', source[exc.pos_in_stream :])
        if word and ":" not in word.group(0):
            return CatalogQuerySyntaxError(f"{word.group(0)!r} is not a key:value term", line, column)
        if word and word.group(0).startswith(":"):
            return CatalogQuerySyntaxError("a key must come before ':'", line, column)
        return CatalogQuerySyntaxError(f"unexpected character {exc.char!r}; expected {_EXPECTED}", line, column)
    return CatalogQuerySyntaxError(str(exc), line, column)


@lru_cache(maxsize=1024)
def compile_catalog_query(source: str) -> CatalogQuery:
    """Parse and compile `source`; raises CatalogQuerySyntaxError with line and column. Cached by source."""
    if not isinstance(source, str) or not source.strip():
        raise CatalogQuerySyntaxError("the query is empty", 1, 1)
    if len(source) > MAX_LENGTH:
        line, column = _position(source, MAX_LENGTH)
        raise CatalogQuerySyntaxError(f"the query is longer than {MAX_LENGTH} characters", line, column)
    if (deep := _depth_error(source)) is not None:
        raise deep
    try:
        tree = _parser().parse(source)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    return CatalogQuery(source=source, fn=_compile(tree))


_LOOKS_LIKE = re.compile(r"^[\s(]*(?:(?:NOT\s+|-)[\s(]*)*[A-Za-z_][A-Za-z0-9_.]*:(?![:=])")


def looks_like_catalog_query(source: str) -> bool:
    """Whether `source` starts as a catalog query does (a `key:` term, maybe after `(`, NOT or `-`): for
    choosing which language's error to report when neither parses."""
    return bool(_LOOKS_LIKE.match(source))
