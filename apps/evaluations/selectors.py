"""Reads for evaluation: entity facts, pushed outcomes and exemptions in force, each in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from apps.activity.selectors import activity_bulk
from apps.catalog.models import CustomData, Entity, EntityLink, EntityOwner, EntityPackage, normalise_tag
from apps.catalog.selectors import relations_bulk
from apps.evaluations.models import RuleOutcome
from apps.exemptions.models import Exemption
from apps.integrations.collectors import configured_sources
from apps.integrations.selectors import facts_for_entities
from apps.scorecards.language import EntityFacts
from apps.scorecards.language.functions import CATALOG


def catalog_data_bulk(entity_ids: Sequence[int], kinds: Collection[str]) -> dict[int, dict[str, list[dict]]]:
    """The catalog's own data that rules read by kind (deploys, custom events and metrics, dependencies,
    relationships): one query per kind asked for, none when the rules read none."""
    result: dict[int, dict[str, list[dict]]] = {entity_id: {} for entity_id in entity_ids}
    for loader, own_kinds in _DATA_LOADERS:
        wanted = [kind for kind in kinds if kind in own_kinds]
        if wanted:
            for entity_id, rows in loader(entity_ids, wanted).items():
                result.setdefault(entity_id, {}).update(rows)
    return result


# (loader, the kinds it serves); each loader runs one query per kind it is asked for.
_DATA_LOADERS: list = [
    (activity_bulk, frozenset({"deploys", "custom_events", "custom_metrics"})),
    (relations_bulk, frozenset({"dependencies_out", "dependencies_in", "destinations", "sources"})),
]


def _team_owner(tag: str, description: str, team_name: str | None, block) -> dict:
    """A team owner as Cortex's rules see one: its tag and name, its members and its identity-provider
    groups, from the team entity's `x-cortex-team` (empty while that team is not in the catalog)."""
    block = block if isinstance(block, dict) else {}
    members = [
        {"name": m.get("name"), "email": m.get("email"), "description": m.get("description")}
        for m in block.get("members") or ()
        if isinstance(m, dict)
    ]
    groups = [
        {"groupIdentifier": g.get("name"), "source": str(g.get("provider") or "").upper() or None}
        for g in block.get("groups") or ()
        if isinstance(g, dict)
    ]
    return {
        "type": "group",
        "name": tag,
        "tag": tag,
        "teamName": team_name,
        "description": description or None,
        "members": members,
        "identityProviderGroups": groups,
    }


def _repository(git_url: str, git: dict | None) -> str:
    """The entity's repository for `git != null`: its clone URL, else the provider's `org/repo` it declares."""
    if git_url:
        return git_url
    for provider, block in (git or {}).items() if isinstance(git, dict) else ():
        if isinstance(block, dict) and isinstance(block.get("repository"), str) and block["repository"]:
            return f"{provider}:{block['repository']}"
    return ""


def entity_facts_bulk(
    entity_ids: Sequence[int], *, now: datetime, required: Collection[tuple[str, str]] = ()
) -> dict[int, EntityFacts]:
    """Everything the rule language reads about these entities, in six queries whatever their number,
    plus one per kind of catalog data (`("catalog", "deploys")` ...) that `required` names."""
    owners: dict[int, list[dict]] = defaultdict(list)
    for entity_id, kind, name, email, description, team_name, team_block in EntityOwner.objects.filter(
        entity_id__in=entity_ids
    ).values_list(
        "entity_id", "kind", "name", "email", "description", "team__name", "team__descriptor__info__x-cortex-team"
    ):
        owners[entity_id].append(
            _team_owner(name, description, team_name, team_block)
            if kind == "group"
            else {"type": "email", "email": email, "description": description or None}
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
    data = catalog_data_bulk(entity_ids, {key for source, key in required if source == CATALOG})
    configured = configured_sources()

    result = {}
    for row in Entity.objects.filter(pk__in=entity_ids).values(
        "id", "tag", "name", "type", "description", "groups", "oncall", "slos", "git_url", "git", "descriptor"
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
            repository=_repository(row["git_url"], row["git"]),
            descriptor=row["descriptor"],
            configured=configured,
            data=data.get(entity_id, {}),
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


def outcome_list(
    *,
    user,
    service_name: str | None = None,
    state: str | None = None,
    rule_enabled: bool | None = None,
    rule_ids: list[str] | None = None,
    rule_name: str | None = None,
):
    """Pushed outcomes on scorecards `user` may see, with rule, scorecard and entity joined (one query).

    `service_name` is the entity tag (in any letter case); `rule_ids` are rule identifiers (non-UUIDs match
    nothing); `rule_name` matches a case-insensitive substring. Ordered stably for paging.
    """
    import uuid

    from apps.scorecards.models import Scorecard

    outcomes = RuleOutcome.objects.filter(rule__scorecard__in=Scorecard.objects.visible_to(user)).select_related(
        "rule__scorecard", "entity"
    )
    if service_name is not None:
        outcomes = outcomes.filter(entity__tag=normalise_tag(service_name))
    if state is not None:
        outcomes = outcomes.filter(state=state)
    if rule_enabled is not None:
        outcomes = outcomes.filter(rule__enabled=rule_enabled)
    if rule_ids is not None:
        wanted = []
        for value in rule_ids:
            try:
                wanted.append(uuid.UUID(value.strip()))
            except ValueError:
                continue
        outcomes = outcomes.filter(rule__identifier__in=wanted)
    if rule_name:
        outcomes = outcomes.filter(rule__title__icontains=rule_name)
    return outcomes.order_by("id")
