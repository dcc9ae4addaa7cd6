"""Cortex v1: entity references in paths, query parameters and bodies ignore letter case."""

from __future__ import annotations

import pytest

from apps.catalog.models import CustomData, Entity, EntityDependency, EntityRelationship
from tests.api.cortex.conftest import BAD, GOOD, TAG, entity_yaml, make_entity
from tests.api.cortex.test_relations import TYPE

pytestmark = pytest.mark.django_db


def test_catalog_path_finds_the_entity_by_any_case(world, viewer, bearer):
    response = bearer(viewer).get(f"/api/v1/catalog/{GOOD.upper()}")
    assert response.status_code == 200, response.content
    assert response.json()["tag"] == GOOD


def test_descriptor_with_a_mixed_case_tag_updates_the_lower_case_entity(world, editor, bearer):
    text = entity_yaml("Good-SVC")
    dry = bearer(editor).post("/api/v1/open-api?dryRun=true", text, content_type="application/yaml")
    assert (dry.json()["action"], dry.json()["tag"]) == ("would update", GOOD)
    applied = bearer(editor).post("/api/v1/open-api", text, content_type="application/yaml")
    assert applied.status_code == 200, applied.content
    assert (applied.json()["tag"], applied.json()["id"]) == (GOOD, world.good.public_id)
    assert Entity.objects.count() == 2


def test_custom_data_bulk_body_names_entities_in_any_case(world, editor, bearer):
    body = {"values": {"Good-Svc": [{"key": "region", "value": "eu"}], BAD.upper(): [{"key": "region", "value": "us"}]}}
    response = bearer(editor).put("/api/v1/catalog/custom-data", body, format="json")
    assert response.status_code == 200, response.content
    assert dict(CustomData.objects.filter(key="region").values_list("entity__tag", "value")) == {GOOD: "eu", BAD: "us"}


def test_dependencies_in_path_and_bulk_body_ignore_case(world, editor, bearer):
    client = bearer(editor)
    made = client.post(f"/api/v1/catalog/{GOOD.upper()}/dependencies/Bad-Svc", {}, format="json")
    assert made.status_code == 200, made.content
    assert (made.json()["callerTag"], made.json()["calleeTag"]) == (GOOD, BAD)
    assert client.get("/api/v1/catalog/Good-Svc/dependencies/BAD-SVC").status_code == 200
    bulk = {"values": {"BAD-svc": [{"tag": "Good-SVC", "method": "GET", "path": "/x"}]}}
    response = client.put("/api/v1/catalog/dependencies", bulk, format="json")
    assert response.status_code == 200, response.content
    assert sorted(EntityDependency.objects.values_list("caller__tag", "callee_tag", "callee__tag")) == [
        (BAD, GOOD, GOOD),
        (GOOD, BAD, BAD),
    ]
    assert client.delete("/api/v1/catalog/good-svc/dependencies/Bad-Svc").status_code == 200


def test_relationship_bodies_name_entities_in_any_case(world, editor, bearer):
    client = bearer(editor)
    client.post(
        "/api/v1/relationship-types", {**TYPE, "sourcesFilter": None, "destinationsFilter": None}, format="json"
    )
    make_entity("svc-a")
    url = f"/api/v1/catalog/{GOOD.upper()}/relationships/{TYPE['tag']}/destinations"
    added = client.post(url, {"destinations": ["SVC-A"]}, format="json")
    assert added.status_code == 200, added.content
    assert [d["tag"] for d in added.json()["destinations"]] == ["svc-a"]
    pairs = {"relationships": [{"source": "Bad-Svc", "destination": "Svc-A"}]}
    bulk = client.post(f"/api/v1/relationships/{TYPE['tag']}", pairs, format="json")
    assert bulk.status_code == 200, bulk.content
    assert sorted(
        EntityRelationship.objects.values_list("source_tag", "destination_tag", "destination_entity__tag")
    ) == [
        (BAD, "svc-a", "svc-a"),
        (GOOD, "svc-a", "svc-a"),
    ]


def test_scorecard_queries_name_entities_and_teams_in_any_case(world, viewer, bearer):
    client = bearer(viewer)
    scores = client.get(f"/api/v1/scorecards/{TAG}/scores", {"entityTag": GOOD.upper()}).json()
    assert [s["service"]["tag"] for s in scores["serviceScores"]] == [GOOD]
    listed = client.get("/api/v1/scorecards", {"entities": "Good-Svc"}).json()
    assert [s["tag"] for s in listed["scorecards"]] == [TAG]
    assert client.get(f"/api/v1/scorecards/{TAG}/entity/{BAD.upper()}/badge").status_code == 200
