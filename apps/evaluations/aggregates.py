"""Score aggregates over stored rule results, computed by the database (GROUP BY), never row by row in Python.

Used by the Datadog-style `GET /api/v2/scorecard/scores/{aggregation}`. Definitions (DESIGN §6 applied to counts):

- `total_pass` = results `pass`; `total_fail` = `fail` + `error`; `total_no_data` = `no_data` + `not_configured`;
  `total_skip` = `skip` + `exempt` (an exemption leaves both sides of the score, as a skip does).
- `numerator` = sum of the rule weights of `pass` results; `denominator` = sum of the weights of `pass`, `fail`,
  `error` and `no_data` results; `score` = numerator / denominator (0 when the denominator is 0), in 0..1.
  So `by-entity` restricted to one scorecard gives exactly that entity's EntityScore percentage.
- `total_entities` = distinct entities among the results counted (1 for by-entity).
- Only results of active (not archived) entities count; drafts count only when `include_drafts`.
- `by-team` puts an entity in its first team owner by tag (as the reports do); entities without one are left out.

How: the ORM builds the GROUP BY over the results on integer ids only (entity, rule, or scorecard + entity); a
short outer SQL joins the labels to the groups (not to each result), groups a second time where needed (so the
entity count is a plain COUNT, not a sorting COUNT(DISTINCT)), computes `score`, sorts, pages, and carries the
number of groups as a window count. 300,000 results answer in under 150 ms on PostgreSQL (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from apps.catalog.models import Entity, EntityOwner, OwnerKind
from apps.evaluations.models import RuleResult, RuleState
from apps.scorecards.models import Level, Rule, Scorecard

AGGREGATIONS = ("by-entity", "by-rule", "by-scorecard", "by-team", "by-kind")
SORT_FIELDS = ("score", "numerator", "denominator", "total_pass", "total_fail", "total_skip", "total_no_data")

_PASS = Q(state=RuleState.PASS)
_FAIL = Q(state__in=[RuleState.FAIL, RuleState.ERROR])
_SKIP = Q(state__in=[RuleState.SKIP, RuleState.EXEMPT])
# Datadog has no word for "integration not configured"; it is data the rule could not get, so it counts as no data.
_NO_DATA = Q(state__in=[RuleState.NO_DATA, RuleState.NOT_CONFIGURED])
_SCORED = Q(state__in=[RuleState.PASS, RuleState.FAIL, RuleState.ERROR, RuleState.NO_DATA, RuleState.NOT_CONFIGURED])


@dataclass(frozen=True)
class RuleFilter:
    """`filter[rule][...]`: ids (rule identifiers), name (case-insensitive part), levels (ladder ranks),
    scorecard tags, custom (no expression, outcomes pushed) and enabled; None = no condition."""

    ids: tuple[uuid.UUID, ...] | None = None
    name: str = ""
    levels: tuple[int, ...] | None = None
    scorecard_tags: tuple[str, ...] | None = None
    is_custom: bool | None = None
    is_enabled: bool | None = None

    def q(self) -> Q:
        condition = Q()
        if self.ids is not None:
            condition &= Q(rule__identifier__in=self.ids)
        if self.name:
            condition &= Q(rule__title__icontains=self.name)
        if self.levels is not None:
            condition &= Q(rule__level__rank__in=self.levels)
        if self.scorecard_tags is not None:
            condition &= Q(scorecard__tag__in=self.scorecard_tags)
        if self.is_custom is not None:
            condition &= Q(rule__expression="") if self.is_custom else ~Q(rule__expression="")
        if self.is_enabled is not None:
            condition &= Q(rule__enabled=self.is_enabled)
        return condition


def first_team_owners() -> QuerySet:
    """Ids of each entity's first team owner by tag (an uncorrelated set the database can hash-join)."""
    earlier = EntityOwner.objects.filter(
        entity_id=OuterRef("entity_id"), kind=OwnerKind.GROUP, name__lt=OuterRef("name")
    )
    return EntityOwner.objects.filter(kind=OwnerKind.GROUP).exclude(Exists(earlier)).values("id")


# Per aggregation: the integer columns the results are first grouped by (cheap to hash), and the default order of
# the final rows. Labels (tags, public ids, ranks) are joined to the groups afterwards, not to every result.
_INNER: dict[str, list[str]] = {
    "by-entity": ["entity_id"],
    "by-rule": ["rule_id"],
    "by-scorecard": ["scorecard_id", "entity_id"],  # then per scorecard: a plain count is the entity count
    "by-team": ["entity_id"],
    "by-kind": ["entity_id"],
}
_ORDER: dict[str, list[str]] = {
    "by-entity": ["g_tag", "g_entity"],
    "by-rule": ["g_scorecard", "g_position", "g_rule"],
    "by-scorecard": ["g_id"],
    "by-team": ["g_id"],
    "by-kind": ["g_id"],
}
_COUNTS = ("total_pass", "total_fail", "total_skip", "total_no_data", "numerator", "denominator")


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _stage(aggregation: str, rule_filter: RuleFilter, include_drafts: bool) -> tuple[str, tuple]:
    """SQL and params of one row per group: `g_*` group columns and the counts. The grouping over the results is
    built by the ORM; the labels are joined on by a small hand-written outer query."""
    results = RuleResult.objects.filter(rule_filter.q()).exclude(
        entity_id__in=Entity.objects.filter(archived=True).values("id")
    )
    if not include_drafts:
        results = results.exclude(scorecard_id__in=Scorecard.objects.filter(draft=True).values("id"))
    inner = (
        results.values(*_INNER[aggregation])
        .annotate(
            total_pass=Count("id", filter=_PASS),
            total_fail=Count("id", filter=_FAIL),
            total_skip=Count("id", filter=_SKIP),
            total_no_data=Count("id", filter=_NO_DATA),
            numerator=Coalesce(Sum("rule__weight", filter=_PASS), 0),
            denominator=Coalesce(Sum("rule__weight", filter=_SCORED), 0),
            results=Count("id"),
        )
        .order_by()
    )
    sql, params = inner.query.sql_with_params()
    counts = ", ".join(f"i.{name}" for name in _COUNTS)
    sums = ", ".join(f"CAST(SUM(i.{name}) AS BIGINT) AS {name}" for name in _COUNTS)
    entity, rule, scorecard, level = _table(Entity), _table(Rule), _table(Scorecard), _table(Level)
    if aggregation == "by-entity":
        outer = (
            f"SELECT e.public_id AS g_id, e.tag AS g_tag, e.type AS g_type, i.entity_id AS g_entity, {counts}, "
            f"1 AS total_entities FROM ({sql}) i JOIN {entity} e ON e.id = i.entity_id"
        )
    elif aggregation == "by-rule":
        # One result per (entity, rule), so the rule's result count is its entity count.
        outer = (
            f"SELECT r.identifier AS g_id, sc.tag AS g_scorecard, l.rank AS g_level, r.position AS g_position, "
            f"r.id AS g_rule, {counts}, i.results AS total_entities FROM ({sql}) i "
            f"JOIN {rule} r ON r.id = i.rule_id JOIN {scorecard} sc ON sc.id = r.scorecard_id "
            f"LEFT JOIN {level} l ON l.id = r.level_id"
        )
    elif aggregation == "by-scorecard":
        outer = (
            f"SELECT sc.tag AS g_id, {sums}, COUNT(*) AS total_entities FROM ({sql}) i "
            f"JOIN {scorecard} sc ON sc.id = i.scorecard_id GROUP BY sc.tag"
        )
    elif aggregation == "by-kind":
        outer = (
            f"SELECT e.type AS g_id, {sums}, COUNT(*) AS total_entities FROM ({sql}) i "
            f"JOIN {entity} e ON e.id = i.entity_id GROUP BY e.type"
        )
    else:  # by-team
        owners_sql, owners_params = first_team_owners().query.sql_with_params()
        outer = (
            f"SELECT o.name AS g_id, {sums}, COUNT(*) AS total_entities FROM ({sql}) i "
            f"JOIN {_table(EntityOwner)} o ON o.entity_id = i.entity_id AND o.id IN ({owners_sql}) GROUP BY o.name"
        )
        params = (*params, *owners_params)
    return outer, tuple(params)


def score_page(
    *, aggregation: str, rule_filter: RuleFilter = RuleFilter(), sort: str = "", include_drafts: bool = False,
    offset: int = 0, limit: int = 100,
) -> tuple[list[dict], int]:  # fmt: skip
    """One page of groups (dicts with `g_*` group columns, the counts and `score`) and the number of groups.

    One query (the total rides along as a window count); a second, COUNT only, when the page is past the end.
    Ordered by `sort` (`[-]field` of SORT_FIELDS) then by the group. Raises ValueError for an unknown
    aggregation or sort field (callers check first).
    """
    if aggregation not in _INNER:
        raise ValueError(f"unknown aggregation {aggregation!r}")
    stage, params = _stage(aggregation, rule_filter, include_drafts)
    ordering = [f"s.{name}" for name in _ORDER[aggregation]]
    if sort:
        field = sort.removeprefix("-")
        if field not in SORT_FIELDS:
            raise ValueError(f"unknown sort field {sort!r}")
        ordering.insert(0, f"{field} DESC" if sort.startswith("-") else field)
    real = "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"
    sql = (
        f"SELECT s.*, CASE WHEN s.denominator > 0 THEN CAST(s.numerator AS {real}) / s.denominator ELSE 0.0 END "
        f"AS score, COUNT(*) OVER () AS total_groups FROM ({stage}) s ORDER BY {', '.join(ordering)} "
        "LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, limit, offset))
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        if rows:
            total = rows[0]["total_groups"]
        else:
            cursor.execute(f"SELECT COUNT(*) FROM ({stage}) s", params)
            total = cursor.fetchone()[0]
    if aggregation == "by-rule":
        for row in rows:  # SQLite hands back UUIDs as 32 hex digits
            row["g_id"] = str(uuid.UUID(str(row["g_id"])))
    return rows, total


def teams_of_entities(entity_ids) -> dict[int, str]:
    """Each entity's first team owner by tag (one query), for the relationships of a page of by-entity rows."""
    teams: dict[int, str] = {}
    for entity_id, name in (
        EntityOwner.objects.filter(entity_id__in=list(entity_ids), kind=OwnerKind.GROUP)
        .order_by("entity_id", "name")
        .values_list("entity_id", "name")
    ):
        teams.setdefault(entity_id, name)
    return teams
