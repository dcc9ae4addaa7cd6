"""Reads of the catalog shaped for their callers.

`relations_bulk` is what the rule evaluator calls to answer `dependencies.out()`, `dependencies.in()`,
`entity.destinations(relationshipType = ...)` and `entity.sources(relationshipType = ...)` for many
entities at once: one query per requested kind, whatever the number of entities.

Shapes (every requested entity id maps to every requested kind, an empty list when it has none):

    {entity_id: {
        "dependencies_out": [Dependency, ...],   # this entity depends on the other end (the callee)
        "dependencies_in":  [Dependency, ...],   # the other end (the caller) depends on this entity
        "destinations":     [Relation, ...],     # links of any type from this entity to the other end
        "sources":          [Relation, ...],     # links of any type from the other end to this entity
    }}

    Dependency = {"tag": str, "name": str | None, "type": str | None,      # the entity at the other end
                  "method": str | None, "path": str | None,                # null for the whole entity
                  "description": str | None, "metadata": dict}
    Relation   = {"tag": str, "name": str | None, "type": str | None,      # the entity at the other end
                  "relationshipType": str}                                 # the relationship type's tag

`type` is the other entity's type ("service", "domain", "team", or a resource type such as
"AWS::S3::Bucket"); `name` and `type` are null when the other end is not in the catalog (yet). Other ends
that are archived are left out, as Cortex leaves archived entities out of rules. Rows come sorted by the
other end's tag (then method and path, or relationship type), so results are stable.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import cast

from apps.catalog.models import EntityDependency, EntityRelationship

RELATION_KINDS = frozenset({"dependencies_out", "dependencies_in", "destinations", "sources"})


def _dependency_row(tag: str, other, row: EntityDependency) -> dict:
    return {
        "tag": tag,
        "name": other.name if other is not None else None,
        "type": other.type if other is not None else None,
        "method": row.method or None,
        "path": row.path or None,
        "description": row.description or None,
        "metadata": row.metadata or {},
    }


def _relation_row(tag: str, other, row: EntityRelationship) -> dict:
    return {
        "tag": tag,
        "name": other.name if other is not None else None,
        "type": other.type if other is not None else None,
        "relationshipType": row.type.tag,
    }


def relations_bulk(entity_ids: Sequence[int], kinds: Collection[str]) -> dict[int, dict[str, list[dict]]]:
    """Dependencies and relationships of `entity_ids`, by kind (see the module docstring for the shapes).
    At most one query per kind; none for an empty `entity_ids`. Unknown kinds raise ValueError."""
    unknown = set(kinds) - RELATION_KINDS
    if unknown:
        raise ValueError(f"unknown relation kinds: {', '.join(sorted(unknown))}")
    ids = list(dict.fromkeys(entity_ids))
    result: dict[int, dict[str, list[dict]]] = {pk: {kind: [] for kind in kinds} for pk in ids}
    if not ids:
        return result
    if "dependencies_out" in kinds:
        rows = (
            EntityDependency.objects.filter(caller_id__in=ids)
            .exclude(callee__archived=True)
            .select_related("callee")
            .order_by("caller_id", "callee_tag", "method", "path", "id")
        )
        for row in rows:
            result[row.caller_id]["dependencies_out"].append(_dependency_row(row.callee_tag, row.callee, row))
    if "dependencies_in" in kinds:
        rows = (
            EntityDependency.objects.filter(callee_id__in=ids, caller__archived=False)
            .select_related("caller")
            .order_by("callee_id", "caller__tag", "method", "path", "id")
        )
        for row in rows:
            result[cast(int, row.callee_id)]["dependencies_in"].append(_dependency_row(row.caller.tag, row.caller, row))
    if "destinations" in kinds:
        links = (
            EntityRelationship.objects.filter(source_entity_id__in=ids)
            .exclude(destination_entity__archived=True)
            .select_related("type", "destination_entity")
            .order_by("source_entity_id", "destination_tag", "type__tag")
        )
        for link in links:
            result[cast(int, link.source_entity_id)]["destinations"].append(
                _relation_row(link.destination_tag, link.destination_entity, link)
            )
    if "sources" in kinds:
        links = (
            EntityRelationship.objects.filter(destination_entity_id__in=ids)
            .exclude(source_entity__archived=True)
            .select_related("type", "source_entity")
            .order_by("destination_entity_id", "source_tag", "type__tag")
        )
        for link in links:
            result[cast(int, link.destination_entity_id)]["sources"].append(
                _relation_row(link.source_tag, link.source_entity, link)
            )
    return result
