"""Real concurrency for race tests: each call runs in its own thread (so on its own database connection), and all
are released at once through a barrier, so they overlap as much as the code under test lets them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error: BaseException | None = None

    @property
    def kind(self) -> str:
        return "ok" if self.error is None else type(self.error).__name__


def race(*calls: Callable[[], Any], timeout: float = 60) -> list[Outcome]:
    """Run the calls at the same moment, one thread each; their outcomes in the calls' order."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Outcome | None] = [None] * len(calls)

    def run(slot: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=timeout)
            outcomes[slot] = Outcome(value=call())
        except BaseException as exc:  # noqa: BLE001 - reported to the test, which asserts on it
            outcomes[slot] = Outcome(error=exc)
        finally:
            connections.close_all()  # this thread's own connections

    threads = [threading.Thread(target=run, args=(slot, call)) for slot, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racer did not finish"
    return [outcome for outcome in outcomes if outcome is not None]


def race_same(call: Callable[[], Any], count: int) -> list[Outcome]:
    """`count` threads making the same call at once."""
    return race(*([call] * count))
