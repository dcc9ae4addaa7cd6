"""Reads for campaign pages and the Datadog-style API, each in a fixed number of queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.campaigns.models import Campaign, CampaignSnapshot, CampaignStatus, OwnerRef
from apps.catalog.models import EntityOwner, OwnerKind
from apps.core.errors import NotFoundError, Problem, ValidationFailed
from apps.evaluations.models import RuleResult, RuleState
from apps.evaluations.selectors import entity_facts_bulk
from apps.scorecards.language import RuleRuntimeError, RuleSyntaxError, compile_expression

# An entity satisfies a rule when its result is one of these (DESIGN §6: exempt and skip count as met).
SATISFIED = (RuleState.PASS, RuleState.EXEMPT, RuleState.SKIP)
NO_TEAM = ""


def parse_uuid(value: str, *, path: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise ValidationFailed(problems=[Problem(f"{value!r} is not a UUID", path=path)]) from None


def owner_get_by_uuid(value: str, *, path: str = "owner_id") -> User:
    """The user an owner UUID names (see OwnerRef). An unknown UUID is a validation problem at `path`."""
    parsed = parse_uuid(value, path=path)
    ref = OwnerRef.objects.select_related("user").filter(uuid=parsed).first()
    if ref is None:
        raise ValidationFailed(problems=[Problem(f"no user has the owner UUID {parsed}", path=path)])
    return ref.user


def campaign_list(*, name: str = "", status: str = "", owner: str = "") -> QuerySet[Campaign]:
    """Campaigns filtered as `filter[campaign][...]` asks. `name` is a word search: every word must occur in the
    name (case-insensitive, partial words match). `owner` is an owner UUID. Bad values raise ValidationFailed."""
    queryset = Campaign.objects.for_api()
    for word in name.split():
        queryset = queryset.filter(name__icontains=word)
    if status:
        if status not in CampaignStatus.values:
            allowed = ", ".join(CampaignStatus.values)
            raise ValidationFailed(problems=[Problem(f"must be one of {allowed}, not {status!r}", path="status")])
        queryset = queryset.filter(status=status)
    if owner:
        queryset = queryset.filter(owner__owner_ref__uuid=parse_uuid(owner, path="owner"))
    return queryset.order_by("created_at", "id")


def campaign_get(*, id_or_key: str) -> Campaign:
    """By UUID id or by key (Datadog accepts both in the path). Raises NotFoundError."""
    condition = Q(key=id_or_key)
    try:
        condition |= Q(id=uuid.UUID(id_or_key))
    except ValueError:
        pass
    campaign = Campaign.objects.for_api().filter(condition).first()
    if campaign is None:
        raise NotFoundError(f"campaign not found: {id_or_key}")
    return campaign


def scope_problems(entity_scope: str) -> list[Problem]:
    """A non-empty scope must compile as a rule-language expression; problems name the line and column."""
    if not entity_scope.strip():
        return []
    try:
        compile_expression(entity_scope.strip())
    except RuleSyntaxError as exc:
        return [Problem(exc.message, path="entity_scope", line=exc.line, column=exc.column)]
    return []


# --- progress --------------------------------------------------------------------------------------


@dataclass
class EntityProgress:
    entity_id: int
    tag: str
    name: str
    team: str
    rules_total: int
    rules_failing: int
    action_items: list[RuleResult] = field(default_factory=list)

    @property
    def passing(self) -> bool:
        return self.rules_failing == 0


@dataclass
class TeamProgress:
    team: str
    total: int = 0
    passing: int = 0

    @property
    def fraction(self) -> float:
        return self.passing / self.total if self.total else 0.0


@dataclass
class CampaignProgress:
    total: int
    passing: int
    teams: list[TeamProgress]
    entities: list[EntityProgress]

    @property
    def fraction(self) -> float:
        return self.passing / self.total if self.total else 0.0


def campaign_progress(
    *, campaign: Campaign, now: datetime | None = None, refresh_scope: bool = False
) -> CampaignProgress:
    """Entities in scope and how many pass every campaign rule, overall and per team.

    In scope: an active entity with a stored result for at least one enabled campaign rule (so at least one of the
    rules applies to it) that matches `entity_scope`. It passes when each of those results is pass, exempt or skip.
    Team = the entity's first team owner by tag ("" for none). Queries: 4, plus 6 to load facts when a scope is
    set and its membership is not cached (see `scope_members`), whatever the number of entities.
    """
    rule_ids = list(campaign.rules.filter(enabled=True).values_list("id", flat=True))
    # Grouped on the integer entity id alone (labels as MAX) so PostgreSQL hashes ints, not strings.
    rows = (
        RuleResult.objects.filter(rule_id__in=rule_ids, entity__archived=False)
        .values("entity_id")
        .annotate(
            tag=Max("entity__tag"),
            name=Max("entity__name"),
            rules_total=Count("id"),
            rules_failing=Count("id", filter=~Q(state__in=SATISFIED)),
        )
        .order_by("tag")
    )
    entities = [
        EntityProgress(
            entity_id=row["entity_id"],
            tag=row["tag"],
            name=row["name"],
            team=NO_TEAM,
            rules_total=row["rules_total"],
            rules_failing=row["rules_failing"],
        )  # fmt: skip
        for row in rows
    ]
    if campaign.entity_scope.strip() and entities:
        members = scope_members(
            campaign=campaign,
            entity_ids=[e.entity_id for e in entities],
            now=now or timezone.now(),
            refresh=refresh_scope,
        )
        entities = [e for e in entities if e.entity_id in members]
    first_teams = _first_teams() if entities else {}
    teams: dict[str, TeamProgress] = {}
    for item in entities:
        item.team = first_teams.get(item.entity_id, NO_TEAM)
        team = teams.setdefault(item.team, TeamProgress(team=item.team))
        team.total += 1
        team.passing += item.passing
    ordered = sorted(teams.values(), key=lambda t: (t.team == NO_TEAM, t.team))
    return CampaignProgress(
        total=len(entities), passing=sum(e.passing for e in entities), teams=ordered, entities=entities
    )


def _first_teams() -> dict[int, str]:
    """Active entity id -> first team owner by tag, in one query over the team owners (a correlated subquery per
    result row, or a semi-join back to the results, costs far more at 10,000 entities)."""
    teams: dict[int, str] = {}
    for entity_id, name in (
        EntityOwner.objects.filter(kind=OwnerKind.GROUP, entity__archived=False)
        .order_by("entity_id", "name")
        .values_list("entity_id", "name")
    ):
        teams.setdefault(entity_id, name)
    return teams


def _scope_key(campaign: Campaign) -> str:
    # Editing the campaign (its scope included) changes modified_at, so an edit never reads old membership.
    return f"campaign-scope:{campaign.pk}:{campaign.modified_at.timestamp()}"


def _matching(entity_scope: str, entity_ids: list[int], *, now: datetime) -> set[int]:
    try:
        query = compile_expression(entity_scope.strip())
    except RuleSyntaxError:
        return set()  # services refuse such scopes; an old row with one matches nothing rather than everything
    facts = entity_facts_bulk(entity_ids, now=now)
    matched = set()
    for entity_id in entity_ids:
        ctx = facts.get(entity_id)
        try:
            if ctx is not None and query.check(ctx):
                matched.add(entity_id)
        except RuleRuntimeError:
            continue  # a scope that fails on an entity leaves it out, as a scorecard filter does
    return matched


def scope_members(*, campaign: Campaign, entity_ids: list[int], now: datetime, refresh: bool = False) -> set[int]:
    """Which of `entity_ids` match the campaign's scope.

    The scope is a rule-language expression run over each entity's facts in Python, about a second for
    10,000 entities, so the answer is cached (CAMPAIGN_SCOPE_CACHE_SECONDS) and kept warm by a periodic task
    (`refresh=True`); entities the cache has not seen yet are checked on the spot.
    """
    key = _scope_key(campaign)
    known = None if refresh else cache.get(key)
    inside, outside = (set(), set()) if known is None else known
    unseen = [i for i in entity_ids if i not in inside and i not in outside]
    if unseen:
        matched = _matching(campaign.entity_scope, unseen, now=now)
        inside |= matched
        outside |= set(unseen) - matched
        cache.set(key, (inside, outside), settings.CAMPAIGN_SCOPE_CACHE_SECONDS)
    return {i for i in entity_ids if i in inside}


def action_items_attach(*, campaign: Campaign, entities: list[EntityProgress]) -> None:
    """Fill `action_items` (the failing results of campaign rules, rule and scorecard joined) in one query."""
    by_id = {e.entity_id: e for e in entities}
    if not by_id:
        return
    results = (
        RuleResult.objects.filter(rule__campaigns=campaign, rule__enabled=True, entity_id__in=list(by_id))
        .exclude(state__in=SATISFIED)
        .select_related("rule__scorecard")
        .order_by("entity_id", "rule__scorecard__name", "rule__position", "rule_id")
    )
    for result in results:
        by_id[result.entity_id].action_items.append(result)


@dataclass
class HistoryPoint:
    day: date
    total: int
    passing: int
    live: bool = False

    @property
    def fraction(self) -> float:
        return self.passing / self.total if self.total else 0.0


def campaign_history(*, campaign: Campaign, today: CampaignProgress, days: int = 90) -> list[HistoryPoint]:
    """Daily points from recorded snapshots (one query), with today's live figure replacing today's snapshot."""
    now = timezone.now()
    start = (now - timedelta(days=days)).date()
    points = [
        HistoryPoint(day=s.day, total=s.entities_total, passing=s.entities_passing)
        for s in CampaignSnapshot.objects.filter(campaign=campaign, day__gte=start).order_by("day")
        if s.day != now.date()
    ]
    points.append(HistoryPoint(day=now.date(), total=today.total, passing=today.passing, live=True))
    return points


def campaigns_for_dashboard() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("owner").annotate(rules_total=Count("rules")).order_by("-created_at", "id")
