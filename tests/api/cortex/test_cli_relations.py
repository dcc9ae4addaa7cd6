"""The real Cortex CLI against the live server: `cortex dependencies`, `cortex entity-relationship-types` and
`cortex entity-relationships`, every subcommand, checking what it prints and what it stored."""

from __future__ import annotations

import json

import pytest

from apps.accounts.roles import EDITOR, VIEWER
from apps.catalog.models import EntityDependency, EntityRelationship, RelationshipType
from tests.api.cortex.conftest import entity_yaml
from tests.api.cortex.test_cli import cortex, write  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(240),
]

CALLER, CALLEE = "cli-caller", "cli-callee"


@pytest.fixture
def entities(db):
    from apps.catalog.services import entity_apply_descriptor

    made = {tag: entity_apply_descriptor(text=entity_yaml(tag))[0] for tag in (CALLER, CALLEE)}
    skill = entity_yaml("cli-skill").replace("type: service", "type: ai-skill")
    made["cli-skill"] = entity_apply_descriptor(text=skill)[0]
    return made


def test_dependencies_commands(cortex, write, key_for, entities):  # noqa: F811
    editor, viewer = key_for(EDITOR).key, key_for(VIEWER).key

    created = cortex(
        editor, "dependencies", "create", "-r", CALLER, "-e", CALLEE, "-m", "GET", "-p", "/api/v1/audit-logs",
        "-d", "reads the log", "-c", "team=core",
    ).json  # fmt: skip
    assert (created["callerTag"], created["calleeTag"], created["method"], created["path"]) == (
        CALLER, CALLEE, "GET", "/api/v1/audit-logs",
    )  # fmt: skip
    assert (created["description"], created["metadata"]) == ("reads the log", {"team": "core"})

    update_file = write("update.json", json.dumps({"description": "updated", "metadata": {"newField": "data"}}))
    updated = cortex(
        editor, "dependencies", "update", "-r", CALLER, "-e", CALLEE, "-m", "GET", "-p", "/api/v1/audit-logs",
        "-f", update_file,
    ).json  # fmt: skip
    assert (updated["description"], updated["metadata"]) == ("updated", {"newField": "data"})

    got = cortex(
        viewer, "dependencies", "get", "-r", CALLER, "-e", CALLEE, "-m", "GET", "-p", "/api/v1/audit-logs"
    ).json
    assert got["description"] == "updated"

    bulk = {
        "values": {
            CALLER: [
                {"tag": CALLEE, "method": "GET", "path": "/api/v1/github/configurations", "description": "bulk",
                 "metadata": {"someField": "data"}}
            ]
        }
    }  # fmt: skip
    bulk_file = write("bulk.json", json.dumps(bulk))
    cortex(editor, "dependencies", "add-in-bulk", "-f", bulk_file).succeeded()
    assert EntityDependency.objects.filter(caller__tag=CALLER).count() == 2

    outgoing = cortex(viewer, "dependencies", "get-all", "-r", CALLER, "-o").json
    assert sorted(d["path"] for d in outgoing["dependencies"]) == [
        "/api/v1/audit-logs",
        "/api/v1/github/configurations",
    ]
    # The CLI's default: incoming only.
    incoming = cortex(viewer, "dependencies", "get-all", "-r", CALLEE).json
    assert {d["callerTag"] for d in incoming["dependencies"]} == {CALLER}
    one_page = cortex(viewer, "dependencies", "get-all", "-r", CALLER, "-o", "-p", "0", "-z", "1").json
    assert (one_page["total"], one_page["totalPages"], len(one_page["dependencies"])) == (2, 2, 1)

    # A viewer cannot write; an unknown callee is named.
    cortex(viewer, "dependencies", "create", "-r", CALLER, "-e", CALLEE).failed_with("HTTP Error 403")
    cortex(editor, "dependencies", "create", "-r", CALLER, "-e", "ghost").failed_with("ghost")

    cortex(
        editor, "dependencies", "delete", "-r", CALLER, "-e", CALLEE, "-m", "GET", "-p", "/api/v1/audit-logs"
    ).succeeded()
    assert EntityDependency.objects.count() == 1
    cortex(editor, "dependencies", "delete-in-bulk", "-f", bulk_file).succeeded()
    assert EntityDependency.objects.count() == 0
    cortex(editor, "dependencies", "add-in-bulk", "-f", bulk_file).succeeded()
    cortex(editor, "dependencies", "delete-all", "-r", CALLER).succeeded()
    assert EntityDependency.objects.count() == 0


TYPE = {
    "tag": "ai-skill-service",
    "name": "AI skill of a service",
    "description": "Which services a skill serves.",
    "definitionLocation": "SOURCE",
    "isSingleSource": False,
    "isSingleDestination": False,
    "allowCycles": False,
    "sourcesFilter": {"include": True, "types": ["ai-skill"], "providers": []},
    "destinationsFilter": {"include": True, "types": ["service"], "providers": []},
    "inheritances": [],
}


def test_relationship_type_commands(cortex, write, key_for, db):  # noqa: F811
    editor, viewer = key_for(EDITOR).key, key_for(VIEWER).key
    created = cortex(editor, "entity-relationship-types", "create", "-f", write("type.json", json.dumps(TYPE))).json
    assert (created["tag"], created["definitionLocation"], created["createCatalog"]) == (
        "ai-skill-service", "SOURCE", False,
    )  # fmt: skip
    listed = cortex(viewer, "entity-relationship-types", "list").json
    assert [t["tag"] for t in listed["relationshipTypes"]] == ["ai-skill-service"]
    got = cortex(viewer, "entity-relationship-types", "get", "-t", "ai-skill-service").json
    assert got["destinationsFilter"]["types"] == ["service"]
    changed = {**TYPE, "name": "Serves", "allowCycles": True}
    updated = cortex(
        editor,
        "entity-relationship-types",
        "update",
        "-t",
        "ai-skill-service",
        "-f",
        write("t2.json", json.dumps(changed)),
    ).json
    assert (updated["name"], updated["allowCycles"]) == ("Serves", True)
    cortex(viewer, "entity-relationship-types", "delete", "-t", "ai-skill-service").failed_with("HTTP Error 403")
    cortex(editor, "entity-relationship-types", "delete", "-t", "ai-skill-service").succeeded()
    assert not RelationshipType.objects.exists()
    cortex(viewer, "entity-relationship-types", "get", "-t", "ai-skill-service").failed_with("HTTP Error 404")


def test_relationship_commands(cortex, write, key_for, entities):  # noqa: F811
    editor, viewer = key_for(EDITOR).key, key_for(VIEWER).key
    cortex(editor, "entity-relationship-types", "create", "-f", write("type.json", json.dumps(TYPE))).succeeded()
    kind = ("-r", "ai-skill-service")

    added = cortex(
        editor, "entity-relationships", "add-destinations", "-e", "cli-skill", *kind,
        "-f", write("d.json", json.dumps({"destinations": [CALLER]})),
    ).json  # fmt: skip
    assert [d["tag"] for d in added["destinations"]] == [CALLER]
    destinations = cortex(viewer, "entity-relationships", "list-destinations", "-e", "cli-skill", *kind).json
    assert [(d["tag"], d["type"]) for d in destinations["destinations"]] == [(CALLER, "service")]

    replaced = cortex(
        editor, "entity-relationships", "update-destinations", "-e", "cli-skill", *kind,
        "-f", write("d2.json", json.dumps({"destinations": [CALLEE]})),
    ).json  # fmt: skip
    assert [d["tag"] for d in replaced["destinations"]] == [CALLEE]

    sources = cortex(viewer, "entity-relationships", "list-sources", "-e", CALLEE, *kind).json
    assert [s["tag"] for s in sources["sources"]] == ["cli-skill"]
    cortex(
        editor, "entity-relationships", "update-sources", "-e", CALLER, *kind,
        "-f", write("s.json", json.dumps({"sources": ["cli-skill"]})),
    ).succeeded()  # fmt: skip
    cortex(
        editor, "entity-relationships", "add-sources", "-e", CALLER, *kind,
        "-f", write("s2.json", json.dumps({"sources": ["cli-skill"]})),
    ).succeeded()  # fmt: skip
    assert EntityRelationship.objects.count() == 2

    listed = cortex(viewer, "entity-relationships", "list", *kind).json
    assert sorted((r["source"]["tag"], r["destination"]["tag"]) for r in listed["relationships"]) == [
        ("cli-skill", CALLEE),
        ("cli-skill", CALLER),
    ]
    cortex(
        editor, "entity-relationships", "update-bulk", *kind,
        "-f", write("b.json", json.dumps({"relationships": [{"source": "cli-skill", "destination": CALLER}]})),
    ).succeeded()  # fmt: skip
    assert list(EntityRelationship.objects.values_list("destination_tag", flat=True)) == [CALLER]
    cortex(
        editor, "entity-relationships", "add-bulk", *kind,
        "-f", write("b2.json", json.dumps({"relationships": [{"source": "cli-skill", "destination": CALLEE}]})),
    ).succeeded()  # fmt: skip
    assert EntityRelationship.objects.count() == 2

    # The type's filter refuses a service as a source; the CLI prints why.
    cortex(
        editor, "entity-relationships", "add-bulk", *kind,
        "-f", write("b3.json", json.dumps({"relationships": [{"source": CALLER, "destination": CALLEE}]})),
    ).failed_with("cannot have sources of type")  # fmt: skip
    cortex(
        viewer, "entity-relationships", "add-bulk", *kind, "-f", write("b4.json", json.dumps({"relationships": []}))
    ).failed_with("HTTP Error 403")
