"""Writes to the catalog: applying descriptors (idempotent upserts), importing folders, custom data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from apps.catalog.descriptors import (
    EntitySpec,
    entity_descriptor_document,
    merge_descriptor,
    parse_entity_descriptor,
)
from apps.catalog.models import (
    CustomData,
    CustomDataSource,
    Entity,
    EntityLink,
    EntityOwner,
    EntityPackage,
    EntityParent,
    OwnerKind,
    normalise_tag,
)
from apps.catalog.relations import (
    descriptor_relations_apply,
    descriptor_relations_state,
    descriptor_relations_wanted,
)
from apps.core.errors import NotFoundError, Problem, ValidationFailed
from apps.core.races import insert_or_lose_race, retry_lost_races
from apps.core.score_inputs import score_inputs_batch, score_inputs_changed
from apps.core.yamlio import dump_yaml, load_yaml

_ENTITY_FIELDS = ("name", "type", "description", "groups", "git", "git_url", "oncall", "slos", "archived")


def _owner_rows(spec: EntitySpec) -> list[tuple]:
    return [(o["kind"], o["name"], o["email"], o["description"]) for o in spec.owners]


def _current_state(entity: Entity) -> dict[str, Any]:
    return {
        **{name: getattr(entity, name) for name in _ENTITY_FIELDS},
        "owners": list(entity.owners.order_by("id").values_list("kind", "name", "email", "description")),
        "parents": list(entity.parent_links.order_by("id").values_list("tag", flat=True)),
        "links": list(entity.links.order_by("id").values_list("name", "type", "url")),
        "custom": {
            c.key: (c.value, c.description) for c in entity.custom_data.filter(source=CustomDataSource.DESCRIPTOR)
        },
        "packages": sorted(entity.packages.values_list("name", "version", "manager")),
        **descriptor_relations_state(entity),
    }


def _desired_state(spec: EntitySpec) -> dict[str, Any]:
    return {
        **{name: getattr(spec, name) for name in _ENTITY_FIELDS},
        "owners": _owner_rows(spec),
        "parents": list(spec.parents),
        "links": [(link["name"], link["type"], link["url"]) for link in spec.links],
        "custom": dict(spec.custom),
        "packages": sorted((p["name"], p["version"], p["manager"]) for p in spec.packages),
        **descriptor_relations_wanted(spec.tag, spec.dependencies, spec.relationships),
    }


def entity_apply(*, spec: EntitySpec) -> tuple[Entity, str]:
    """Create or update the entity named by `spec.tag` so it matches the descriptor exactly.

    Returns (entity, "created" | "updated" | "unchanged"); an unchanged descriptor writes nothing.
    Custom data set through the API under other keys is kept; keys the descriptor defines win. So are
    dependencies and relationships made through the API; the descriptor's own are replaced, and the entities
    at their other ends are announced for re-scoring too.

    Idempotent under concurrency: when two applies create the same new tag at once, the tag's unique
    constraint picks the winner and the loser applies again as an update (apps.core.races), so both succeed.
    """
    return retry_lost_races(lambda: _entity_apply(spec=spec))


@transaction.atomic
def _entity_apply(*, spec: EntitySpec) -> tuple[Entity, str]:
    """One attempt of `entity_apply`; raises LostCreateRace when a concurrent apply created the tag first."""
    entity = Entity.objects.select_for_update().filter(tag=spec.tag).first()
    created = entity is None
    desired = _desired_state(spec)
    if entity is not None and _current_state(entity) == desired and entity.descriptor == spec.document:
        return entity, "unchanged"

    if entity is None:
        entity = Entity(tag=spec.tag)
    for name in _ENTITY_FIELDS:
        setattr(entity, name, getattr(spec, name))
    entity.descriptor = spec.document
    try:
        entity.full_clean(exclude=["public_id", "descriptor", "git", "oncall", "slos", "groups", "tag"])
    except DjangoValidationError as exc:
        raise ValidationFailed(
            problems=[Problem(f"{field}: {' '.join(msgs)}") for field, msgs in exc.message_dict.items()]
        ) from exc
    if created:
        insert_or_lose_race(entity.save, exists=Entity.objects.filter(tag=spec.tag).exists)
    else:
        entity.save()

    teams = {t.tag: t for t in Entity.objects.filter(type="team", tag__in=[o["name"] for o in spec.owners])}
    entity.owners.all().delete()
    EntityOwner.objects.bulk_create(
        EntityOwner(
            entity=entity,
            kind=o["kind"],
            name=o["name"],
            email=o["email"],
            description=o["description"],
            team=teams.get(o["name"]) if o["kind"] == OwnerKind.GROUP else None,
        )
        for o in spec.owners
    )
    parents = {p.tag: p for p in Entity.objects.filter(tag__in=spec.parents)}
    entity.parent_links.all().delete()
    EntityParent.objects.bulk_create(
        EntityParent(entity=entity, tag=tag, parent=parents.get(tag)) for tag in dict.fromkeys(spec.parents)
    )
    entity.links.all().delete()
    EntityLink.objects.bulk_create(EntityLink(entity=entity, **link) for link in spec.links)
    entity.packages.all().delete()
    EntityPackage.objects.bulk_create(EntityPackage(entity=entity, **package) for package in spec.packages)

    entity.custom_data.filter(source=CustomDataSource.DESCRIPTOR).exclude(key__in=list(spec.custom)).delete()
    if spec.custom:
        CustomData.objects.bulk_create(
            [
                CustomData(entity=entity, key=key, value=value, description=desc, source=CustomDataSource.DESCRIPTOR)
                for key, (value, desc) in spec.custom.items()
            ],
            update_conflicts=True,
            unique_fields=["entity", "key"],
            update_fields=["value", "description", "source", "updated_at"],
        )

    # References written before this entity existed now find it.
    if entity.type == "team":
        EntityOwner.objects.filter(kind=OwnerKind.GROUP, name=entity.tag, team__isnull=True).update(team=entity)
    EntityParent.objects.filter(tag=entity.tag, parent__isnull=True).update(parent=entity)
    others = descriptor_relations_apply(entity=entity, dependencies=spec.dependencies, relationships=spec.relationships)
    score_inputs_changed(
        entity_ids=[entity.pk, *sorted(others)], why=f"entity {entity.tag} {'created' if created else 'updated'}"
    )
    return entity, "created" if created else "updated"


def entity_apply_descriptor(
    *, text: str, source: str = "", base_dir: Path | None = None, dry_run: bool = False
) -> tuple[Entity | None, str, list[Problem]]:
    """Validate and (unless dry_run) apply one descriptor. Raises ValidationFailed and writes nothing on error."""
    return _apply_descriptor(text=text, source=source, base_dir=base_dir, dry_run=dry_run, apply=entity_apply)


def _apply_descriptor(
    *, text: str, source: str, base_dir: Path | None, dry_run: bool, apply: Callable[..., tuple[Entity, str]]
) -> tuple[Entity | None, str, list[Problem]]:
    spec, warnings = parse_entity_descriptor(text, source=source, base_dir=base_dir)
    if dry_run:
        existing = Entity.objects.filter(tag=spec.tag).first()
        return existing, "valid", warnings
    entity, action = apply(spec=spec)
    return entity, action, warnings


def entity_patch_descriptor(
    *,
    text: str,
    source: str = "",
    append_arrays: bool = False,
    delete_marker: str | None = None,
    fail_if_missing: bool = False,
    dry_run: bool = False,
) -> tuple[str, Entity | None, str, list[Problem]]:
    """Merge a partial descriptor into the entity its `x-cortex-tag` names (see `merge_descriptor`), then
    validate and apply the merged descriptor as a whole: (tag, entity, action, warnings), the last three as
    `entity_apply_descriptor` gives them. With no such entity the partial descriptor is the whole one, unless
    `fail_if_missing` makes that a NotFoundError. The entity's row is locked from read to write, so two
    patches at once each merge into the other's result. Raises ValidationFailed and writes nothing on error;
    the lines its problems name are those of the merged descriptor.

    When two patches create the same new entity at once, the loser merges into the winner's entity (the tag's
    unique constraint decides; apps.core.races), as it would have had it come second."""
    return retry_lost_races(
        lambda: _entity_patch_descriptor(
            text=text,
            source=source,
            append_arrays=append_arrays,
            delete_marker=delete_marker,
            fail_if_missing=fail_if_missing,
            dry_run=dry_run,
        )
    )


@transaction.atomic
def _entity_patch_descriptor(
    *, text: str, source: str, append_arrays: bool, delete_marker: str | None, fail_if_missing: bool, dry_run: bool
) -> tuple[str, Entity | None, str, list[Problem]]:
    patch = load_yaml(text, source=source)
    info = patch.get("info") if isinstance(patch, dict) else None
    tag = info.get("x-cortex-tag") if isinstance(info, dict) else None
    if not isinstance(tag, str) or not tag.strip():
        raise ValidationFailed(
            problems=[Problem("is required: it names the entity to patch", path="info.x-cortex-tag", source=source)]
        )
    entity = (
        Entity.objects.select_for_update()
        .filter(tag=normalise_tag(tag.strip()))
        .prefetch_related(
            "owners",
            "parent_links",
            "links",
            "custom_data",
            "packages",
            "dependencies_out",
            "declared_relationships__type",
        )
        .first()
    )
    if entity is None and fail_if_missing:
        raise NotFoundError(f"entity {tag!r} does not exist")
    base = entity_descriptor_document(entity) if entity is not None else {}
    merged = merge_descriptor(base, patch, append_arrays=append_arrays, delete_marker=delete_marker)
    merged_source = f"{source} (merged)" if source else "merged descriptor"
    # The single attempt, so a lost create race reaches entity_patch_descriptor, which merges again.
    applied, action, warnings = _apply_descriptor(
        text=dump_yaml(merged), source=merged_source, base_dir=None, dry_run=dry_run, apply=_entity_apply
    )
    return normalise_tag(tag.strip()), applied, action, warnings


@dataclass
class ImportReport:
    """What `catalog_import` did, file by file."""

    results: list[tuple[str, str, str]] = field(default_factory=list)  # (file, tag, action)
    failures: list[tuple[str, ValidationFailed]] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for _, _, a in self.results if a == action)


def descriptor_files(paths: list[str | Path]) -> list[Path]:
    """The YAML files named or found (recursively, in name order) under the given paths."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise NotFoundError(f"{path}: no such file or folder")
    return files


def catalog_import(*, paths: list[str | Path], dry_run: bool = False) -> ImportReport:
    """Apply every descriptor found; each file is all-or-nothing, and a bad file does not stop the others.

    The entities that changed are re-scored together once the import ends (one announcement).
    """
    with score_inputs_batch():
        return _catalog_import(paths=paths, dry_run=dry_run)


def _catalog_import(*, paths: list[str | Path], dry_run: bool) -> ImportReport:
    report = ImportReport()
    for path in descriptor_files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.failures.append(
                (str(path), ValidationFailed(problems=[Problem(f"cannot read: {exc}", source=str(path))]))
            )
            continue
        try:
            entity, action, warnings = entity_apply_descriptor(
                text=text, source=str(path), base_dir=path.parent, dry_run=dry_run
            )
        except ValidationFailed as exc:
            report.failures.append((str(path), exc))
            continue
        report.warnings.extend(warnings)
        tag = entity.tag if entity else ""
        report.results.append((str(path), tag, action))
    return report


@transaction.atomic
def entity_delete(*, tag_or_id: str) -> None:
    entity = Entity.objects.by_tag_or_id(tag_or_id).first()
    if entity is None:
        raise NotFoundError(f"entity {tag_or_id!r} does not exist")
    entity.delete()


@transaction.atomic
def entity_delete_many(*, ids: list[str]) -> int:
    """Delete the entities named by id (`en...`) or tag: all of them, or, when any is unknown, none (a
    NotFoundError naming every unknown one). Returns how many were deleted."""
    wanted = list(dict.fromkeys(i for i in ids if i))
    entities = list(Entity.objects.by_tags_or_ids(wanted).only("pk", "public_id", "tag"))
    known = {e.public_id for e in entities} | {e.tag for e in entities}
    unknown = [i for i in wanted if normalise_tag(i) not in known]
    if unknown:
        raise NotFoundError(f"no entity has the id or tag {', '.join(repr(i) for i in unknown)}; nothing was deleted")
    Entity.objects.filter(pk__in=[e.pk for e in entities]).delete()
    return len(entities)


@transaction.atomic
def custom_data_set(*, entity: Entity, key: str, value: Any, description: str = "", force: bool = False) -> CustomData:
    """Set one key through the API. A key the descriptor defines stays the descriptor's unless `force`,
    and then only until the descriptor is applied again (as in Cortex)."""
    existing = CustomData.objects.select_for_update().filter(entity=entity, key=key).first()
    if existing and existing.source == CustomDataSource.DESCRIPTOR and not force:
        raise ValidationFailed(
            problems=[
                Problem(
                    f"custom data key {key!r} is defined in the entity's descriptor; change it there or use force",
                    path="key",
                )
            ]
        )
    row, _ = CustomData.objects.update_or_create(
        entity=entity, key=key, defaults={"value": value, "description": description, "source": CustomDataSource.API}
    )
    score_inputs_changed(entity_ids=[entity.pk], why=f"custom data {key} set on {entity.tag}")
    return row


@transaction.atomic
def custom_data_delete(*, entity: Entity, key: str, force: bool = False) -> None:
    """Delete a key set through the API; with `force`, a descriptor's key too (until it is applied again)."""
    rows = CustomData.objects.filter(entity=entity, key=key)
    if not force:
        rows = rows.filter(source=CustomDataSource.API)
    deleted, _ = rows.delete()
    if deleted:
        score_inputs_changed(entity_ids=[entity.pk], why=f"custom data {key} deleted from {entity.tag}")
    if not deleted:
        defined = CustomData.objects.filter(entity=entity, key=key).exists()
        if defined:
            raise ValidationFailed(
                problems=[
                    Problem(f"custom data key {key!r} is defined in the entity's descriptor; use force", path="key")
                ]
            )
        raise NotFoundError(f"entity {entity.tag!r} has no custom data key {key!r}")


def custom_data_bulk_set(
    *, values: dict[str, list[tuple[str, Any, str]]], force: bool = False
) -> dict[str, list[CustomData]]:
    """Set (key, value, description) items on many entities, named by tag or id: all of them or, on any
    refusal (an unknown entity, a descriptor's key without `force`), none. The entities are announced
    for re-scoring together."""
    with score_inputs_batch():
        return _custom_data_bulk_set(values=values, force=force)


@transaction.atomic
def _custom_data_bulk_set(*, values: dict[str, list[tuple[str, Any, str]]], force: bool) -> dict[str, list[CustomData]]:
    entities = {}
    for tag_or_id in values:
        entity = Entity.objects.by_tag_or_id(tag_or_id).first()
        if entity is None:
            raise NotFoundError(f"entity {tag_or_id!r} does not exist")
        entities[tag_or_id] = entity
    return {
        tag_or_id: [
            custom_data_set(entity=entities[tag_or_id], key=key, value=value, description=description, force=force)
            for key, value, description in items
        ]
        for tag_or_id, items in values.items()
    }


def _set_archived(*, tag_or_id: str, archived: bool) -> tuple[Entity, bool]:
    """One conditional UPDATE: (entity, whether it changed). Asking twice answers the same, writing once."""
    from django.utils import timezone

    entity = Entity.objects.by_tag_or_id(tag_or_id).first()
    if entity is None:
        raise NotFoundError(f"entity {tag_or_id!r} does not exist")
    changed = bool(
        Entity.objects.filter(pk=entity.pk, archived=not archived).update(archived=archived, updated_at=timezone.now())
    )
    entity.refresh_from_db(fields=["archived", "updated_at"])
    return entity, changed


@transaction.atomic
def entity_archive(*, tag_or_id: str) -> tuple[Entity, bool]:
    """Archive an entity: once committed it leaves every scorecard (the evaluation side removes its scores
    and rule results, as a full run does for archived entities) and is no longer evaluated. Returns
    (entity, changed)."""
    entity, changed = _set_archived(tag_or_id=tag_or_id, archived=True)
    if changed:
        score_inputs_changed(entity_ids=[entity.pk], why=f"entity {entity.tag} archived")
    return entity, changed


@transaction.atomic
def entity_unarchive(*, tag_or_id: str) -> tuple[Entity, bool]:
    """Unarchive an entity; once committed it is evaluated on every published scorecard again."""
    entity, changed = _set_archived(tag_or_id=tag_or_id, archived=False)
    if changed:
        score_inputs_changed(entity_ids=[entity.pk], why=f"entity {entity.tag} unarchived")
    return entity, changed
