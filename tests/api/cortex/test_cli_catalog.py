"""The real Cortex CLI against the live server: `cortex catalog patch`, `catalog delete-by-id` and
`catalog list-descriptors`, checking what it prints and what it stored."""

from __future__ import annotations

import json

import pytest

from apps.accounts.roles import EDITOR, VIEWER
from apps.catalog.models import CustomData, Entity
from apps.core.yamlio import load_yaml
from tests.api.cortex.test_cli import BAD, GOOD, cortex, services, write  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(240),
]


def test_patch_merges_appends_and_deletes(cortex, write, key_for, services):  # noqa: F811
    editor = key_for(EDITOR).key
    text = (
        "openapi: 3.0.1\ninfo:\n"
        f"  x-cortex-tag: {GOOD}\n"
        "  x-cortex-groups:\n    - tier-1\n"
        "  x-cortex-owners: __delete__\n"
        "  x-cortex-custom-metadata:\n    region: eu\n"
    )
    path = write("patch.yaml", text)
    dry = cortex(editor, "catalog", "patch", "-f", path, "--dry-run", "--append-arrays").json
    assert (dry["ok"], dry["action"], dry["tag"]) == (True, "would update", GOOD)
    assert Entity.objects.get(tag=GOOD).groups == ["payments"]

    done = cortex(editor, "catalog", "patch", "-f", path, "--append-arrays").json
    assert (done["ok"], done["action"], done["id"]) == (True, "updated", services[GOOD].public_id)
    good = Entity.objects.get(tag=GOOD)
    assert good.groups == ["payments", "tier-1"]
    assert not good.owners.exists()  # x-cortex-owners: __delete__ (the CLI's default marker)
    assert dict(CustomData.objects.filter(entity=good).values_list("key", "value")) == {"tier": 1, "region": "eu"}

    # Without --append-arrays a list is replaced.
    cortex(editor, "catalog", "patch", "-f", write("groups.yaml", text.replace("tier-1", "core"))).succeeded()
    assert Entity.objects.get(tag=GOOD).groups == ["core"]


def test_delete_by_id_with_flags_or_a_file(cortex, write, key_for, services):  # noqa: F811
    editor = key_for(EDITOR).key
    cortex(editor, "catalog", "delete-by-id", "-i", services[GOOD].public_id).succeeded()
    assert not Entity.objects.filter(tag=GOOD).exists()
    others = [Entity.objects.create(tag=f"cli-extra-{i}", name="Extra") for i in range(3)]
    ids = write("ids.txt", "\n".join([services[BAD].public_id, *(e.public_id for e in others)]) + "\n")
    cortex(editor, "catalog", "delete-by-id", "-f", ids, "--batch-size", "2").succeeded()
    assert not Entity.objects.exists()


def test_list_descriptors_every_page_or_one(cortex, key_for, services):  # noqa: F811
    viewer = key_for(VIEWER).key
    Entity.objects.bulk_create(Entity(tag=f"cli-many-{i:03}", name=f"Many {i}") for i in range(260))
    # Without --page the CLI walks every page of 250 (page 0, then 1) and joins them.
    every = cortex(viewer, "catalog", "list-descriptors").json
    assert every["total"] == 262
    tags = [d["info"]["x-cortex-tag"] for d in every["descriptors"]]
    assert len(set(tags)) == 262 and tags[0] == BAD

    one = cortex(viewer, "catalog", "list-descriptors", "--page", "1", "--page-size", "100", "-y").json
    assert (one["page"], one["total"], one["totalPages"], len(one["descriptors"])) == (1, 262, 3, 100)
    assert all(isinstance(text, str) for text in one["descriptors"])
    assert load_yaml(one["descriptors"][0])["info"]["x-cortex-tag"] == "cli-many-098"

    teams = cortex(viewer, "catalog", "list-descriptors", "-t", "team").json
    assert json.dumps(teams["descriptors"]) == "[]"
