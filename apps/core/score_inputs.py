"""The one announcement every writer of a score's inputs makes: "these inputs changed, re-score".

Catalog, scorecards, exemptions and the evaluation app's own outcome store change what scores are
computed from. None of them may import the evaluation app (dependencies point one way, STYLE §1), so
each calls `score_inputs_changed(...)` from its service, and `apps.evaluations` registers the one
listener (in its AppConfig.ready) that re-scores the affected (entity, scorecard) pairs on the workers.
Grep for `score_inputs_changed(` to find every writer.

The announcement is delivered after the surrounding transaction commits, so the listener never sees
(or enqueues work for) rows that a rollback takes back, and a worker never reads data older than the
write. Merging many announcements into a few tasks is the listener's business, not the writers'.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreInputsChange:
    """What changed. `entity_ids` None means every entity; `scorecard_ids` None means every published scorecard.

    `rerun` False says only exemptions changed: stored rule results stay right, and re-applying
    exemptions to them is enough (DESIGN §7); no expression needs to run again.
    """

    entity_ids: frozenset[int] | None
    scorecard_ids: frozenset[int] | None
    why: str
    rerun: bool = True


Listener = Callable[[list[ScoreInputsChange]], None]

_listeners: list[Listener] = []


def listen(listener: Listener) -> Listener:
    """Register a listener (once; registering the same function again is a no-op)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


_batching = threading.local()


@contextmanager
def score_inputs_batch() -> Iterator[None]:
    """Collect the announcements made in the block and deliver them as one, after the commit that follows
    the block (at once when no transaction is open): for work that commits many small transactions in a
    row (importing a folder of descriptors), so the listener sees one change set.

    A change announced by a transaction that then rolled back is delivered too: re-scoring an entity
    whose inputs did not change is harmless, losing one that did is not. Nested blocks join the outermost.
    """
    if getattr(_batching, "changes", None) is not None:
        yield
        return
    _batching.changes = []
    try:
        yield
    finally:
        changes, _batching.changes = _batching.changes, None
        if changes:
            transaction.on_commit(lambda: _deliver(changes), robust=True)


def _deliver(changes: list[ScoreInputsChange]) -> None:
    if not _listeners:
        logger.warning("score inputs changed (%s) but no listener is registered", changes[0].why)
    for listener in _listeners:
        listener(changes)


def score_inputs_changed(
    *,
    why: str,
    entity_ids: Iterable[int] | None = None,
    scorecard_ids: Iterable[int] | None = None,
    rerun: bool = True,
    using: str | None = None,
) -> None:
    """Announce, after commit, that the inputs of these entities' scores on these scorecards changed.

    Give entity ids, scorecard ids, or both: entities alone mean "on every published scorecard",
    scorecards alone "every entity on them". An empty collection announces nothing.
    """
    entities = None if entity_ids is None else frozenset(int(pk) for pk in entity_ids)
    scorecards = None if scorecard_ids is None else frozenset(int(pk) for pk in scorecard_ids)
    if entities == frozenset() or scorecards == frozenset():
        return
    change = ScoreInputsChange(entity_ids=entities, scorecard_ids=scorecards, why=why, rerun=rerun)
    held = getattr(_batching, "changes", None)
    if held is not None:
        held.append(change)
        return
    # Outside a transaction Django runs this at once; inside one, after the outermost commit, or never.
    # Robust: the write has committed by then, so a failing listener is logged rather than turned into a 500.
    transaction.on_commit(lambda: _deliver([change]), using=using, robust=True)
