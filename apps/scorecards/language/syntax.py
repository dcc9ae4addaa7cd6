"""The lark parser for `grammar.lark`, and the messages for source it cannot parse."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .nodes import RuleSyntaxError

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
    "IN": "'in'",
    "$END": "the end of the expression",
}


def _describe_expected(exc: UnexpectedInput) -> str:
    # `accepts` is exact for this parser state; `expected` may list tokens of merged LALR states.
    expected = getattr(exc, "accepts", None) or getattr(exc, "expected", None) or ()
    if "NAME" in expected:
        expected = set(expected) - {"IN"}  # only after a dot, where `in` is one more name
    names = sorted({_TOKEN_NAMES.get(name, name.lower()) for name in expected})
    if len(names) > 6:
        return ""
    return "; expected " + ", ".join(names)


# Strings, comments, or an opening `/*` with no `*/` after it: used only to explain a parse error.
_COMMENT_SCAN = re.compile(r"""("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|//[^\n]*|/\*.*?\*/|(/\*)""", re.S)


def _comment_error(source: str) -> RuleSyntaxError | None:
    """An unclosed `/*`, or a source that is only comments, explained better than the parser can."""
    for match in _COMMENT_SCAN.finditer(source):
        if match.group(2):
            line = source.count("\n", 0, match.start()) + 1
            column = match.start() - (source.rfind("\n", 0, match.start()) + 1) + 1
            return RuleSyntaxError("this comment is never closed with */", line, column)
    rest, last = [], 0
    for match in _COMMENT_SCAN.finditer(source):
        if not match.group(1):
            rest.append(source[last : match.start()])
            last = match.end()
    rest.append(source[last:])
    if not "".join(rest).strip():
        return RuleSyntaxError("the expression is empty (it has only comments)", 1, 1)
    return None


def _syntax_error(exc: UnexpectedInput, source: str) -> RuleSyntaxError:
    if (commented := _comment_error(source)) is not None:
        return commented
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
