"""Reads for the report pages and badges, each shaped for its page with a fixed number of queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import (
    Avg,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Min,
    OuterRef,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.catalog.models import Entity, EntityOwner, OwnerKind, team_owned_ids
from apps.evaluations.models import EntityScore, RuleResult, ScoreHistory
from apps.reports.badges import GREY, Badge
from apps.scorecards.models import Level, Rule, Scorecard


class BadgeNotFound(Http404):
    """An unknown (or draft) scorecard or an unknown entity; `badge` says so, for the 404 response's body."""

    def __init__(self, badge: Badge) -> None:
        super().__init__(f"{badge.label}: {badge.message}")
        self.badge = badge


def badge_get(*, scorecard_tag: str, entity_tag: str) -> tuple[Badge, datetime | None]:
    """The badge of an entity on a published scorecard and when it was evaluated (None if not scored).

    Raises BadgeNotFound (an Http404 carrying a "not found" badge) for an unknown or draft scorecard or an
    unknown entity; a draft answers exactly as an unknown tag does. Three small queries.
    """
    scorecard = Scorecard.objects.published().filter(tag=scorecard_tag).only("id", "name").first()
    if scorecard is None:
        raise BadgeNotFound(Badge.not_found(scorecard_tag, "scorecard"))
    entity_id = Entity.objects.by_tag_or_id(entity_tag).values_list("id", flat=True).first()
    if entity_id is None:
        raise BadgeNotFound(Badge.not_found(scorecard.name, "entity"))
    score = (
        EntityScore.objects.filter(scorecard=scorecard, entity_id=entity_id)
        .select_related("level")
        .only("evaluated_at", "level__name", "level__color")
        .first()
    )
    if score is None:
        return Badge(label=scorecard.name, message="not scored", color=GREY), None
    if score.level is None:
        return Badge(label=scorecard.name, message="no level", color=GREY), score.evaluated_at
    return Badge(label=scorecard.name, message=score.level.name, color=score.level.color or GREY), score.evaluated_at


# --- report pages -------------------------------------------------------------------------------

NO_TEAM = ""


def owner_team(entity_ref: str = "entity") -> Subquery:
    """The entity's first team owner (by tag), so each entity falls in exactly one team group."""
    return Subquery(
        EntityOwner.objects.filter(entity=OuterRef(entity_ref), kind=OwnerKind.GROUP)
        .order_by("name")
        .values("name")[:1]
    )


def history_percentage() -> Case:
    """A history point's percentage; NULL when nothing was scored (total possible 0), which is no score at all,
    not 0%, so averages (which skip NULLs) and changes leave such points out."""
    return Case(
        When(total_possible__gt=0, then=F("score") / F("total_possible")),
        default=Value(None),
        output_field=FloatField(),
    )


def scorecard_get_visible(*, user, tag: str) -> Scorecard:
    return get_object_or_404(Scorecard.objects.visible_to(user), tag=tag)


def levels_by_scorecard(scorecard_ids) -> dict[int, list[Level]]:
    levels: dict[int, list[Level]] = defaultdict(list)
    for level in Level.objects.filter(scorecard_id__in=scorecard_ids).order_by("scorecard_id", "rank"):
        levels[level.scorecard_id].append(level)
    return levels


# Bird's-eye ---------------------------------------------------------------------------------------


def birds_eye_scores(*, scorecard: Scorecard):
    """The in-scope entities of a scorecard, grouped by owner team (teamless last), then by tag."""
    return (
        EntityScore.objects.filter(scorecard=scorecard)
        .select_related("entity", "level")
        .annotate(team=Coalesce(owner_team(), Value(NO_TEAM)))
        .order_by(
            Case(When(team=NO_TEAM, then=Value(1)), default=Value(0)),
            "team",
            "entity__tag",
        )
    )


def birds_eye_rules(*, scorecard: Scorecard) -> list[Rule]:
    return list(scorecard.rules.filter(enabled=True).select_related("level").order_by("position", "id"))


def rule_states(*, scorecard_id: int, entity_ids) -> dict[tuple[int, int], tuple[str, str]]:
    """(entity id, rule id) -> (state, message) for the given entities: one query."""
    return {
        (entity_id, rule_id): (state, message)
        for entity_id, rule_id, state, message in RuleResult.objects.filter(
            scorecard_id=scorecard_id, entity_id__in=list(entity_ids)
        ).values_list("entity_id", "rule_id", "state", "message")
    }


# Executive ----------------------------------------------------------------------------------------


@dataclass
class LevelCount:
    name: str
    color: str
    count: int
    share: float  # of the in-scope entities, 0..1


@dataclass
class Distribution:
    title: str
    total: int
    counts: list[LevelCount] = field(default_factory=list)


def _distribution(title: str, levels: list[Level], by_level: dict[int | None, int]) -> Distribution:
    total = sum(by_level.values())
    counts = [
        LevelCount(
            level.name,
            level.color or GREY,
            by_level.get(level.pk, 0),
            by_level.get(level.pk, 0) / total if total else 0.0,
        )
        for level in reversed(levels)
    ]
    none = by_level.get(None, 0)
    counts.append(LevelCount("No level", GREY, none, none / total if total else 0.0))
    return Distribution(title=title, total=total, counts=counts)


def level_distribution(*, scorecards: list[Scorecard]) -> list[tuple[Scorecard, Distribution]]:
    """Per scorecard, how many in-scope entities sit at each level (highest first) and at none."""
    ids = [s.pk for s in scorecards]
    levels = levels_by_scorecard(ids)
    counts: dict[int, dict[int | None, int]] = defaultdict(dict)
    for row in (
        EntityScore.objects.filter(scorecard_id__in=ids)
        .values("scorecard_id", "level_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[row["scorecard_id"]][row["level_id"]] = row["n"]
    return [(s, _distribution(s.name, levels[s.pk], counts[s.pk])) for s in scorecards]


def team_distribution(*, scorecard: Scorecard) -> list[Distribution]:
    """Per owner team, the level distribution of its entities on one scorecard (teams by name)."""
    levels = levels_by_scorecard([scorecard.pk])[scorecard.pk]
    counts: dict[str, dict[int | None, int]] = defaultdict(dict)
    rows = (
        EntityScore.objects.filter(scorecard=scorecard)
        .annotate(team=Coalesce(owner_team(), Value(NO_TEAM)))
        .values("team", "level_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["team"]][row["level_id"]] = row["n"]
    teams = sorted(counts, key=lambda t: (t == NO_TEAM, t))
    return [_distribution(team or "(no team)", levels, counts[team]) for team in teams]


# Progress -----------------------------------------------------------------------------------------


@dataclass
class DayPoint:
    day: date
    average: float | None  # None: nothing was scored that day (every point had a total possible of 0)
    version: int
    version_changed: bool
    levels: dict[int | None, int] = field(default_factory=dict)  # level rank (None: no level) -> entities


def progress_series(
    *, scorecards: list[Scorecard], team: str = "", since: date | None = None
) -> dict[int, list[DayPoint]]:
    """Daily series per scorecard from ScoreHistory, aggregated in the database (two queries).

    - average: the mean percentage of the points recorded that day, leaving out points where nothing was
      scored (None when every point of the day is such);
    - levels: per level rank, the number of distinct entities with a point at that level that day (an
      entity whose level changed during a day counts at each level it held);
    - version_changed: the day's highest scorecard version differs from the previous day's, or the
      day itself holds points from two versions.
    """
    points = ScoreHistory.objects.filter(scorecard_id__in=[s.pk for s in scorecards])
    if team:
        points = points.filter(entity_id__in=team_owned_ids([team]))  # the team's tag, in any letter case
    if since:
        points = points.filter(recorded_at__date__gte=since)
    points = points.annotate(day=TruncDate("recorded_at"))
    daily = (
        points.values("scorecard_id", "day")
        .annotate(average=Avg(history_percentage()), vmin=Min("scorecard_version"), vmax=Max("scorecard_version"))
        .order_by("scorecard_id", "day")
    )
    series: dict[int, list[DayPoint]] = defaultdict(list)
    index: dict[tuple[int, date], DayPoint] = {}
    for row in daily:
        previous = series[row["scorecard_id"]][-1] if series[row["scorecard_id"]] else None
        changed = row["vmin"] != row["vmax"] or (previous is not None and previous.version != row["vmax"])
        point = DayPoint(row["day"], row["average"], row["vmax"], changed)
        series[row["scorecard_id"]].append(point)
        index[(row["scorecard_id"], row["day"])] = point
    by_level = (
        points.values("scorecard_id", "day", "level_rank").annotate(n=Count("entity_id", distinct=True)).order_by()
    )
    for level_row in by_level:
        index[(level_row["scorecard_id"], level_row["day"])].levels[level_row["level_rank"]] = level_row["n"]
    return series


def team_names() -> list[str]:
    return list(
        EntityOwner.objects.filter(kind=OwnerKind.GROUP).order_by("name").values_list("name", flat=True).distinct()
    )


# Report card --------------------------------------------------------------------------------------


def _with_change(queryset, *, since: datetime):
    """Annotate `past` (the percentage at the earliest history point since `since`) and `change`."""
    first = ScoreHistory.objects.filter(
        scorecard_id=OuterRef("scorecard_id"),
        entity_id=OuterRef("entity_id"),
        recorded_at__gte=since,
        total_possible__gt=0,  # a point where nothing was scored has no percentage to compare with
    ).order_by("recorded_at")
    past = Subquery(first.annotate(p=history_percentage()).values("p")[:1], output_field=FloatField())
    return queryset.annotate(past=past).annotate(change=ExpressionWrapper(F("percentage") - F("past"), FloatField()))


def report_card_entities(*, scorecard: Scorecard, since: datetime, limit: int = 10) -> dict[str, list]:
    """Best, worst and most improved entities; entities with nothing scored (total possible 0) have no rank."""
    scores = EntityScore.objects.filter(scorecard=scorecard, total_possible__gt=0).select_related("entity", "level")
    improved = _with_change(scores, since=since).filter(past__isnull=False, change__gt=0)
    return {
        "best": list(scores.order_by("-percentage", "entity__tag")[:limit]),
        "worst": list(scores.order_by("percentage", "entity__tag")[:limit]),
        "improved": list(improved.order_by("-change", "entity__tag")[:limit]),
    }


def report_card_teams(*, scorecard: Scorecard, since: datetime, limit: int = 10) -> dict[str, list[dict]]:
    """Per owner team (entities without a team, or with nothing scored, are left out): average percentage and
    average change."""
    rows = list(
        _with_change(EntityScore.objects.filter(scorecard=scorecard, total_possible__gt=0), since=since)
        .annotate(team=owner_team())
        .filter(team__isnull=False)
        .values("team")
        .annotate(average=Avg("percentage"), change=Avg("change"), entities=Count("id"))
        .order_by()
    )
    best = sorted(rows, key=lambda r: (-r["average"], r["team"]))
    improved = sorted(
        (r for r in rows if r["change"] is not None and r["change"] > 0), key=lambda r: (-r["change"], r["team"])
    )
    return {
        "best": best[:limit],
        "worst": sorted(rows, key=lambda r: (r["average"], r["team"]))[:limit],
        "improved": improved[:limit],
    }


# All scorecards -----------------------------------------------------------------------------------


def all_scorecards_entities(*, search: str = ""):
    entities = Entity.objects.active().only("id", "tag", "name", "type").order_by("tag")
    if search:
        entities = entities.filter(tag__icontains=search)
    return entities


def scores_for(*, entity_ids, scorecard_ids) -> dict[tuple[int, int], EntityScore]:
    """(entity id, scorecard id) -> score with its level: one query."""
    return {
        (s.entity_id, s.scorecard_id): s
        for s in EntityScore.objects.filter(entity_id__in=list(entity_ids), scorecard_id__in=list(scorecard_ids))
        .select_related("level")
        .only(
            "entity_id",
            "scorecard_id",
            "score",
            "total_possible",
            "percentage",
            "level__name",
            "level__color",
            "level__rank",
        )
    }
