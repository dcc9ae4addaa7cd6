"""Reads of scorecard definitions shaped for the Datadog-style API (one query per page, whatever its size)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from apps.core.errors import ApplicationError
from apps.scorecards.models import Rule, Scorecard


class AmbiguousRuleError(ApplicationError):
    """A rule identifier given alone (without its scorecard) names rules of several scorecards.

    Identifiers are unique per scorecard only (Cortex lets scorecards share one), so an API that takes
    a bare rule id resolves it when exactly one rule has it and refuses it (409) otherwise, naming the
    scorecards, rather than guessing.
    """

    def __init__(self, shared: dict[str, list[str]]) -> None:
        details = "; ".join(f"rule id {i} is in scorecards {', '.join(tags)}" for i, tags in sorted(shared.items()))
        super().__init__(f"ambiguous rule id: {details}; address the rule through its scorecard", code="conflict")
        self.shared = shared


def rules_by_identifiers(
    identifiers: Iterable[uuid.UUID], *, queryset: QuerySet[Rule] | None = None
) -> dict[str, Rule]:
    """The rules named by bare identifiers, keyed by `str(identifier)`; unknown ones are left out.

    Raises AmbiguousRuleError when an identifier belongs to rules of more than one scorecard.
    `queryset` lets a caller lock or narrow the rows (e.g. `Rule.objects.select_for_update()`).
    """
    wanted = list(identifiers)
    if not wanted:
        return {}
    rows = (queryset if queryset is not None else Rule.objects.all()).filter(identifier__in=wanted)
    found: dict[str, Rule] = {}
    shared: dict[str, list[str]] = {}
    for rule in rows.select_related("scorecard").order_by("scorecard__tag"):
        key = str(rule.identifier)
        if key in found:
            shared.setdefault(key, [found[key].scorecard.tag]).append(rule.scorecard.tag)
        else:
            found[key] = rule
    if shared:
        raise AmbiguousRuleError(shared)
    return found


def rule_by_identifier(identifier: uuid.UUID, *, queryset: QuerySet[Rule] | None = None) -> Rule | None:
    """The one rule with this identifier, None when there is none; AmbiguousRuleError when several."""
    return rules_by_identifiers([identifier], queryset=queryset).get(str(identifier))


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
