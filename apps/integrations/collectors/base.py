"""What every collector shares: the result shape and the failure helpers."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from apps.catalog.models import Entity

# (value, error): an empty error means the value is good; this is the shape the rule evaluator reads.
FactResult = tuple[Any, str]


class SourceError(Exception):
    """The whole source failed for one entity; its message becomes the error of every requested key."""


class Collector(Protocol):
    """One outside source. Adding an integration is one class like this, listed in COLLECTORS: the rules
    that name its namespace already compile, and start reading its facts once `configured()` says so."""

    source: ClassVar[str]

    @classmethod
    def configured(cls) -> bool:
        """Whether this installation has what the source needs (a URL, a token); False gives rules the
        outcome "integration not configured"."""
        ...

    def collect(self, entity: Entity, keys: list[str]) -> dict[str, FactResult]:
        """Return a result for every key; never raise."""
        ...


def failed(keys: list[str], message: str) -> dict[str, FactResult]:
    return {key: (None, message) for key in keys}


def unknown_key(source: str, key: str) -> FactResult:
    return None, f"unknown {source} fact {key!r}"


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact_url(text: str) -> str:
    """Drop `user:token@` from every URL in `text`: error messages end up in the database and the UI."""
    return _USERINFO.sub("", text)
