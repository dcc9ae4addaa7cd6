"""Reads of scorecard definitions shaped for the Datadog-style API (one query per page, whatever its size)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from apps.scorecards.models import Rule, Scorecard


def _uuids(values: Iterable[str]) -> list[uuid.UUID]:
    """The values that are UUIDs; anything else cannot name a rule, so it matches nothing."""
    result = []
    for value in values:
        try:
            result.append(uuid.UUID(value.strip()))
        except ValueError:
            continue
    return result


def rule_list(
    *,
    user,
    ids: list[str] | None = None,
    enabled: bool | None = None,
    custom: bool | None = None,
    name: str | None = None,
    description: str | None = None,
) -> QuerySet[Rule]:
    """Rules of the scorecards `user` may see (drafts only for editors), scorecard and level joined.

    `ids` are rule identifiers (non-UUIDs match nothing); `custom` means "no expression" (outcomes are
    pushed); `name` and `description` match case-insensitive substrings. Ordered stably for paging.
    """
    rules = Rule.objects.filter(scorecard__in=Scorecard.objects.visible_to(user)).select_related("scorecard", "level")
    if ids is not None:
        rules = rules.filter(identifier__in=_uuids(ids))
    if enabled is not None:
        rules = rules.filter(enabled=enabled)
    if custom is True:
        rules = rules.filter(expression="")
    elif custom is False:
        rules = rules.exclude(expression="")
    if name:
        rules = rules.filter(title__icontains=name)
    if description:
        rules = rules.filter(description__icontains=description)
    return rules.order_by("scorecard__name", "scorecard_id", "position", "id")


def scorecard_list(
    *, user, tags: list[str] | None = None, name: str | None = None, description: str | None = None
) -> QuerySet[Scorecard]:
    """Scorecards `user` may see; `tags` exact (the Datadog id), `name` / `description` partial, case-insensitive."""
    scorecards = Scorecard.objects.visible_to(user)
    if tags is not None:
        scorecards = scorecards.filter(tag__in=tags)
    if name:
        scorecards = scorecards.filter(name__icontains=name)
    if description:
        scorecards = scorecards.filter(Q(description__icontains=description))
    return scorecards.order_by("name", "id")
