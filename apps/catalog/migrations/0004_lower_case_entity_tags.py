"""Entity tags, and references to them, in one form: lower case (see `apps.catalog.models.normalise_tag`).

Rewrites every entity tag and every reference to one (owner teams, parents, dependencies, relationship ends)
in lower case, then links references that now find their entity. It merges nothing: if two existing rows
would become the same (two entities `Payments-API` and `payments-api`, or one entity listing the same parent
twice in two spellings), it refuses, names every collision and writes nothing. Retag or remove one of each pair
(the admin, or a descriptor applied with the other tag) and run `migrate` again. Running it on tags that are
already lower case changes nothing.
"""

from __future__ import annotations

import string
from collections import defaultdict

from django.db import migrations

_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_UPPER = f"[{string.ascii_uppercase}]"


def _norm(value: str) -> str:
    # A copy of normalise_tag as it is today: a migration must not change when the app's code does.
    return value.translate(_LOWER)


def _collisions(rows, key) -> list[str]:
    """Rows (pk, *values) that `key` maps to the same normalised identity, described one group a line."""
    groups: dict[tuple, list[str]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return [" / ".join(repr(r[1:]) for r in group) for group in groups.values() if len(group) > 1]


def lower_case_tags(apps, schema_editor):
    Entity = apps.get_model("catalog", "Entity")
    EntityOwner = apps.get_model("catalog", "EntityOwner")
    EntityParent = apps.get_model("catalog", "EntityParent")
    EntityDependency = apps.get_model("catalog", "EntityDependency")
    EntityRelationship = apps.get_model("catalog", "EntityRelationship")

    problems: list[str] = []
    tags = list(Entity.objects.values_list("pk", "tag"))
    problems += [f"entities {c}" for c in _collisions(tags, lambda r: (_norm(r[1]),))]
    parents = list(EntityParent.objects.values_list("pk", "entity_id", "tag"))
    problems += [f"parents of entity id {c}" for c in _collisions(parents, lambda r: (r[1], _norm(r[2])))]
    deps = list(EntityDependency.objects.values_list("pk", "caller_id", "callee_tag", "method", "path"))
    problems += [f"dependencies {c}" for c in _collisions(deps, lambda r: (r[1], _norm(r[2]), r[3], r[4]))]
    links = list(EntityRelationship.objects.values_list("pk", "type_id", "source_tag", "destination_tag"))
    problems += [f"relationships {c}" for c in _collisions(links, lambda r: (r[1], _norm(r[2]), _norm(r[3])))]
    if problems:
        listed = "\n  ".join(problems)
        raise RuntimeError(
            "Entity tags now ignore letter case, and these rows differ only by it:\n  "
            f"{listed}\n"
            "Nothing was changed. Retag or delete one of each (the admin, or a descriptor with another "
            "x-cortex-tag), then run migrate again."
        )

    for model, field in (
        (Entity, "tag"),
        (EntityOwner, "name"),
        (EntityParent, "tag"),
        (EntityDependency, "callee_tag"),
        (EntityRelationship, "source_tag"),
        (EntityRelationship, "destination_tag"),
    ):
        changed = [
            model(pk=pk, **{field: _norm(value)})
            for pk, value in model.objects.filter(**{f"{field}__regex": _UPPER}).values_list("pk", field)
        ]
        model.objects.bulk_update(changed, [field], batch_size=500)

    # References that differed from their entity's tag only by case find it now.
    ids = dict(Entity.objects.values_list("tag", "pk"))
    team_ids = dict(Entity.objects.filter(type="team").values_list("tag", "pk"))
    for model, tag_field, fk_field, known in (
        (EntityOwner, "name", "team", team_ids),
        (EntityParent, "tag", "parent", ids),
        (EntityDependency, "callee_tag", "callee", ids),
        (EntityRelationship, "source_tag", "source_entity", ids),
        (EntityRelationship, "destination_tag", "destination_entity", ids),
    ):
        waiting = model.objects.filter(**{f"{fk_field}__isnull": True}).exclude(**{tag_field: ""})
        if model is EntityOwner:
            waiting = waiting.filter(kind="group")
        linked = [
            model(pk=pk, **{f"{fk_field}_id": known[tag]})
            for pk, tag in waiting.values_list("pk", tag_field)
            if tag in known
        ]
        model.objects.bulk_update(linked, [fk_field], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_resource_types"),
    ]

    operations = [
        migrations.RunPython(lower_case_tags, migrations.RunPython.noop),
    ]
