"""Reads shaped for the score pages (home, scorecard, report card), each in a fixed number of queries.

Page selectors only: they read through the models and reuse the scoring helpers, and never write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Avg, Count, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from apps.catalog.models import Entity, EntityOwner, OwnerKind, any_group_q, team_owned_ids
from apps.evaluations.models import EntityScore, EvaluationRun, RuleOutcome, RuleResult, RuleState, ScoreHistory
from apps.evaluations.scoring import StateOfRule, next_rank, next_steps
from apps.exemptions.models import ACTIVE_STATUSES, Exemption, ExemptionStatus, time_left_label
from apps.scorecards.models import Level, Rule, Scorecard

HISTORY_DAYS = 90
REQUESTABLE_STATES = ("fail", "error", "no_data", "not_configured")


def scorecard_get_for_user(*, tag: str, user) -> Scorecard:
    """The scorecard by tag, with its levels; drafts are a 404 for people who can't edit scorecards."""
    return get_object_or_404(
        Scorecard.objects.visible_to(user).prefetch_related(
            Prefetch("levels", queryset=Level.objects.order_by("rank"))
        ),
        tag=tag,
    )


def latest_run(*, scorecard: Scorecard) -> EvaluationRun | None:
    return EvaluationRun.objects.filter(scorecard=scorecard).order_by("-created_at", "-id").first()


# --- Home ---------------------------------------------------------------------------------------


@dataclass
class LevelShare:
    name: str
    color: str
    count: int
    width: float  # percent of the entities in scope, 0..100
    is_none: bool = False


@dataclass
class HomeCard:
    scorecard: Scorecard
    entities: int
    average: float | None  # mean percentage, 0..1
    shares: list[LevelShare]
    run: EvaluationRun | None


def home_cards(*, user) -> list[HomeCard]:
    """Every scorecard the user may see with its level distribution, mean score and last run: five queries."""
    latest_run_id = Subquery(
        EvaluationRun.objects.filter(scorecard=OuterRef("pk")).order_by("-created_at", "-id").values("id")[:1]
    )
    scorecards = list(
        Scorecard.objects.visible_to(user)
        .annotate(
            entity_count=Count("scores", distinct=True),
            # Entities with nothing scored (total possible 0) have no percentage; they would read as 0%.
            average=Avg("scores__percentage", filter=Q(scores__total_possible__gt=0)),
            last_evaluated=Max("scores__evaluated_at"),
            last_run_id=latest_run_id,
        )
        .order_by("name")
    )
    ids = [s.pk for s in scorecards]
    levels: dict[int, list[Level]] = defaultdict(list)
    for level in Level.objects.filter(scorecard_id__in=ids).order_by("scorecard_id", "rank"):
        levels[level.scorecard_id].append(level)
    counts: dict[int, dict[int | None, int]] = defaultdict(dict)
    for row in (
        EntityScore.objects.filter(scorecard_id__in=ids)
        .values("scorecard_id", "level_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[row["scorecard_id"]][row["level_id"]] = row["n"]
    runs = {
        run.pk: run for run in EvaluationRun.objects.filter(pk__in=[s.last_run_id for s in scorecards if s.last_run_id])
    }

    cards = []
    for scorecard in scorecards:
        total = scorecard.entity_count
        by_level = counts.get(scorecard.pk, {})
        shares = [
            LevelShare(level.name, level.color, by_level.get(level.pk, 0), _share(by_level.get(level.pk, 0), total))
            for level in levels.get(scorecard.pk, [])
        ]
        none = by_level.get(None, 0)
        shares.insert(0, LevelShare("No level", "#e7eaf0", none, _share(none, total), is_none=True))
        cards.append(
            HomeCard(
                scorecard=scorecard,
                entities=total,
                average=scorecard.average if total else None,
                shares=shares,
                run=runs.get(scorecard.last_run_id),
            )
        )
    return cards


def _share(count: int, total: int) -> float:
    return round(count * 100 / total, 2) if total else 0.0


# --- Scorecard page -----------------------------------------------------------------------------

SORTS = {"entity": ("entity__tag",), "level": ("level__rank",), "score": ("percentage",)}


def scorecard_rules(*, scorecard: Scorecard) -> QuerySet[Rule]:
    return scorecard.rules.select_related("level").order_by("position", "id")


def scorecard_scores(
    *,
    scorecard: Scorecard,
    search: str = "",
    entity_type: str = "",
    group: str = "",
    team: str = "",
    level: str = "",
    sort: str = "entity",
) -> QuerySet[EntityScore]:
    """The entities table: one query for the page of rows and one for their owner teams (`owner_teams`)."""
    qs = EntityScore.objects.filter(scorecard=scorecard).select_related("entity", "level")
    if search:
        qs = qs.filter(Q(entity__tag__icontains=search) | Q(entity__name__icontains=search))
    if entity_type:
        qs = qs.filter(entity__type=entity_type)
    if group:
        qs = qs.filter(any_group_q([group], prefix="entity__"))
    if team:
        qs = qs.filter(entity_id__in=team_owned_ids([team]))  # the team's tag, in any letter case
    if level == "none":
        qs = qs.filter(level__isnull=True)
    elif level:
        qs = qs.filter(level__name=level)
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    if key not in SORTS:
        key, descending = "entity", False
    if key == "level":
        order = F("level__rank").desc(nulls_last=True) if descending else F("level__rank").asc(nulls_first=True)
    else:
        order = F(SORTS[key][0]).desc() if descending else F(SORTS[key][0]).asc()
    return qs.order_by(order, "entity__tag").prefetch_related(
        Prefetch(
            "entity__owners",
            queryset=EntityOwner.objects.filter(kind=OwnerKind.GROUP).order_by("name"),
            to_attr="owner_teams",
        )
    )


@dataclass
class FilterChoices:
    types: list[str]
    groups: list[str]
    teams: list[str]


_DISTINCT_GROUPS_SQL = {
    # Unnested in the database: reading every entity's group list into Python costs ~100 ms at 10,000.
    "postgresql": (
        "SELECT DISTINCT g FROM catalog_entity e JOIN evaluations_entityscore s ON s.entity_id = e.id, "
        "jsonb_array_elements_text(CASE WHEN jsonb_typeof(e.groups) = 'array' THEN e.groups ELSE '[]' END) g "
        "WHERE s.scorecard_id = %s ORDER BY g"
    ),
    "sqlite": (
        "SELECT DISTINCT j.value FROM catalog_entity e JOIN evaluations_entityscore s ON s.entity_id = e.id, "
        "json_each(CASE WHEN json_type(e.groups) = 'array' THEN e.groups ELSE '[]' END) j "
        "WHERE s.scorecard_id = %s AND j.type = 'text' ORDER BY j.value"
    ),
}


def scorecard_filter_choices(*, scorecard: Scorecard) -> FilterChoices:
    """Values for the filter selects, from the entities scored on this scorecard: three small queries."""
    types = (
        Entity.objects.filter(scores__scorecard=scorecard).values_list("type", flat=True).distinct().order_by("type")
    )
    with connection.cursor() as cursor:
        cursor.execute(_DISTINCT_GROUPS_SQL[connection.vendor], [scorecard.pk])
        groups = [row[0] for row in cursor.fetchall()]
    teams = (
        EntityOwner.objects.filter(kind=OwnerKind.GROUP, entity__scores__scorecard=scorecard)
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")
    )
    return FilterChoices(types=list(types), groups=groups, teams=list(teams))


# --- Entity report card -------------------------------------------------------------------------


@dataclass
class CardRule:
    rule: Rule
    state: str | None  # None: not applicable or not yet effective
    state_label: str
    message: str
    remarks: str  # Markdown pushed with the rule's outcome (rules without an expression); "" when none
    upcoming: bool
    exemption: Exemption | None
    time_left: str  # of an approved exemption: "30 days left", "expires today", "until revoked"; else ""
    can_request: bool


@dataclass
class EntityCard:
    scorecard: Scorecard
    score: EntityScore
    rules: list[CardRule]
    next_steps: list[Rule]
    next_level_name: str | None
    history: dict = field(default_factory=dict)


def entity_get(*, tag: str) -> Entity:
    """The entity by tag, in any letter case (or by id), for its report card; a 404 when there is none."""
    return get_object_or_404(
        Entity.objects.by_tag_or_id(tag).prefetch_related(
            Prefetch("owners", queryset=EntityOwner.objects.order_by("kind", "name", "email")), "links", "parent_links"
        )
    )


def entity_report_cards(*, entity: Entity, user, now: datetime) -> list[EntityCard]:
    """Every visible scorecard the entity has a score on, with rules, states, pushed outcomes' remarks,
    exemptions, next steps and its 90-day history: six queries whatever the number of scorecards and rules
    (the remarks come with the rule results, as a subquery)."""
    scores = list(
        EntityScore.objects.filter(entity=entity, scorecard__in=Scorecard.objects.visible_to(user))
        .select_related("scorecard", "level")
        .order_by("scorecard__name")
    )
    if not scores:
        return []
    ids = [s.scorecard_id for s in scores]
    rules_by_card: dict[int, list[Rule]] = defaultdict(list)
    for rule in Rule.objects.filter(scorecard_id__in=ids).select_related("level").order_by("position", "id"):
        rules_by_card[rule.scorecard_id].append(rule)
    ranks_by_card: dict[int, set[int]] = defaultdict(set)
    for scorecard_id, rank in Level.objects.filter(scorecard_id__in=ids).values_list("scorecard_id", "rank"):
        ranks_by_card[scorecard_id].add(rank)
    pushed_remarks = RuleOutcome.objects.filter(entity_id=OuterRef("entity_id"), rule_id=OuterRef("rule_id"))
    results = {
        r.rule_id: r
        for r in RuleResult.objects.filter(entity=entity, scorecard_id__in=ids)
        .only("rule_id", "state", "message")
        .annotate(remarks=Subquery(pushed_remarks.values("remarks")[:1]))
    }
    latest_exemption: dict[int, Exemption] = {}
    for row in Exemption.objects.filter(entity=entity, scorecard_id__in=ids).order_by("-requested_at", "-id"):
        latest_exemption.setdefault(row.rule_id, row)
    history: dict[int, list[ScoreHistory]] = defaultdict(list)
    for point in ScoreHistory.objects.filter(
        entity=entity, scorecard_id__in=ids, recorded_at__gte=now - timedelta(days=HISTORY_DAYS)
    ).order_by("recorded_at", "id"):
        history[point.scorecard_id].append(point)

    may_request = user.has_perm("exemptions.request_exemption")
    state_labels = dict(RuleState.choices)  # RuleResult.state's choices
    cards = []
    for score in scores:
        scorecard = score.scorecard
        rules = rules_by_card.get(scorecard.pk, [])
        items = []
        states: dict[int, str] = {}
        for rule in rules:
            result = results.get(rule.id)
            state = result.state if result else None
            exemption = latest_exemption.get(rule.id)
            active = exemption is not None and exemption.status in ACTIVE_STATUSES
            time_left = ""
            if exemption is not None and exemption.status == ExemptionStatus.APPROVED:
                time_left = time_left_label(exemption.end_date, now=now)
            items.append(
                CardRule(
                    rule=rule,
                    state=state,
                    state_label=state_labels.get(state, "") if state else "",
                    message=result.message if result else "",
                    # Only a rule whose state is pushed shows them: remarks left from before the rule got an
                    # expression would describe a state it no longer has.
                    remarks=(result.remarks or "") if result and not rule.expression.strip() else "",
                    upcoming=bool(rule.effective_from and rule.effective_from > now),
                    exemption=exemption,
                    time_left=time_left,
                    can_request=bool(
                        may_request and scorecard.exemptions_enabled and state in REQUESTABLE_STATES and not active
                    ),
                )
            )
            if result is not None:
                states[rule.id] = result.state
        target, todo = rules_to_next_level(
            rules,
            states,
            current=score.level.rank if score.level is not None else None,
            level_ranks=ranks_by_card.get(scorecard.pk, set()),
        )
        cards.append(
            EntityCard(
                scorecard=scorecard,
                score=score,
                rules=items,
                next_steps=todo,
                next_level_name=next(
                    (r.level.name for r in rules if r.level is not None and r.level.rank == target), None
                ),
                history=_chart_data(history.get(scorecard.pk, [])),
            )
        )
    return cards


def rules_to_next_level(
    rules: Sequence[Rule], states: Mapping[int, str], *, current: int | None, level_ranks: Iterable[int]
) -> tuple[int | None, list[Rule]]:
    """The rank of the level after `current` and the rules still to fix to reach it (DESIGN §6), in `rules`
    order. `rules` have `level` loaded; `states` maps a rule id to its stored state (no entry: not applicable)."""
    ranks = sorted(set(level_ranks) | {r.level.rank for r in rules if r.level is not None})
    of_rules = [
        StateOfRule(r.id, r.weight, r.level.rank if r.level is not None else None, states[r.id])
        for r in rules
        if r.id in states
    ]
    wanted = {s.rule_id for s in next_steps(of_rules, current, ranks)}
    return next_rank(current, ranks), [r for r in rules if r.id in wanted]


def _chart_data(points: list[ScoreHistory]) -> dict:
    """Chart.js data: labels, percentages and where the scorecard definition changed.

    A point where nothing was scored (every rule skipped or not yet in effect: total possible 0) has no
    percentage: its value is None, a gap in the line, not a fall to 0.
    """
    data: dict = {"labels": [], "values": [], "versionChanged": [], "versions": []}
    previous = None
    for point in points:
        data["labels"].append(point.recorded_at.strftime("%Y-%m-%d %H:%M"))
        data["values"].append(round(point.percentage * 100, 1) if point.total_possible else None)
        data["versions"].append(point.scorecard_version)
        data["versionChanged"].append(previous is not None and point.scorecard_version != previous)
        previous = point.scorecard_version
    return data
