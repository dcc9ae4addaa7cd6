"""Reads for campaign pages and the Datadog-style API, each in a fixed number of queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.campaigns.models import Campaign, CampaignSnapshot, CampaignStatus, OwnerRef
from apps.catalog.models import Entity, EntityOwner, OwnerKind
from apps.core.errors import NotFoundError, Problem, ValidationFailed
from apps.evaluations.models import RuleResult, RuleState
from apps.evaluations.selectors import entity_facts_bulk
from apps.scorecards.filters import compile_scope
from apps.scorecards.language import RuleRuntimeError, RuleSyntaxError

# An entity satisfies a rule when its result is one of these (DESIGN §6: exempt and skip count as met).
SATISFIED = (RuleState.PASS, RuleState.EXEMPT, RuleState.SKIP)
NO_TEAM = ""


def parse_uuid(value: str, *, path: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise ValidationFailed(problems=[Problem(f"{value!r} is not a UUID", path=path)]) from None


def owner_get_by_uuid(value: str, *, path: str = "owner_id") -> User | OwnerRef | None:
    """What an owner UUID names: the user whose `uuid` it is, else the external OwnerRef kept for it, else None
    (a UUID never seen: apps.campaigns.services.owner_for_uuid keeps it). A value that is no UUID is a
    validation problem at `path`."""
    parsed = parse_uuid(value, path=path)
    user = User.objects.filter(uuid=parsed).first()
    if user is not None:
        return user
    return OwnerRef.objects.select_related("user").filter(uuid=parsed).first()


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
        wanted = parse_uuid(owner, path="owner")
        queryset = queryset.filter(Q(owner_ref__uuid=wanted) | Q(owner_ref__isnull=True, owner__uuid=wanted))
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
    """A non-empty scope must compile as a catalog query (`kind:service AND team:platform`) or a rule-language
    expression (see apps.scorecards.filters.compile_scope); problems name the line and column."""
    if not entity_scope.strip():
        return []
    try:
        compile_scope(entity_scope)
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


# (entity id, tag, name, first team, rules total, rules failing): one entity's progress as a plain tuple. 10,000
# of them cost little to build and nothing to the garbage collector (tuples of strings and ints are untracked),
# unlike 10,000 EntityProgress objects, each of which would survive into the oldest generation.
ProgressRow = tuple[int, str, str, str, int, int]
# Final, so that mypy types row[ROW_TEAM] as str, not int | str.
ROW_ENTITY: Final = 0
ROW_TEAM: Final = 3
ROW_FAILING: Final = 5


def campaign_progress(
    *, campaign: Campaign, now: datetime | None = None, refresh_scope: bool = False
) -> CampaignProgress:
    """Entities in scope and how many pass every campaign rule, overall and per team.

    In scope: an active entity with a stored result for at least one enabled campaign rule (so at least one of the
    rules applies to it) that matches `entity_scope`. It passes when each of those results is pass, exempt or skip.
    Team = the entity's first team owner by tag ("" for none). Queries: 2, plus 6 to load facts when a scope is
    set and its membership is not cached (see `scope_members`), whatever the number of entities.
    """
    rows = campaign_progress_rows(campaign=campaign, now=now, refresh_scope=refresh_scope)
    progress = progress_summary(rows)
    progress.entities = entity_progress(rows)
    return progress


def campaign_progress_rows(
    *, campaign: Campaign, now: datetime | None = None, refresh_scope: bool = False
) -> list[ProgressRow]:
    """The in-scope entities of `campaign_progress` as ProgressRow tuples, ordered by tag (same queries)."""
    rule_ids = list(campaign.rules.filter(enabled=True).values_list("id", flat=True))
    rows = _progress_rows(rule_ids)
    if campaign.entity_scope.strip() and rows:
        members = scope_members(
            campaign=campaign,
            entity_ids=[row[ROW_ENTITY] for row in rows],
            now=now or timezone.now(),
            refresh=refresh_scope,
        )
        rows = [row for row in rows if row[ROW_ENTITY] in members]
    return rows


def progress_summary(rows: list[ProgressRow]) -> CampaignProgress:
    """Totals and per-team counts of `rows`, teamless last; `entities` is left empty (see `entity_progress`)."""
    teams: dict[str, TeamProgress] = {}
    passing = 0
    for row in rows:
        team = teams.get(row[ROW_TEAM])
        if team is None:
            team = teams[row[ROW_TEAM]] = TeamProgress(team=row[ROW_TEAM])
        team.total += 1
        if not row[ROW_FAILING]:
            team.passing += 1
            passing += 1
    ordered = sorted(teams.values(), key=lambda t: (t.team == NO_TEAM, t.team))
    return CampaignProgress(total=len(rows), passing=passing, teams=ordered, entities=[])


def entity_progress(rows: list[ProgressRow]) -> list[EntityProgress]:
    return [EntityProgress(*row) for row in rows]


def _progress_rows(rule_ids: list[int]) -> list[ProgressRow]:
    """(entity id, tag, name, first team, rules total, rules failing) per active entity with a result for one of
    `rule_ids`, ordered by tag, in one query.

    The results are grouped on the integer entity id alone, archived entities left out with `NOT IN (small
    subquery)` (hashed) instead of a join to every result; the labels and the first team owner (lowest tag, as
    ORDER BY name would give) are joined to the ~10,000 groups afterwards, not to the ~100,000 results.
    """
    if not rule_ids:
        return []
    results = (
        RuleResult.objects.filter(rule_id__in=rule_ids)
        .exclude(entity_id__in=Entity.objects.filter(archived=True).values("id"))
        .values("entity_id")
        .annotate(rules_total=Count("id"), rules_failing=Count("id", filter=~Q(state__in=SATISFIED)))
        .order_by()
    )
    first_teams = (
        EntityOwner.objects.filter(kind=OwnerKind.GROUP).values("entity_id").annotate(team=Min("name")).order_by()
    )
    results_sql, results_params = results.query.sql_with_params()
    teams_sql, teams_params = first_teams.query.sql_with_params()
    entity = connection.ops.quote_name(Entity._meta.db_table)
    sql = (
        f"SELECT g.entity_id, e.tag, e.name, COALESCE(t.team, %s), g.rules_total, g.rules_failing "
        f"FROM ({results_sql}) g INNER JOIN {entity} e ON e.id = g.entity_id "
        f"LEFT JOIN ({teams_sql}) t ON t.entity_id = g.entity_id ORDER BY e.tag"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (NO_TEAM, *results_params, *teams_params))
        return cursor.fetchall()


def _scope_key(campaign: Campaign) -> str:
    # Editing the campaign (its scope included) changes modified_at, so an edit never reads old membership.
    return f"campaign-scope:{campaign.pk}:{campaign.modified_at.timestamp()}"


def _matching(entity_scope: str, entity_ids: list[int], *, now: datetime) -> set[int]:
    try:
        query = compile_scope(entity_scope)
    except RuleSyntaxError:
        return set()  # services refuse such scopes; an old row with one matches nothing rather than everything
    facts = entity_facts_bulk(entity_ids, now=now, required=query.required_facts)
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

    The scope is a catalog query or a rule-language expression run over each entity's facts in Python (about a
    second for 10,000 entities with the rule language), so the answer is cached (CAMPAIGN_SCOPE_CACHE_SECONDS)
    and kept warm by a periodic task (`refresh=True`); entities the cache has not seen yet are checked on the spot.
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
    return (
        Campaign.objects.select_related("owner", "owner_ref")
        .annotate(rules_total=Count("rules"))
        .order_by("-created_at", "id")
    )


def campaign_entity_scores(*, campaign: Campaign, entity_ids: list[int]) -> list[dict]:
    """Each in-scope entity's score on the campaign's enabled rules, counted as apps.evaluations.aggregates counts
    (pass; fail + error; skip + exempt; no_data + not_configured; numerator and denominator in rule weights), one
    query, ordered by tag. `entity_ids` are the in-scope entities (campaign_progress_rows)."""
    from django.db.models import Sum
    from django.db.models.functions import Coalesce

    if not entity_ids:
        return []
    passed = Q(state=RuleState.PASS)
    scored = Q(state__in=[RuleState.PASS, RuleState.FAIL, RuleState.ERROR, RuleState.NO_DATA, RuleState.NOT_CONFIGURED])
    rows = (
        RuleResult.objects.filter(rule__campaigns=campaign, rule__enabled=True, entity_id__in=entity_ids)
        .values("entity_id", "entity__public_id", "entity__tag", "entity__type")
        .annotate(
            total_pass=Count("id", filter=passed),
            total_fail=Count("id", filter=Q(state__in=[RuleState.FAIL, RuleState.ERROR])),
            total_skip=Count("id", filter=Q(state__in=[RuleState.SKIP, RuleState.EXEMPT])),
            total_no_data=Count("id", filter=Q(state__in=[RuleState.NO_DATA, RuleState.NOT_CONFIGURED])),
            numerator=Coalesce(Sum("rule__weight", filter=passed), 0),
            denominator=Coalesce(Sum("rule__weight", filter=scored), 0),
        )
        .order_by("entity__tag")
    )
    return [dict(row) for row in rows]
