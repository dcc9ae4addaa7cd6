"""Data for the report tests, built through the services."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

from apps.catalog.services import entity_apply_descriptor
from apps.scorecards.services import scorecard_apply_descriptor

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

SCORECARD = textwrap.dedent(
    """\
    tag: readiness
    name: Readiness
    ladder:
      levels:
        - {name: Bronze, rank: 1, color: "#cd7f32"}
        - {name: Silver, rank: 2, color: "#c0c0c0"}
        - {name: Gold, rank: 3, color: "#cda400"}
    filter:
      types: {include: [service]}
    rules:
      - title: Has an owner
        expression: ownership.allOwners().length > 0
        weight: 1
        level: Bronze
        failureMessage: Add an owner
      - title: Tier set
        expression: custom("tier") != null
        weight: 1
        level: Silver
        failureMessage: Set a tier
      - title: Tier one
        expression: custom("tier") = 1
        weight: 2
        level: Gold
        failureMessage: Be tier one
    """
)

DRAFT = textwrap.dedent(
    """\
    tag: secret
    name: Secret
    draft: true
    ladder:
      levels:
        - {name: Basic, rank: 1}
    rules:
      - title: Always
        expression: "true"
        level: Basic
    """
)


def entity(tag: str, *, team: str | None = "team-a", tier: int | None = None, type_: str = "service"):
    owners = f"  x-cortex-owners: [{{type: group, name: {team}}}]\n" if team else ""
    custom = f"  x-cortex-custom-metadata:\n    tier: {tier}\n" if tier is not None else ""
    text = f"openapi: 3.0.1\ninfo:\n  title: {tag}\n  x-cortex-tag: {tag}\n  x-cortex-type: {type_}\n{owners}{custom}"
    return entity_apply_descriptor(text=text, source=tag)[0]


def scorecard(text: str = SCORECARD):
    return scorecard_apply_descriptor(text=text).scorecard
