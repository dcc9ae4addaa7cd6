"""Query parameters and dates as both APIs read and write them; a bad value is a 400 naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from rest_framework import exceptions

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


def query_bool(request, name: str, default: bool | None = None) -> bool | None:
    """`true`/`false` as the SDK sends them, Python's `True`/`False` as the CLI does, or 1/0."""
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise exceptions.ValidationError({name: f"must be true or false, not {raw!r}"})


def query_list(request, name: str) -> list[str] | None:
    """A comma-separated parameter (repeats are joined) as a list; None when absent or empty."""
    values = [part.strip() for raw in request.query_params.getlist(name) for part in raw.split(",") if part.strip()]
    return values or None


# The largest whole number a query parameter may hold: PostgreSQL's bigint, so a page or offset past it (which
# could reach no row, and whose SQL OFFSET the database would refuse) is a 400, not a 500.
MAX_QUERY_INT = 2**63 - 1


def _shown(raw: str) -> str:
    """A parameter's value as a message quotes it: a 5,000-digit number is not echoed back whole."""
    return repr(raw) if len(raw) <= 40 else repr(raw[:40]) + f" ({len(raw):,} characters)"


@overload
def query_int(request, name: str, *, default: int, low: int, high: int | None = None) -> int: ...
@overload
def query_int(request, name: str, *, default: int | None, low: int, high: int | None = None) -> int | None: ...
def query_int(request, name: str, *, default: int | None, low: int, high: int | None = None) -> int | None:
    """A whole number from `low` to `high` (at most MAX_QUERY_INT), or `default` when absent; anything else,
    negative or past 64 bits included, is a 400 naming the parameter."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    top = MAX_QUERY_INT if high is None else min(high, MAX_QUERY_INT)
    bounds = f"between {low} and {high}" if high is not None else f"{low} or more, at most {top}"
    digits = raw.strip().lstrip("+-")
    if digits.isdecimal() and len(digits.lstrip("0")) > len(str(MAX_QUERY_INT)):
        # Past 64 bits whatever its value (and int() refuses more than 4,300 digits): no need to read it.
        raise exceptions.ValidationError({name: f"must be {bounds}, not {_shown(raw)}"})
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: f"must be a whole number, not {_shown(raw)}"}) from None
    if value < low or value > top:
        raise exceptions.ValidationError({name: f"must be {bounds}, not {value}"})
    return value


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC with milliseconds and `Z`: how Cortex writes dates, and a full date-time for the SDK."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def query_datetime(request, name: str) -> datetime | None:
    """An ISO-8601 date-time (`2024-05-01T12:00:00`, with `Z` or an offset, or a date alone); one without a
    zone is UTC, as Cortex reads them. None when absent."""
    from django.utils.dateparse import parse_date, parse_datetime

    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = parse_datetime(raw)
        if value is None and (day := parse_date(raw)) is not None:
            value = datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError:
        value = None
    if value is None:
        raise exceptions.ValidationError({name: f"must be an ISO-8601 date-time, not {raw!r}"})
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
