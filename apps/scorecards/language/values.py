"""Runtime values and operators of the rule language.

Values are plain Python: None, bool, int/float, str, list, dict, datetime, timedelta and SemVer.
Every operator checks its operand types and raises RuleRuntimeError for a mismatch, so a bad rule
turns into that rule's `error` state instead of an exception escaping the evaluator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import isodate
import semver


class RuleRuntimeError(Exception):
    """A type error or a failing data source while evaluating one rule for one entity."""


class IntegrationNotConfigured(RuleRuntimeError):
    """The rule reads an integration this installation has not set up: its own outcome, not an error."""

    def __init__(self, integration: str, detail: str = "", *, message: str = "") -> None:
        self.integration = integration
        super().__init__(message or f"integration not configured: {integration}" + (f" ({detail})" if detail else ""))


@dataclass(slots=True)
class EntityFacts:
    """Everything an expression may read about one entity, loaded before evaluation.

    `facts` maps (source, key) to (value, error) as collected by the integrations; a missing key
    means the source was never collected for this entity. `configured` names the integrations this
    installation can reach (None: those with a collector); reading any other is `IntegrationNotConfigured`.
    `data` holds the catalog's event data by kind ("deploys", "custom_events", "custom_metrics", "dependencies_out",
    ...), loaded only for the kinds the rules read. `repository` is the entity's git URL ("" when none).
    `bindings` holds lambda parameters while a lambda runs.
    """

    tag: str
    name: str = ""
    type: str = "service"
    description: str = ""
    groups: tuple[str, ...] = ()
    owners: list[dict] = field(default_factory=list)
    links: list[dict] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    oncall: Any = None
    slos: list = field(default_factory=list)
    packages: list[dict] = field(default_factory=list)
    facts: dict[tuple[str, str], tuple[Any, str]] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    repository: str = ""
    descriptor: dict | None = None
    configured: frozenset[str] | None = None
    data: dict[str, list[dict]] = field(default_factory=dict)
    group_set: frozenset[str] = field(init=False)
    bindings: dict[int, Any] = field(init=False)
    steps: int = field(init=False)

    def __post_init__(self) -> None:
        self.group_set = frozenset(self.groups)
        self.bindings = {}
        self.steps = 0


class SemVer:
    """A semantic version, comparable with another SemVer or with a version string."""

    __slots__ = ("version", "text")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise RuleRuntimeError(f"semver() needs a string, got {type_name(text)}")
        cleaned = text.strip()
        if cleaned[:1] in ("v", "V"):
            cleaned = cleaned[1:]
        try:
            self.version = semver.Version.parse(cleaned, optional_minor_and_patch=True)
        except (ValueError, TypeError) as exc:
            raise RuleRuntimeError(f"{text!r} is not a semantic version") from exc
        self.text = text

    def __repr__(self) -> str:
        return f"semver({self.text!r})"

    def __str__(self) -> str:
        return str(self.version)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, timedelta):
        return "duration"
    if isinstance(value, SemVer):
        return "semver"
    return type(value).__name__


def sort_key(value: Any) -> Any:
    """Order for min/max/sort: numbers, strings, date-times, durations and semvers among their own kind."""
    if isinstance(value, SemVer):
        return value.version
    if isinstance(value, bool) or not isinstance(value, int | float | str | datetime | timedelta):
        raise TypeError(type_name(value))
    return value


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_datetime(text: str) -> datetime:
    try:
        value = isodate.parse_datetime(text) if "T" in text else datetime.fromisoformat(text)
    except (ValueError, isodate.ISO8601Error) as exc:
        raise RuleRuntimeError(f"{text!r} is not an ISO-8601 date-time") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_duration(text: Any) -> timedelta:
    """ISO-8601 duration; a month counts as 30 days and a year as 365, so durations stay comparable."""
    if not isinstance(text, str):
        raise RuleRuntimeError(f"duration() needs a string, got {type_name(text)}")
    sign, body = 1, text.strip()
    if body[:1] in "+-" and body[1:2] in ("P", "p"):
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if "-" in body[1:] and re.fullmatch(r"[Pp](T?-\d+(\.\d+)?[A-Za-z])+", body.replace("T-", "-T").replace("-T", "T-")):
        # Java's Duration.parse (and so Cortex) takes "P-90D": every part negative is the negated duration.
        sign, body = -sign, body.replace("-", "")
    try:
        value = isodate.parse_duration(body)
        if isinstance(value, isodate.Duration):
            days = float(value.years) * 365 + float(value.months) * 30
            value = value.tdelta + timedelta(days=days)
        value = value * sign if sign < 0 else value
    except (ValueError, OverflowError, isodate.ISO8601Error) as exc:
        raise RuleRuntimeError(f"{text!r} is not an ISO-8601 duration such as P7D or PT12H") from exc
    return value


def _coerce_pair(a: Any, b: Any) -> tuple[Any, Any]:
    """Strings meet semvers and datetimes on their terms, so `semver(x) >= "1.2.0"` reads naturally."""
    if isinstance(a, SemVer) and isinstance(b, str):
        return a, SemVer(b)
    if isinstance(b, SemVer) and isinstance(a, str):
        return SemVer(a), b
    if isinstance(a, datetime) and isinstance(b, str):
        return a, parse_datetime(b)
    if isinstance(b, datetime) and isinstance(a, str):
        return parse_datetime(a), b
    return a, b


def equals(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    a, b = _coerce_pair(a, b)
    if isinstance(a, SemVer) and isinstance(b, SemVer):
        return a.version.compare(b.version) == 0
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(equals(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def order(op: str, a: Any, b: Any) -> bool:
    """`<`, `<=`, `>`, `>=`. Null on either side is simply false; mixed types are an error."""
    if a is None or b is None:
        return False
    if is_number(a) and is_number(b):
        pass
    else:
        a, b = _coerce_pair(a, b)
        if isinstance(a, SemVer) and isinstance(b, SemVer):
            a, b = a.version.compare(b.version), 0
        elif not (
            (isinstance(a, str) and isinstance(b, str))
            or (isinstance(a, datetime) and isinstance(b, datetime))
            or (isinstance(a, timedelta) and isinstance(b, timedelta))
        ):
            raise RuleRuntimeError(f"cannot compare {type_name(a)} with {type_name(b)} using {op}")
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def truth(value: Any, what: str) -> bool:
    """Operands of and/or/not are booleans; null counts as false (missing data fails, it is no error)."""
    if value is True or value is False:
        return value
    if value is None:
        return False
    raise RuleRuntimeError(f"{what} needs true or false, got {type_name(value)}")


def add(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        return a + b
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if isinstance(a, datetime | timedelta) and isinstance(b, timedelta):
        return a + b
    if isinstance(a, timedelta) and isinstance(b, datetime):
        return b + a
    raise RuleRuntimeError(f"cannot add {type_name(a)} and {type_name(b)}")


def sub(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        return a - b
    if isinstance(a, datetime) and isinstance(b, datetime | timedelta):
        return a - b
    if isinstance(a, timedelta) and isinstance(b, timedelta):
        return a - b
    raise RuleRuntimeError(f"cannot subtract {type_name(b)} from {type_name(a)}")


def mul(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        return a * b
    if isinstance(a, timedelta) and is_number(b):
        return a * b
    if is_number(a) and isinstance(b, timedelta):
        return b * a
    raise RuleRuntimeError(f"cannot multiply {type_name(a)} by {type_name(b)}")


def div(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if (is_number(a) or isinstance(a, timedelta)) and is_number(b):
        if b == 0:
            raise RuleRuntimeError("division by zero")
        return a / b
    if isinstance(a, timedelta) and isinstance(b, timedelta):
        if not b:
            raise RuleRuntimeError("division by zero")
        return a / b
    raise RuleRuntimeError(f"cannot divide {type_name(a)} by {type_name(b)}")


def neg(a: Any) -> Any:
    if a is None:
        return None
    if is_number(a) or isinstance(a, timedelta):
        return -a
    raise RuleRuntimeError(f"cannot negate {type_name(a)}")


def length(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str | list | tuple | dict):
        return len(value)
    raise RuleRuntimeError(f"{type_name(value)} has no length")


def contains(container: Any, item: Any) -> Any:
    if container is None:
        return None
    if isinstance(container, str):
        if not isinstance(item, str):
            raise RuleRuntimeError(f"string.contains() needs a string, got {type_name(item)}")
        return item in container
    if isinstance(container, list | tuple):
        return any(equals(element, item) for element in container)
    if isinstance(container, dict):
        if item is not None and not isinstance(item, str | int | float):
            raise RuleRuntimeError(f"object.contains() needs a key, got {type_name(item)}")
        return item in container
    raise RuleRuntimeError(f"{type_name(container)} has no contains()")


def member_of(item: Any, container: Any) -> Any:
    """`item in container`: `container.contains(item)`, but a null on either side gives null."""
    if container is None or (item is None and isinstance(container, str)):
        return None
    if isinstance(container, str) and not isinstance(item, str):
        raise RuleRuntimeError(f"'in' a string needs a string on its left, got {type_name(item)}")
    if not isinstance(container, str | list | tuple | dict):
        raise RuleRuntimeError(f"'in' needs a list, string or object on its right, got {type_name(container)}")
    return contains(container, item)


def regex_matches(value: Any, pattern) -> Any:
    """Java's String.matches semantics: the whole string must match."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RuleRuntimeError(f"matches() works on strings, got {type_name(value)}")
    return pattern.fullmatch(value) is not None


def string_affix(value: Any, affix: Any, name: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or not isinstance(affix, str):
        raise RuleRuntimeError(f"{name}() works on strings, got {type_name(value)} and {type_name(affix)}")
    return value.startswith(affix) if name == "startsWith" else value.endswith(affix)


def member(value: Any, name: str) -> Any:
    """`.x`: a field of an object, `.length`, or a part of a semver; null stays null."""
    if value is None:
        return None
    if name == "length" and not isinstance(value, dict):
        return length(value)
    if isinstance(value, dict):
        if name == "length" and "length" not in value:
            return len(value)
        return value.get(name)
    if isinstance(value, SemVer) and name in ("major", "minor", "patch", "prerelease", "build"):
        return getattr(value.version, name)
    raise RuleRuntimeError(f"{type_name(value)} has no field {name!r}")
