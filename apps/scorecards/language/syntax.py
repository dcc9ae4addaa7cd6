"""The lark parser for `grammar.lark`, and the messages for source it cannot parse."""

from __future__ import annotations

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
