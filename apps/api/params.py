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


@overload
def query_int(request, name: str, *, default: int, low: int, high: int | None = None) -> int: ...
@overload
def query_int(request, name: str, *, default: int | None, low: int, high: int | None = None) -> int | None: ...
def query_int(request, name: str, *, default: int | None, low: int, high: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise exceptions.ValidationError({name: f"must be a whole number, not {raw!r}"}) from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"{low} or more"
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
