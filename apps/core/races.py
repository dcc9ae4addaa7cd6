"""Creates that race: the database's unique constraints decide who wins, and the losers learn it here.

Checking that a key is free and then inserting it is a read-modify-write: two requests both see it free and
both insert, and the database refuses the second with an IntegrityError that would otherwise answer 500. So
services insert inside a savepoint and let the constraint arbitrate (`insert_or_lose_race`). A loser then does
what it would have done had it come second: an idempotent apply retries as an update (`retry_lost_races`), a
create reports a conflict (409).

Under PostgreSQL's READ COMMITTED the losing INSERT waits for the winner's transaction and fails only once it
has committed, so the loser's next statement sees the winner's row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, transaction

T = TypeVar("T")


class LostCreateRace(Exception):
    """Another transaction committed the row this one was inserting (the same unique key) first."""


def insert_or_lose_race(insert: Callable[[], T], *, exists: Callable[[], bool]) -> T:
    """Run `insert` in a savepoint. When the database refuses it and `exists()` then finds the row another
    transaction committed, raise LostCreateRace; any other refusal propagates as the IntegrityError it is.
    The savepoint keeps the caller's transaction usable either way."""
    try:
        with transaction.atomic():
            return insert()
    except IntegrityError:
        if exists():
            raise LostCreateRace from None
        raise


def retry_lost_races(attempt: Callable[[], T], *, attempts: int = 3) -> T:
    """Call `attempt` (an atomic create-or-update) again when it lost a create race: the row exists now, so
    the next attempt updates it, as it would have had it come second. A few attempts cover a row deleted and
    created again in between; past them the race is reported."""
    for _ in range(attempts - 1):
        try:
            return attempt()
        except LostCreateRace:
            continue
    return attempt()
