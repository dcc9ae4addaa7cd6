"""Writes to dependencies and entity relationships (services): from descriptors and from the API.

Every write announces the entities at both ends (`score_inputs_changed`), since rules read
`dependencies.in()` / `.out()` and `entity.sources()` / `.destinations()` from either side. Rows a
descriptor declared belong to it: applying the descriptor again replaces them and keeps the API's; the API
may not change them (dependencies), or only with `force` (relationships), until the descriptor is applied
again, as in Cortex.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q

from apps.catalog.models import (
    DefinitionLocation,
    Entity,
    EntityDependency,
    EntityRelationship,
    RecordSource,
    RelationshipType,
    normalise_tag,
)
from apps.core.errors import ApplicationError, NotFoundError, Problem, ValidationFailed
from apps.core.races import LostCreateRace, insert_or_lose_race
from apps.core.score_inputs import score_inputs_changed


def _refuse(message: str, path: str = "") -> ValidationFailed:
    return ValidationFailed(problems=[Problem(message, path=path)])


def _conflict(message: str) -> ApplicationError:
    return ApplicationError(message, code="conflict")


def _entity(tag_or_id: str, *, field: str = "") -> Entity:
    """The entity by tag or id: a 404 for one named in the path, a 400 naming `field` for one in a body."""
    entity = Entity.objects.by_tag_or_id(tag_or_id).first()
    if entity is None:
        if field:
            raise _refuse(f"entity {tag_or_id!r} does not exist", field)
        raise NotFoundError(f"entity {tag_or_id!r} does not exist")
    return entity


def _ids(*groups: Iterable[int | None]) -> set[int]:
    return {pk for group in groups for pk in group if pk is not None}


# --- applied with an entity descriptor -------------------------------------------------------------------


def descriptor_relations_state(entity: Entity) -> dict[str, Any]:
    """What the entity's descriptor put in place, in `descriptor_relations_wanted`'s shape."""
    dependencies = sorted(
        (d.callee_tag, d.method, d.path, d.description, d.metadata)
        for d in entity.dependencies_out.filter(source=RecordSource.DESCRIPTOR)
    )
    links = sorted(
        entity.declared_relationships.filter(origin=RecordSource.DESCRIPTOR).values_list(
            "type__tag", "source_tag", "destination_tag"
        )
    )
    return {"dependencies": dependencies, "relationships": links}


def descriptor_relations_wanted(tag: str, dependencies: list[dict], relationships: list[dict]) -> dict[str, Any]:
    return {
        "dependencies": sorted(
            (d["tag"], d["method"], d["path"], d["description"], d["metadata"]) for d in dependencies
        ),
        "relationships": sorted(
            [(r["type"], tag, other) for r in relationships for other in r.get("destinations", [])]
            + [(r["type"], other, tag) for r in relationships for other in r.get("sources", [])]
        ),
    }


def descriptor_relations_apply(*, entity: Entity, dependencies: list[dict], relationships: list[dict]) -> set[int]:
    """Replace the dependencies and relationships the entity's descriptor declares (inside entity_apply's
    transaction), and link rows elsewhere that named this entity's tag before it existed. Returns the ids of
    the other entities whose inputs changed, for the caller's announcement. Raises ValidationFailed (and the
    transaction writes nothing) for an unknown relationship type or a link its type forbids."""
    touched: set[int] = set()

    # Dependencies: the descriptor's rows are replaced; an API row for the same edge becomes the descriptor's.
    old = list(entity.dependencies_out.filter(source=RecordSource.DESCRIPTOR).values_list("callee_id", flat=True))
    entity.dependencies_out.filter(source=RecordSource.DESCRIPTOR).delete()
    callees = {e.tag: e for e in Entity.objects.filter(tag__in=[d["tag"] for d in dependencies])}
    if dependencies:
        EntityDependency.objects.bulk_create(
            [
                EntityDependency(
                    caller=entity,
                    callee_tag=d["tag"],
                    callee=callees.get(d["tag"]),
                    method=d["method"],
                    path=d["path"],
                    description=d["description"],
                    metadata=d["metadata"],
                    source=RecordSource.DESCRIPTOR,
                )
                for d in dependencies
            ],
            update_conflicts=True,
            unique_fields=["caller", "callee_tag", "method", "path"],
            update_fields=["callee", "description", "metadata", "source", "updated_at"],
        )
    touched |= _ids(old, (e.pk for e in callees.values()))

    # Relationships declared by this descriptor.
    types = {t.tag: t for t in RelationshipType.objects.filter(tag__in=[r["type"] for r in relationships])}
    wanted: list[tuple[RelationshipType, str, str]] = []
    problems = []
    for block in relationships:
        rtype = types.get(block["type"])
        if rtype is None:
            problems.append(
                Problem(f"relationship type {block['type']!r} does not exist", path=f"{block['path']}.type")
            )
            continue
        if block.get("sources") and rtype.definition_location == DefinitionLocation.SOURCE:
            problems.append(
                Problem(
                    f"relationships of type {rtype.tag!r} are defined by the source entity: list its 'destinations'",
                    path=f"{block['path']}.sources",
                )
            )
            continue
        if block.get("destinations") and rtype.definition_location == DefinitionLocation.DESTINATION:
            problems.append(
                Problem(
                    f"relationships of type {rtype.tag!r} are defined by the destination entity: list its 'sources'",
                    path=f"{block['path']}.destinations",
                )
            )
            continue
        wanted += [(rtype, entity.tag, other) for other in block.get("destinations", [])]
        wanted += [(rtype, other, entity.tag) for other in block.get("sources", [])]
    if problems:
        raise ValidationFailed(problems=problems)

    declared = EntityRelationship.objects.filter(declared_by=entity, origin=RecordSource.DESCRIPTOR)
    touched |= _ids(*zip(*declared.values_list("source_entity_id", "destination_entity_id"), strict=False))
    declared.delete()
    by_type: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for rtype, source_tag, destination_tag in wanted:
        by_type[rtype.pk].append((source_tag, destination_tag))
    paths = {b["type"]: b["path"] for b in relationships}
    for rtype in {t.pk: t for t, _, _ in wanted}.values():
        _check_links(rtype, add=by_type[rtype.pk], path=paths[rtype.tag])
    touched |= _write_links(wanted, origin=RecordSource.DESCRIPTOR, declared_by=entity, take_over=True)

    # References written before this entity existed now find it.
    touched |= set(
        EntityDependency.objects.filter(callee_tag=entity.tag, callee__isnull=True).values_list("caller_id", flat=True)
    )
    EntityDependency.objects.filter(callee_tag=entity.tag, callee__isnull=True).update(callee=entity)
    for end, other in (("source", "destination"), ("destination", "source")):
        waiting = EntityRelationship.objects.filter(**{f"{end}_tag": entity.tag, f"{end}_entity__isnull": True})
        touched |= _ids(waiting.values_list(f"{other}_entity_id", flat=True))
        waiting.update(**{f"{end}_entity": entity})
    touched.discard(entity.pk)
    return touched


# --- relationship rules -------------------------------------------------------------------------------------


def _filter_allows(rules: dict | None, entity_type: str) -> bool:
    """`{"include": true, "types": [...]}` admits only those types; `include: false` admits all but them."""
    types = [str(t).lower() for t in (rules or {}).get("types") or []]
    if not types:
        return True
    return (entity_type.lower() in types) == bool((rules or {}).get("include", True))


def _check_links(
    rtype: RelationshipType, *, add: list[tuple[str, str]], remove: Q | None = None, path: str = "relationships"
) -> None:
    """Refuse links the type forbids: entity types outside its filters, a second source or destination when
    it allows one, and cycles (a link to oneself included) unless it allows them. `remove` selects existing
    links about to go. Two queries: the entity types, and the type's links."""
    problems = []
    tags = {tag for pair in add for tag in pair}
    types = dict(Entity.objects.filter(tag__in=tags).values_list("tag", "type"))
    for source, destination in add:
        if source in types and not _filter_allows(rtype.sources_filter, types[source]):
            problems.append(
                Problem(f"{rtype.tag!r} cannot have sources of type {types[source]!r} ({source})", path=path)
            )
        if destination in types and not _filter_allows(rtype.destinations_filter, types[destination]):
            problems.append(
                Problem(
                    f"{rtype.tag!r} cannot have destinations of type {types[destination]!r} ({destination})", path=path
                )
            )
    existing = EntityRelationship.objects.filter(type=rtype)
    if remove is not None:
        existing = existing.exclude(remove)
    links = set(existing.values_list("source_tag", "destination_tag")) | set(add)
    if rtype.is_single_destination or rtype.is_single_source:
        destinations: dict[str, set[str]] = defaultdict(set)
        sources: dict[str, set[str]] = defaultdict(set)
        for source, destination in links:
            destinations[source].add(destination)
            sources[destination].add(source)
        if rtype.is_single_destination:
            problems += [
                Problem(f"{rtype.tag!r} allows one destination per entity; {tag} would have {len(d)}", path=path)
                for tag, d in sorted(destinations.items())
                if len(d) > 1
            ]
        if rtype.is_single_source:
            problems += [
                Problem(f"{rtype.tag!r} allows one source per entity; {tag} would have {len(s)}", path=path)
                for tag, s in sorted(sources.items())
                if len(s) > 1
            ]
    if not rtype.allow_cycles:
        cycle = _a_cycle(links)
        if cycle:
            problems.append(Problem(f"{rtype.tag!r} does not allow cycles: {' -> '.join(cycle)}", path=path))
    if problems:
        raise ValidationFailed(problems=problems)


def _a_cycle(links: set[tuple[str, str]]) -> list[str] | None:
    """One cycle of the directed graph, as tags from its start back to it, or None."""
    graph: dict[str, list[str]] = defaultdict(list)
    for source, destination in sorted(links):
        graph[source].append(destination)
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(graph[start]))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return path[path.index(child) :] + [child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(graph.get(child, []))))
    return None


def _write_links(
    links: list[tuple[RelationshipType, str, str]],
    *,
    origin: str,
    declared_by: Entity | None = None,
    take_over: bool = False,
) -> set[int]:
    """Insert links (type, source tag, destination tag), linked to the entities that exist. An existing link
    is kept as it is, unless `take_over` (a descriptor claims it). Returns the ids of the entities at the ends."""
    if not links:
        return set()
    entities = {e.tag: e for e in Entity.objects.filter(tag__in={t for _, s, d in links for t in (s, d)})}
    rows = [
        EntityRelationship(
            type=rtype,
            source_tag=source,
            source_entity=entities.get(source),
            destination_tag=destination,
            destination_entity=entities.get(destination),
            origin=origin,
            declared_by=declared_by,
        )
        for rtype, source, destination in links
    ]
    if take_over:
        EntityRelationship.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["type", "source_tag", "destination_tag"],
            update_fields=["origin", "declared_by", "source_entity", "destination_entity"],
        )
    else:
        EntityRelationship.objects.bulk_create(rows, ignore_conflicts=True)
    return {e.pk for e in entities.values()}


# --- dependencies through the API ---------------------------------------------------------------------------


def _dependency(caller: Entity, callee_tag: str, method: str, path: str) -> EntityDependency | None:
    return (
        EntityDependency.objects.select_related("caller", "callee")
        .filter(caller=caller, callee_tag=callee_tag, method=method, path=path)
        .first()
    )


def _callee_tag(tag_or_id: str) -> str:
    """A callee named by tag (in any letter case), or by id when that entity exists."""
    ref = normalise_tag(tag_or_id)
    found = Entity.objects.filter(public_id=ref).values_list("tag", flat=True).first()
    return found or ref


@transaction.atomic
def dependency_create(
    *, caller: Entity, callee_tag_or_id: str, method: str = "", path: str = "", description: str = "", metadata: dict
) -> EntityDependency:
    """Add a dependency through the API; both entities must exist. Refused (409) when that edge exists."""
    callee = _entity(callee_tag_or_id)
    existing = _dependency(caller, callee.tag, method, path)
    if existing is not None:
        where = "the caller's descriptor" if existing.source == RecordSource.DESCRIPTOR else "the API"
        raise _conflict(f"{caller.tag} already depends on {callee.tag}{_endpoint(method, path)} (defined in {where})")
    if callee.pk == caller.pk:
        raise _refuse("an entity cannot depend on itself", "calleeTag")
    try:
        # The edge's unique constraint decides between two creates of it at once; the loser is the conflict.
        row = insert_or_lose_race(
            lambda: EntityDependency.objects.create(
                caller=caller,
                callee_tag=callee.tag,
                callee=callee,
                method=method,
                path=path,
                description=description,
                metadata=metadata,
                source=RecordSource.API,
            ),
            exists=lambda: _dependency(caller, callee.tag, method, path) is not None,
        )
    except LostCreateRace:
        raise _conflict(f"{caller.tag} already depends on {callee.tag}{_endpoint(method, path)}") from None
    score_inputs_changed(
        entity_ids=[caller.pk, callee.pk], why=f"dependency {caller.tag} -> {callee.tag}{_endpoint(method, path)} added"
    )
    return row


def _endpoint(method: str, path: str) -> str:
    return f" {method} {path}" if method else ""


def _api_dependency(caller: Entity, callee_tag_or_id: str, method: str, path: str, *, verb: str) -> EntityDependency:
    callee_tag = _callee_tag(callee_tag_or_id)
    row = _dependency(caller, callee_tag, method, path)
    if row is None:
        raise NotFoundError(f"{caller.tag} has no dependency on {callee_tag}{_endpoint(method, path)}")
    if row.source == RecordSource.DESCRIPTOR:
        raise _refuse(
            f"the dependency on {callee_tag}{_endpoint(method, path)} is defined in {caller.tag}'s descriptor; "
            f"{verb} it there"
        )
    return row


def dependency_get(*, caller: Entity, callee_tag_or_id: str, method: str = "", path: str = "") -> EntityDependency:
    callee_tag = _callee_tag(callee_tag_or_id)
    row = _dependency(caller, callee_tag, method, path)
    if row is None:
        raise NotFoundError(f"{caller.tag} has no dependency on {callee_tag}{_endpoint(method, path)}")
    return row


@transaction.atomic
def dependency_update(
    *, caller: Entity, callee_tag_or_id: str, method: str = "", path: str = "", description: str = "", metadata: dict
) -> EntityDependency:
    """Replace the description and metadata of a dependency made through the API."""
    row = _api_dependency(caller, callee_tag_or_id, method, path, verb="change")
    EntityDependency.objects.filter(pk=row.pk).update(description=description, metadata=metadata)
    row.refresh_from_db()
    score_inputs_changed(
        entity_ids=_ids([caller.pk, row.callee_id]), why=f"dependency {caller.tag} -> {row.callee_tag} updated"
    )
    return row


@transaction.atomic
def dependency_delete(*, caller: Entity, callee_tag_or_id: str, method: str = "", path: str = "") -> None:
    row = _api_dependency(caller, callee_tag_or_id, method, path, verb="remove")
    row.delete()
    score_inputs_changed(
        entity_ids=_ids([caller.pk, row.callee_id]), why=f"dependency {caller.tag} -> {row.callee_tag} deleted"
    )


@transaction.atomic
def dependencies_delete_all(*, caller: Entity) -> int:
    """Delete the caller's outgoing dependencies made through the API (its descriptor's stay)."""
    rows = EntityDependency.objects.filter(caller=caller, source=RecordSource.API)
    callees = set(rows.values_list("callee_id", flat=True))
    deleted, _ = rows.delete()
    if deleted:
        score_inputs_changed(entity_ids=_ids([caller.pk], callees), why=f"dependencies of {caller.tag} deleted")
    return deleted


def _bulk_targets(values: dict[str, list[dict]]) -> tuple[dict[str, Entity], dict[str, Entity]]:
    """Every caller and callee the bulk body names, each checked to exist (400 naming the field)."""
    callers = {key: _entity(key, field=f"values.{key}") for key in values}
    named = {item["tag"] for items in values.values() for item in items}
    found = _by_reference(named)
    for key, items in values.items():
        for index, item in enumerate(items):
            if item["tag"] not in found:
                raise _refuse(f"entity {item['tag']!r} does not exist", f"values.{key}[{index}].tag")
    return callers, found


def _by_reference(refs: Iterable[str]) -> dict[str, Entity]:
    """The entities named by `refs` (tags in any letter case, or ids), keyed by the reference as given."""
    refs = set(refs)
    entities = list(Entity.objects.by_tags_or_ids(refs))
    index = {e.tag: e for e in entities} | {e.public_id: e for e in entities}
    return {ref: index[normalise_tag(ref)] for ref in refs if normalise_tag(ref) in index}


@transaction.atomic
def dependencies_bulk_upsert(*, values: dict[str, list[dict]]) -> dict[str, list[EntityDependency]]:
    """Create or update many dependencies made through the API: all, or on any refusal (an unknown entity,
    an edge a descriptor defines) none. Items are {tag, method, path, description, metadata}."""
    callers, callees = _bulk_targets(values)
    touched: set[int] = set()
    out: dict[str, list[EntityDependency]] = {}
    for key, items in values.items():
        caller = callers[key]
        out[key] = []
        for index, item in enumerate(items):
            callee = callees[item["tag"]]
            if callee.pk == caller.pk:
                raise _refuse("an entity cannot depend on itself", f"values.{key}[{index}].tag")
            existing = _dependency(caller, callee.tag, item["method"], item["path"])
            if existing is not None and existing.source == RecordSource.DESCRIPTOR:
                raise _refuse(
                    f"the dependency on {callee.tag}{_endpoint(item['method'], item['path'])} is defined in "
                    f"{caller.tag}'s descriptor",
                    f"values.{key}[{index}]",
                )
            row, _ = EntityDependency.objects.update_or_create(
                caller=caller,
                callee_tag=callee.tag,
                method=item["method"],
                path=item["path"],
                defaults={
                    "callee": callee,
                    "description": item["description"],
                    "metadata": item["metadata"],
                    "source": RecordSource.API,
                },
            )
            row.caller, row.callee = caller, callee
            out[key].append(row)
            touched |= {caller.pk, callee.pk}
    score_inputs_changed(entity_ids=touched, why="dependencies added in bulk")
    return out


@transaction.atomic
def dependencies_bulk_delete(*, values: dict[str, list[dict]]) -> int:
    """Delete many dependencies made through the API; ones that do not exist are skipped. All or nothing:
    an unknown caller, or an edge a descriptor defines, refuses the whole request."""
    callers = {key: _entity(key, field=f"values.{key}") for key in values}
    rows = []
    for key, items in values.items():
        caller = callers[key]
        for index, item in enumerate(items):
            row = _dependency(caller, _callee_tag(item["tag"]), item["method"], item["path"])
            if row is None:
                continue
            if row.source == RecordSource.DESCRIPTOR:
                raise _refuse(
                    f"the dependency on {row.callee_tag} is defined in {caller.tag}'s descriptor",
                    f"values.{key}[{index}]",
                )
            rows.append(row)
    EntityDependency.objects.filter(pk__in=[r.pk for r in rows]).delete()
    if rows:
        score_inputs_changed(
            entity_ids=_ids((r.caller_id for r in rows), (r.callee_id for r in rows)),
            why="dependencies deleted in bulk",
        )
    return len(rows)


# --- relationship types --------------------------------------------------------------------------------------

TYPE_FIELDS = (
    "name",
    "description",
    "definition_location",
    "allow_cycles",
    "create_catalog",
    "is_single_source",
    "is_single_destination",
    "sources_filter",
    "destinations_filter",
    "inheritances",
    "source_label_singular",
    "source_label_plural",
    "destination_label_singular",
    "destination_label_plural",
)


@transaction.atomic
def relationship_type_create(*, tag: str, fields: dict[str, Any]) -> RelationshipType:
    """Create a type; a tag in use is a conflict (409). The tag's unique constraint decides, so of two creates of
    one new tag at once, one succeeds and the other is the conflict, as if it had come second."""
    values = {k: v for k, v in fields.items() if k in TYPE_FIELDS}
    try:
        return insert_or_lose_race(
            lambda: RelationshipType.objects.create(tag=tag, **values),
            exists=RelationshipType.objects.filter(tag=tag).exists,
        )
    except LostCreateRace:
        raise _conflict(f"relationship type {tag!r} already exists") from None


@transaction.atomic
def relationship_type_update(*, tag: str, fields: dict[str, Any]) -> RelationshipType:
    """Replace a type's definition. Links already made stay, even ones its new rules would refuse."""
    rtype = RelationshipType.objects.select_for_update().filter(tag=tag).first()
    if rtype is None:
        raise NotFoundError(f"relationship type {tag!r} does not exist")
    for name, value in fields.items():
        if name in TYPE_FIELDS:
            setattr(rtype, name, value)
    rtype.save()
    return rtype


@transaction.atomic
def relationship_type_delete(*, tag: str) -> None:
    """Delete a type and every link of it; the entities at their ends are re-scored."""
    rtype = RelationshipType.objects.filter(tag=tag).first()
    if rtype is None:
        raise NotFoundError(f"relationship type {tag!r} does not exist")
    ends = _ids(*zip(*rtype.relationships.values_list("source_entity_id", "destination_entity_id"), strict=False))
    rtype.delete()
    score_inputs_changed(entity_ids=ends, why=f"relationship type {tag} deleted")


def relationship_type_for(tag: str) -> RelationshipType:
    rtype = RelationshipType.objects.filter(tag=tag).first()
    if rtype is None:
        raise NotFoundError(f"relationship type {tag!r} does not exist")
    return rtype


# --- relationships through the API ---------------------------------------------------------------------------


def _other_ends(tags: list[str], field: str) -> dict[str, Entity]:
    """Entities named in a body, by tag or id, each checked to exist (400 naming `field[index]`)."""
    found = _by_reference(tags)
    for index, tag in enumerate(tags):
        if tag not in found:
            raise _refuse(f"entity {tag!r} does not exist", f"{field}[{index}]")
    return found


@transaction.atomic
def relationships_set_for_entity(
    *, entity: Entity, rtype: RelationshipType, side: str, others: list[str], replace: bool, force: bool = False
) -> None:
    """Add (or with `replace`, set exactly) the entity's destinations (side "destinations") or sources
    ("sources") of one type. Replacing removes links a descriptor declared only with `force` (they come back
    when that descriptor is applied again)."""
    found = _other_ends(others, side)
    tags = list(dict.fromkeys(found[t].tag for t in others))
    if side == "destinations":
        pairs = [(entity.tag, t) for t in tags]
        mine = Q(source_tag=entity.tag)
        theirs = "destination_tag"
    else:
        pairs = [(t, entity.tag) for t in tags]
        mine = Q(destination_tag=entity.tag)
        theirs = "source_tag"
    going = Q(pk__in=[])
    if replace:
        going = mine & ~Q(**{f"{theirs}__in": tags})
    stale = EntityRelationship.objects.filter(type=rtype).filter(going)
    _refuse_descriptor_links(stale, force=force, field=side)
    _check_links(rtype, add=pairs, remove=going, path=side)
    touched = _ids(*zip(*stale.values_list("source_entity_id", "destination_entity_id"), strict=False))
    stale.delete()
    touched |= _write_links([(rtype, s, d) for s, d in pairs], origin=RecordSource.API)
    score_inputs_changed(entity_ids=touched | {entity.pk}, why=f"{rtype.tag} {side} of {entity.tag} set")


def _refuse_descriptor_links(rows, *, force: bool, field: str) -> None:
    if force:
        return
    declared = list(rows.filter(origin=RecordSource.DESCRIPTOR).values_list("source_tag", "destination_tag")[:5])
    if declared:
        listed = ", ".join(f"{s} -> {d}" for s, d in declared)
        raise _refuse(f"links a descriptor declares would be removed ({listed}); use force to override", field)


@transaction.atomic
def relationships_bulk_set(
    *, rtype: RelationshipType, pairs: list[tuple[str, str]], replace: bool, force: bool = False
) -> list[tuple[str, str]]:
    """Add (or with `replace`, set exactly) the links of a type, as (source, destination) tags or ids; every
    entity must exist. All or nothing. Returns the links as tags."""
    sources = _other_ends([s for s, _ in pairs], "relationships.source")
    destinations = _other_ends([d for _, d in pairs], "relationships.destination")
    links = list(dict.fromkeys((sources[s].tag, destinations[d].tag) for s, d in pairs))
    going = Q(pk__in=[])
    if replace:
        keep = Q(pk__in=[])
        for source, destination in links:
            keep |= Q(source_tag=source, destination_tag=destination)
        going = ~keep
    stale = EntityRelationship.objects.filter(type=rtype).filter(going)
    _refuse_descriptor_links(stale, force=force, field="relationships")
    _check_links(rtype, add=links, remove=going)
    touched = _ids(*zip(*stale.values_list("source_entity_id", "destination_entity_id"), strict=False))
    stale.delete()
    touched |= _write_links([(rtype, s, d) for s, d in links], origin=RecordSource.API)
    score_inputs_changed(entity_ids=touched, why=f"{rtype.tag} relationships set")
    return links
