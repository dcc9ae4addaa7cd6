"""The announcement a rule makes when it moves to another scorecard: "rows about this rule now belong there".

A rule's stored results (apps.evaluations) and exemptions (apps.exemptions) name its scorecard as well as the
rule. The scorecards app moves the rule but may not import those apps (STYLE §1), so its service calls
`rule_moved(...)` and each of them registers a listener (in its AppConfig.ready) that re-points its rows.
Unlike score_inputs_changed, listeners run at once, inside the mover's transaction: the rows move together
with the rule or not at all. Grep for `rule_moved(` to find every writer.
"""

from __future__ import annotations

from collections.abc import Callable

Listener = Callable[..., object]  # what a listener returns (a count of rows moved, say) is not used

_listeners: list[Listener] = []


def listen(listener: Listener) -> Listener:
    """Register `listener(*, rule_id, from_scorecard_id, to_scorecard_id)` (once)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def rule_moved(*, rule_id: int, from_scorecard_id: int, to_scorecard_id: int) -> None:
    """Tell every listener, now, in the caller's transaction."""
    for listener in _listeners:
        listener(rule_id=rule_id, from_scorecard_id=from_scorecard_id, to_scorecard_id=to_scorecard_id)
