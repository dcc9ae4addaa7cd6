"""Reads for evaluation and for the pages: facts in bulk, scores, report cards."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from apps.catalog.models import CustomData, Entity, EntityLink, EntityOwner, EntityPackage
from apps.evaluations.models import EntityScore, RuleOutcome, RuleResult
from apps.evaluations.scoring import StateOfRule, next_rank, next_steps
from apps.exemptions.models import Exemption
from apps.scorecards.language import EntityFacts
from apps.scorecards.models import Rule, Scorecard


def entity_facts_bulk(entity_ids: Sequence[int], *, now: datetime) -> dict[int, EntityFacts]:
    """Everything the rule language reads about these entities, in six queries whatever their number."""
    from apps.integrations.selectors import facts_for_entities

    owners: dict[int, list[dict]] = defaultdict(list)
    for entity_id, kind, name, email in EntityOwner.objects.filter(entity_id__in=entity_ids).values_list(
        "entity_id", "kind", "name", "email"
    ):
        owners[entity_id].append(
            {"type": "group", "name": name} if kind == "group" else {"type": "email", "email": email}
        )
    links: dict[int, list[dict]] = defaultdict(list)
    for entity_id, name, link_type, url in EntityLink.objects.filter(entity_id__in=entity_ids).values_list(
        "entity_id", "name", "type", "url"
    ):
        links[entity_id].append({"name": name, "type": link_type, "url": url})
    custom: dict[int, dict] = defaultdict(dict)
    for entity_id, key, value in CustomData.objects.filter(entity_id__in=entity_ids).values_list(
        "entity_id", "key", "value"
    ):
        custom[entity_id][key] = value
    packages: dict[int, list[dict]] = defaultdict(list)
    for entity_id, name, version, manager in EntityPackage.objects.filter(entity_id__in=entity_ids).values_list(
        "entity_id", "name", "version", "manager"
    ):
        packages[entity_id].append({"name": name, "version": version, "manager": manager})
    facts = facts_for_entities(list(entity_ids))

    result = {}
    for row in Entity.objects.filter(pk__in=entity_ids).values(
        "id", "tag", "name", "type", "description", "groups", "oncall", "slos"
    ):
        entity_id = row["id"]
        result[entity_id] = EntityFacts(
            tag=row["tag"],
            name=row["name"],
            type=row["type"],
            description=row["description"],
            groups=tuple(row["groups"] or ()),
            owners=owners.get(entity_id, []),
            links=links.get(entity_id, []),
            custom=custom.get(entity_id, {}),
            oncall=row["oncall"],
            slos=row["slos"] or [],
            packages=packages.get(entity_id, []),
            facts=facts.get(entity_id, {}),
            now=now,
        )
    return result


def outcomes_bulk(*, scorecard_id: int, entity_ids: Sequence[int]) -> dict[int, dict[int, str]]:
    """Pushed outcomes: entity id -> {rule id: state}."""
    result: dict[int, dict[int, str]] = defaultdict(dict)
    for entity_id, rule_id, state in RuleOutcome.objects.filter(
        rule__scorecard_id=scorecard_id, entity_id__in=entity_ids
    ).values_list("entity_id", "rule_id", "state"):
        result[entity_id][rule_id] = state
    return result


def exempt_rules_bulk(*, scorecard_id: int, entity_ids: Sequence[int], now: datetime) -> dict[int, set[int]]:
    """Exemptions in force: entity id -> {rule id}."""
    result: dict[int, set[int]] = defaultdict(set)
    for entity_id, rule_id in (
        Exemption.objects.in_force(now)
        .filter(scorecard_id=scorecard_id, entity_id__in=entity_ids)
        .values_list("entity_id", "rule_id")
    ):
        result[entity_id].add(rule_id)
    return result


@dataclass
class ReportCardRule:
    rule: Rule
    state: str | None  # None: not applicable or not yet effective
    message: str
    upcoming: bool


@dataclass
class ReportCard:
    """One entity on one scorecard: its score, each rule's state and the next steps."""

    scorecard: Scorecard
    score: EntityScore | None
    rules: list[ReportCardRule]
    next_steps: list[Rule]
    next_level_name: str | None


def report_card(*, entity: Entity, scorecard: Scorecard, now: datetime) -> ReportCard:
    """Three queries: the score, the rules with their levels, the results."""
    score = EntityScore.objects.select_related("level").filter(entity=entity, scorecard=scorecard).first()
    rules = list(scorecard.rules.select_related("level").order_by("position", "id"))
    results = {
        r.rule_id: r
        for r in RuleResult.objects.filter(entity=entity, scorecard=scorecard).only("rule_id", "state", "message")
    }
    items = []
    states = []
    for rule in rules:
        result = results.get(rule.id)
        upcoming = bool(rule.effective_from and rule.effective_from > now)
        items.append(ReportCardRule(rule, result.state if result else None, result.message if result else "", upcoming))
        if result is not None:
            states.append(StateOfRule(rule.id, rule.weight, rule.level.rank if rule.level_id else None, result.state))
    ranks = sorted(
        {rule.level.rank for rule in rules if rule.level_id} | set(scorecard.levels.values_list("rank", flat=True))
    )
    current = score.level.rank if score and score.level_id else None
    wanted = {s.rule_id for s in next_steps(states, current, ranks)}
    target = next_rank(current, ranks)
    target_name = next((r.level.name for r in rules if r.level_id and r.level.rank == target), None)
    return ReportCard(
        scorecard=scorecard,
        score=score,
        rules=items,
        next_steps=[rule for rule in rules if rule.id in wanted],
        next_level_name=target_name,
    )
