"""Output shapes of the Cortex v1 API (seeds 000/001, bundled spec), built from rows already loaded.

Nothing here queries the database: views load what these functions read, with a fixed number of queries.
"""

from __future__ import annotations

from typing import Any

from apps.api.params import iso
from apps.catalog.models import Entity, OwnerKind
from apps.evaluations.models import EntityScore, RuleResult, RuleState
from apps.exemptions.models import Exemption, ExemptionStatus
from apps.scorecards.models import Level, Rule, Scorecard


def level_of(level: Level | None) -> dict | None:
    return {"level": {"name": level.name, "number": level.rank}} if level else None


def filter_of(value: dict | None) -> dict:
    value = value or {}
    out: dict[str, Any] = {}
    for part in ("groups", "types"):
        if part in value:
            out[part] = {"include": value[part].get("include", []), "exclude": value[part].get("exclude", [])}
    if value.get("query"):
        out["query"] = value["query"]
    for extra in ("category", "kind"):
        if value.get(extra):
            out[extra] = value[extra]
    return out


def rule_of(rule: Rule) -> dict:
    """`rule.level` must be loaded (select_related)."""
    return {
        "identifier": str(rule.identifier),
        "title": rule.title,
        "description": rule.description,
        "expression": rule.expression,
        "failureMessage": rule.failure_message,
        "levelName": rule.level.name if rule.level is not None else None,
        "weight": rule.weight,
        "effectiveFrom": iso(rule.effective_from),
        "filter": filter_of(rule.filter),
    }


def scorecard_of(scorecard: Scorecard, levels: list[Level], rules: list[Rule]) -> dict:
    return {
        "tag": scorecard.tag,
        "name": scorecard.name,
        "description": scorecard.description,
        "isDraft": scorecard.draft,
        "lastUpdated": iso(scorecard.updated_at),
        "evaluation": {"window": scorecard.evaluation_window_hours},
        "exemptions": {"enabled": scorecard.exemptions_enabled, "autoApprove": scorecard.exemptions_auto_approve},
        "notifications": {
            "enabled": scorecard.notifications_enabled,
            "scoreDropNotificationsEnabled": scorecard.score_drop_notifications_enabled,
        },
        "filter": filter_of(scorecard.filter),
        "levels": [level_of(level) for level in sorted(levels, key=lambda lv: lv.rank)],
        "rules": [rule_of(rule) for rule in rules],
    }


def owners_of(entity: Entity) -> dict:
    """`entity.owners` must be prefetched."""
    owners = list(entity.owners.all())
    return {
        "groups": [o.name for o in owners if o.kind == OwnerKind.GROUP],
        "individuals": [
            {"email": o.email, "description": o.description or None} for o in owners if o.kind == OwnerKind.EMAIL
        ],
    }


def service_of(entity: Entity) -> dict:
    return {
        "id": entity.public_id,
        "tag": entity.tag,
        "name": entity.name,
        "groups": list(entity.groups or []),
        "owners": owners_of(entity),
    }


def _actor(user) -> dict | None:
    if user is None:
        return None
    return {"type": "USER", "email": user.email, "name": user.get_full_name() or user.get_username()}


# REVOKED and EXPIRED are our own final states; Cortex (and the CLI's tests) know only REJECTED for them.
_WIRE_STATUS: dict[str, str] = {ExemptionStatus.REVOKED: "REJECTED", ExemptionStatus.EXPIRED: "REJECTED"}


def exemption_of(exemption: Exemption, *, with_rule: bool = False) -> dict:
    """`requested_by`, `decided_by` (and `rule` when with_rule) must be loaded."""
    handled_by = _actor(exemption.decided_by)
    if handled_by is None and exemption.decided_at and exemption.status == ExemptionStatus.APPROVED:
        handled_by = {"type": "SYSTEM", "name": "auto-approve"}
    body = {
        "requestedBy": _actor(exemption.requested_by),
        "requestedDate": iso(exemption.requested_at),
        "requestingReason": exemption.reason,
        "endDate": iso(exemption.end_date),
        "exemptionStatus": {
            "status": _WIRE_STATUS.get(exemption.status, exemption.status),
            "date": iso(exemption.decided_at),
            "handledBy": handled_by,
            "reason": exemption.decision_reason or None,
        },
    }
    if with_rule:
        body["ruleIdentifier"] = str(exemption.rule.identifier)
        body["ruleExpression"] = exemption.rule.expression
    return body


def rule_score_of(rule: Rule, result: RuleResult) -> dict:
    return {
        "identifier": str(rule.identifier),
        "title": rule.title,
        "expression": rule.expression,
        "score": rule.weight if result.state == RuleState.PASS else 0,
        "state": result.state,
        # "integration not configured: jira" reaches the CLI where Cortex puts a rule's error.
        "error": (result.message or None) if result.state in (RuleState.ERROR, RuleState.NOT_CONFIGURED) else None,
    }


def service_score_of(
    score: EntityScore, rules: dict[int, Rule], results: list[RuleResult], exemptions: list[Exemption]
) -> dict:
    return {
        "service": service_of(score.entity),
        "score": {
            "summary": {
                "score": score.score,
                "totalPossibleScore": score.total_possible,
                "percentage": score.percentage,
            },
            "ladderLevels": [level_of(score.level)] if score.level_id else [],
            "rules": [rule_score_of(rules[r.rule_id], r) for r in results if r.rule_id in rules],
        },
        "lastEvaluated": iso(score.evaluated_at),
        "ruleExemptions": [exemption_of(e, with_rule=True) for e in exemptions],
    }


def entity_git_of(entity: Entity) -> dict | None:
    """The first git provider's repository: `{provider, repository}`, or None."""
    git = entity.git or {}
    for provider in ("github", "gitlab", "bitbucket", "azure"):
        if isinstance(git.get(provider), dict) and git[provider].get("repository"):
            return {"provider": provider, "repository": git[provider]["repository"]}
    return None


def entity_owners_of(entity: Entity) -> dict:
    """`entity.owners` (with `team`) must be prefetched."""
    owners = list(entity.owners.all())
    return {
        "teams": [
            {"tag": o.name, "name": o.team.name if o.team is not None else o.name, "isArchived": False}
            for o in owners
            if o.kind == OwnerKind.GROUP
        ],
        "individuals": [
            {"email": o.email, "description": o.description or None} for o in owners if o.kind == OwnerKind.EMAIL
        ],
    }


def entity_links_of(entity: Entity) -> list[dict]:
    return [{"name": link.name, "type": link.type, "url": link.url} for link in entity.links.all()]


def entity_metadata_of(entity: Entity) -> list[dict]:
    return [{"key": row.key, "value": row.value} for row in entity.custom_data.all()]


def entity_of(entity: Entity) -> dict:
    """Catalog entity details (`owners`, `links`, `custom_data`, `parent_links` prefetched)."""
    return {
        "id": entity.public_id,
        "tag": entity.tag,
        "name": entity.name,
        "type": entity.type,
        "description": entity.description or None,
        "groups": [{"tag": group} for group in entity.groups or []],
        "isArchived": entity.archived,
        "lastUpdated": iso(entity.updated_at),
        "owners": entity_owners_of(entity),
        "links": entity_links_of(entity),
        "metadata": entity_metadata_of(entity),
        "hierarchy": {"parents": [{"tag": p.tag} for p in entity.parent_links.all()], "children": []},
        "git": entity_git_of(entity),
    }


def entity_summary_of(entity: Entity, *, owners: bool = False, links: bool = False, metadata: bool = False) -> dict:
    """One entity of `GET /catalog` (Cortex's summary); owners, links and metadata only when asked for (and
    then prefetched). Groups are plain strings here, as in Cortex's list."""
    body: dict[str, Any] = {
        "id": entity.public_id,
        "tag": entity.tag,
        "name": entity.name,
        "type": entity.type,
        "description": entity.description or None,
        "groups": list(entity.groups or []),
        "isArchived": entity.archived,
        "lastUpdated": iso(entity.updated_at),
        "git": entity_git_of(entity),
    }
    if owners:
        body["owners"] = entity_owners_of(entity)
    if links:
        body["links"] = entity_links_of(entity)
    if metadata:
        body["metadata"] = entity_metadata_of(entity)
    return body


def custom_data_of(row) -> dict:
    return {
        "id": row.pk,
        "key": row.key,
        "value": row.value,
        "description": row.description or None,
        # Cortex's names: keys set through the API, or in the entity's descriptor (YAML).
        "source": "API" if row.source == "api" else "YAML",
        "dateUpdated": iso(row.updated_at),
    }


# --- deploys, custom events, custom metrics -------------------------------------------------------------


def deploy_of(deploy) -> dict:
    """`{uuid, title, type, sha, environment, url, timestamp, deployer: {name, email} | null, customData}`."""
    from apps.activity.selectors import deploy_row_of

    return {**deploy_row_of(deploy), "timestamp": iso(deploy.timestamp)}


def custom_event_of(event) -> dict:
    """`{uuid, title, type, description, url, timestamp, customData}`."""
    from apps.activity.selectors import custom_event_row_of

    return {**custom_event_row_of(event), "timestamp": iso(event.timestamp)}


def custom_metric_point_of(point) -> dict:
    return {"timestamp": iso(point.timestamp), "value": point.value}


def custom_metric_of(metric) -> dict:
    return {
        "key": metric.key,
        "name": metric.name,
        "valence": metric.valence,
        "category": metric.category or None,
        "description": metric.description or None,
        "isDraft": metric.is_draft,
        "type": "PUBLIC_API",
        "createdAt": iso(metric.created_at),
        "updatedAt": iso(metric.updated_at),
    }


# --- dependencies and relationships ----------------------------------------------------------------------


def dependency_of(row) -> dict:
    """`caller` and `callee` loaded (select_related); `calleeType` is null for a callee not in the catalog."""
    return {
        "callerTag": row.caller.tag,
        "callerType": row.caller.type,
        "calleeTag": row.callee_tag,
        "calleeType": row.callee.type if row.callee is not None else None,
        "method": row.method or None,
        "path": row.path or None,
        "description": row.description or None,
        "metadata": row.metadata or {},
        # Where it was defined: the caller's descriptor ("YAML", as custom data says) or the API.
        "source": "API" if row.source == "api" else "YAML",
    }


def relationship_type_of(rtype) -> dict:
    return {
        "tag": rtype.tag,
        "name": rtype.name,
        "description": rtype.description or None,
        "definitionLocation": rtype.definition_location,
        "allowCycles": rtype.allow_cycles,
        "createCatalog": rtype.create_catalog,
        "isSingleSource": rtype.is_single_source,
        "isSingleDestination": rtype.is_single_destination,
        "sourcesFilter": rtype.sources_filter or {"include": False, "types": []},
        "destinationsFilter": rtype.destinations_filter or {"include": False, "types": []},
        "inheritances": rtype.inheritances or [],
        "isCortexManaged": False,
        "sourceLabelSingular": rtype.source_label_singular or None,
        "sourceLabelPlural": rtype.source_label_plural or None,
        "destinationLabelSingular": rtype.destination_label_singular or None,
        "destinationLabelPlural": rtype.destination_label_plural or None,
    }


def relation_end_of(tag: str, entity: Entity | None) -> dict:
    """One end of a link: the entity, or just its tag while it is not in the catalog."""
    return {
        "id": entity.public_id if entity is not None else None,
        "tag": tag,
        "name": entity.name if entity is not None else None,
        "type": entity.type if entity is not None else None,
        "description": (entity.description or None) if entity is not None else None,
    }


def relationship_of(link) -> dict:
    """`type`, `source_entity` and `destination_entity` loaded. The ends come twice: as `source` and
    `destination` (what the CLI's table shows) and as `sourceEntity` and `destinationEntity` (what its
    backup import reads)."""
    source = relation_end_of(link.source_tag, link.source_entity)
    destination = relation_end_of(link.destination_tag, link.destination_entity)
    return {
        "relationshipTypeTag": link.type.tag,
        "source": source,
        "destination": destination,
        "sourceEntity": source,
        "destinationEntity": destination,
        "providerType": "API" if link.origin == "api" else "YAML",
    }
