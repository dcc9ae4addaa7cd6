"""Datadog v2 campaigns over HTTP: shapes per API_CONTRACT §3 / seed 003, every status code."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.campaigns.models import Campaign
from apps.campaigns.services import owner_uuid_for
from tests.campaigns.world import build_world

pytestmark = pytest.mark.django_db
URL = "/api/v2/scorecard/campaigns"
ATTRIBUTES = {"key", "name", "owner", "status", "start_date", "due_date", "description", "entity_scope",
              "guidance", "created_at", "modified_at"}  # fmt: skip


@pytest.fixture
def world(db):
    return build_world()


def body(world, owner_uuid, **changes) -> dict:
    attributes = {
        "key": "q1-security-2024", "name": "Q1 Security Campaign", "owner_id": str(owner_uuid),
        "rule_ids": [str(world.r1.identifier), str(world.r2.identifier)], "start_date": "2024-01-01T00:00:00+00:00",
        "due_date": "2024-03-31T23:59:59.000Z", "status": "in_progress", "description": "Security posture.",
        "entity_scope": 'entity.type() = "service"', "guidance": "Please **pass**.",
    }  # fmt: skip
    attributes.update(changes)
    return {"data": {"type": "campaign", "attributes": {k: v for k, v in attributes.items() if v is not ...}}}


@pytest.fixture
def created(world, admin, bearer):
    response = bearer(admin).post(URL, body(world, owner_uuid_for(user=admin.user)), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def test_create_answers_201_with_the_campaign(world, admin, bearer):
    owner = owner_uuid_for(user=admin.user)
    response = bearer(admin).post(URL, body(world, owner), format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["type"] == "campaign" and uuid.UUID(data["id"])
    attrs = data["attributes"]
    assert set(attrs) == ATTRIBUTES
    assert attrs["owner"] == str(owner) and "owner_id" not in attrs
    assert (attrs["key"], attrs["name"], attrs["status"]) == ("q1-security-2024", "Q1 Security Campaign", "in_progress")
    assert attrs["start_date"] == "2024-01-01T00:00:00.000Z"
    assert attrs["due_date"] == "2024-03-31T23:59:59.000Z"
    assert attrs["created_at"].endswith("Z")
    campaign = Campaign.objects.get(pk=data["id"])
    assert set(campaign.rules.all()) == {world.r1, world.r2}


def test_create_defaults_status_and_optional_fields(world, admin, bearer):
    document = body(world, owner_uuid_for(user=admin.user), status=..., due_date=..., description=..., guidance=...,
                    entity_scope=...)  # fmt: skip
    response = bearer(admin).post(URL, document, format="json")
    attrs = response.json()["data"]["attributes"]
    assert response.status_code == 201
    assert (attrs["status"], attrs["due_date"], attrs["description"], attrs["entity_scope"]) == (
        "not_started", None, "", "")  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"key": ...}, "/data/attributes/key"),
        ({"name": ...}, "/data/attributes/name"),
        ({"owner_id": ...}, "/data/attributes/owner_id"),
        ({"owner_id": "not-a-uuid"}, "/data/attributes/owner_id"),
        ({"rule_ids": ...}, "/data/attributes/rule_ids"),
        ({"rule_ids": []}, "/data/attributes/rule_ids"),
        ({"rule_ids": ["2a4f524e-168a-429d-bb75-7b1ffeab0cbb"]}, "/data/attributes/rule_ids"),
        ({"start_date": ...}, "/data/attributes/start_date"),
        ({"start_date": "2024-01-01"}, "/data/attributes/start_date"),
        ({"status": "paused"}, "/data/attributes/status"),
        ({"due_date": "2023-01-01T00:00:00Z"}, "/data/attributes/due_date"),
        ({"key": "no spaces"}, "/data/attributes/key"),
        ({"entity_scope": "entity.type( ="}, "/data/attributes/entity_scope"),
    ],
)
def test_create_refuses_bad_attributes_with_400_naming_the_field(world, admin, bearer, changes, pointer):
    response = bearer(admin).post(URL, body(world, owner_uuid_for(user=admin.user), **changes), format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert pointer in [e.get("source", {}).get("pointer") for e in errors], errors
    assert all(e["status"] == "400" and e["title"] == "Bad Request" for e in errors)
    assert not Campaign.objects.exists()


def test_bad_scope_names_the_column(world, admin, bearer):
    response = bearer(admin).post(URL, body(world, owner_uuid_for(user=admin.user), entity_scope="entity.type( ="),
                                  format="json")  # fmt: skip
    (error,) = response.json()["errors"]
    assert "entity_scope" in error["detail"] and "line 1:14" in error["detail"]


@pytest.mark.parametrize("document", [{}, [], {"data": []}, {"data": {"type": "rule", "attributes": {}}},
                                      {"data": {"type": "campaign"}}])  # fmt: skip
def test_create_refuses_documents_of_the_wrong_shape(admin, bearer, document):
    assert bearer(admin).post(URL, document, format="json").status_code == 400


def test_create_with_a_key_in_use_is_409(world, admin, bearer, created):
    response = bearer(admin).post(URL, body(world, owner_uuid_for(user=admin.user)), format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["status"] == "409"


def test_permissions_viewer_reads_editor_writes(world, viewer, editor, bearer, created):
    assert bearer(viewer).get(URL).status_code == 200
    assert bearer(viewer).get(f"{URL}/{created['id']}").status_code == 200
    refused = bearer(viewer).post(URL, body(world, owner_uuid_for(user=viewer.user), key="v"), format="json")
    assert refused.status_code == 403 and refused.json()["errors"][0]["status"] == "403"
    assert bearer(viewer).delete(f"{URL}/{created['id']}").status_code == 403
    assert (
        bearer(editor).post(URL, body(world, owner_uuid_for(user=editor.user), key="e"), format="json").status_code
        == 201
    )
    assert bearer(None).get(URL).status_code == 403
    assert bearer(editor).delete(f"{URL}/{created['id']}").status_code == 204


def test_no_role_cannot_read(key_for, bearer, created):
    assert bearer(key_for(None)).get(URL).status_code == 403


def test_get_by_id_and_by_key(admin, bearer, created):
    by_id = bearer(admin).get(f"{URL}/{created['id']}")
    by_key = bearer(admin).get(f"{URL}/q1-security-2024")
    assert by_id.status_code == by_key.status_code == 200
    assert by_id.json() == by_key.json() == {"data": created}


def test_get_unknown_is_404(admin, bearer, world):
    for ident in ("missing", str(uuid.uuid4())):
        response = bearer(admin).get(f"{URL}/{ident}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["status"] == "404"


def test_get_include_rules_and_meta(world, admin, bearer, created):
    response = bearer(admin).get(f"{URL}/{created['id']}", {"include": "rules", "include_meta": "true"})
    document = response.json()
    assert response.status_code == 200
    assert document["data"]["relationships"]["rules"]["data"] == [
        {"id": str(world.r1.identifier), "type": "rule"}, {"id": str(world.r2.identifier), "type": "rule"},
    ]  # fmt: skip
    assert [i["attributes"]["name"] for i in document["included"]] == ["Has a runbook", "Has on-call"]
    # Scope = services: svc-1..svc-4, of which svc-1 and svc-4 pass r1 and r2.
    assert document["meta"] == {"rule_count": 2, "entity_count": 4, "entities_passing": 2, "progress": 0.5}
    assert bearer(admin).get(f"{URL}/{created['id']}", {"include": "nothing"}).status_code == 400
    assert bearer(admin).get(f"{URL}/{created['id']}", {"include_meta": "maybe"}).status_code == 400


def test_update_replaces_and_answers_200(world, admin, editor, bearer, created):
    other = owner_uuid_for(user=editor.user)
    document = body(world, other, key=..., name="Renamed", rule_ids=[str(world.r3.identifier)], status="completed",
                    description=..., due_date=..., guidance=..., entity_scope=...)  # fmt: skip
    response = bearer(admin).put(f"{URL}/q1-security-2024", document, format="json")
    assert response.status_code == 200, response.json()
    attrs = response.json()["data"]["attributes"]
    assert (attrs["name"], attrs["owner"], attrs["status"], attrs["key"]) == ("Renamed", str(other), "completed",
                                                                           "q1-security-2024")  # fmt: skip
    assert attrs["description"] == "Security posture." and attrs["due_date"] == "2024-03-31T23:59:59.000Z"
    assert list(Campaign.objects.get().rules.all()) == [world.r3]


@pytest.mark.parametrize("missing", ["name", "owner_id", "rule_ids", "start_date", "status"])
def test_update_requires_the_contract_attributes(world, admin, bearer, created, missing):
    document = body(world, owner_uuid_for(user=admin.user), **{missing: ...})
    response = bearer(admin).put(f"{URL}/{created['id']}", document, format="json")
    assert response.status_code == 400
    assert f"/data/attributes/{missing}" in [e.get("source", {}).get("pointer") for e in response.json()["errors"]]


def test_update_errors(world, admin, bearer, created):
    owner = owner_uuid_for(user=admin.user)
    assert bearer(admin).put(f"{URL}/missing", body(world, owner), format="json").status_code == 404
    bearer(admin).post(URL, body(world, owner, key="second"), format="json")
    clash = bearer(admin).put(f"{URL}/second", body(world, owner, key="q1-security-2024"), format="json")
    assert clash.status_code == 409
    assert bearer(admin).put(f"{URL}/second", body(world, owner, status="bogus"), format="json").status_code == 400


def test_delete_answers_204_then_404(admin, bearer, created):
    response = bearer(admin).delete(f"{URL}/q1-security-2024")
    assert response.status_code == 204 and response.content == b""
    assert bearer(admin).delete(f"{URL}/{created['id']}").status_code == 404


def _make_many(world, admin, bearer, count, start=0):
    owner = owner_uuid_for(user=admin.user)
    for index in range(start, start + count):
        name = f"Campaign {index:02d}" + (" security" if index % 3 == 0 else "")
        status = "completed" if index % 2 else "in_progress"
        assert bearer(admin).post(URL, body(world, owner, key=f"c{index:02d}", name=name, status=status),
                                  format="json").status_code == 201  # fmt: skip


def test_list_pages_and_meta(world, admin, bearer):
    _make_many(world, admin, bearer, 12)
    client = bearer(admin)
    first = client.get(URL).json()
    assert first["meta"] == {"count": 10, "limit": 10, "offset": 0, "total": 12}
    assert [d["attributes"]["key"] for d in first["data"]] == [f"c{i:02d}" for i in range(10)]
    last = client.get(URL, {"page[limit]": 5, "page[offset]": 10}).json()
    assert [d["attributes"]["key"] for d in last["data"]] == ["c10", "c11"]
    assert last["meta"] == {"count": 2, "limit": 5, "offset": 10, "total": 12}
    past = client.get(URL, {"page[offset]": 50}).json()
    assert past == {"data": [], "meta": {"count": 0, "limit": 10, "offset": 50, "total": 12}}


@pytest.mark.parametrize("params", [{"page[limit]": 0}, {"page[limit]": 101}, {"page[offset]": -1},
                                    {"page[limit]": "ten"}, {"filter[campaign][status]": "paused"},
                                    {"filter[campaign][owner]": "nope"}])  # fmt: skip
def test_list_refuses_bad_parameters(admin, bearer, params):
    response = bearer(admin).get(URL, params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["status"] == "400"


def test_list_filters(world, admin, editor, bearer):
    _make_many(world, admin, bearer, 6)
    client = bearer(admin)
    keys = lambda params: [d["attributes"]["key"] for d in client.get(URL, params).json()["data"]]  # noqa: E731
    assert keys({"filter[campaign][name]": "SECURITY"}) == ["c00", "c03"]
    assert keys({"filter[campaign][status]": "completed"}) == ["c01", "c03", "c05"]
    assert keys({"filter[campaign][owner]": str(owner_uuid_for(user=admin.user))}) == [f"c{i:02d}" for i in range(6)]
    assert keys({"filter[campaign][owner]": str(owner_uuid_for(user=editor.user))}) == []


def test_list_queries_do_not_grow_with_rows(world, admin, bearer):
    client = bearer(admin)
    _make_many(world, admin, bearer, 2)
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    _make_many(world, admin, bearer, 8, start=2)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL).json()["data"]) == 10
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


def test_get_queries_do_not_grow_with_rules(world, admin, bearer, created):
    client = bearer(admin)
    url = f"{URL}/{created['id']}"
    client.get(url, {"include": "rules"})
    cache.clear()  # scope membership is cached: measure both calls computing it
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"include": "rules", "include_meta": "true"})
    Campaign.objects.get().rules.add(world.r3)
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        document = client.get(url, {"include": "rules", "include_meta": "true"}).json()
    assert len(document["included"]) == 3
    assert len(many) == len(few)


def test_trailing_slash_is_not_an_operation(admin, bearer):
    response = bearer(admin).get(URL + "/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["status"] == "404"


def test_a_campaign_made_outside_the_services_still_shows_an_owner_uuid(world, admin, bearer):
    from datetime import UTC, datetime

    campaign = Campaign.objects.create(
        key="raw", name="Raw", owner=admin.user, start_date=datetime(2030, 1, 1, tzinfo=UTC)
    )
    owner = bearer(admin).get(f"{URL}/{campaign.pk}").json()["data"]["attributes"]["owner"]
    assert owner == str(admin.user.uuid)


# --- issue 12: the seed's own examples ------------------------------------------------------------------

SEED_CREATE = {
    "data": {
        "attributes": {
            "description": "Campaign to improve security posture for Q1 2024.",
            "due_date": "2024-03-31T23:59:59Z",
            "entity_scope": "kind:service AND team:platform",
            "guidance": "Please ensure all services pass the security requirements.",
            "key": "q1-security-2024",
            "name": "Q1 Security Campaign",
            "owner_id": "550e8400-e29b-41d4-a716-446655440000",
            "rule_ids": ["q8MQxk8TCqrHnWkx", "r9NRyl9UDrsIoXly"],
            "start_date": "2024-01-01T00:00:00Z",
            "status": "in_progress",
        },
        "type": "campaign",
    }
}


def seed_create(world) -> dict:
    """Seed 003's create example, its rule ids (Datadog's, which name no rule here) swapped for this world's."""
    document = json.loads(json.dumps(SEED_CREATE))
    document["data"]["attributes"]["rule_ids"] = [str(world.r1.identifier), str(world.r2.identifier)]
    return document


def test_the_seed_create_example_keeps_its_catalog_scope_and_its_unknown_owner(world, admin, bearer):
    from apps.campaigns.models import OwnerRef

    response = bearer(admin).post(URL, seed_create(world), format="json")
    assert response.status_code == 201, response.content
    attrs = response.json()["data"]["attributes"]
    assert attrs["entity_scope"] == "kind:service AND team:platform"
    assert attrs["owner"] == "550e8400-e29b-41d4-a716-446655440000"
    ref = OwnerRef.objects.get()
    assert (str(ref.uuid), ref.user) == ("550e8400-e29b-41d4-a716-446655440000", None)
    listed = bearer(admin).get(URL, {"filter[campaign][owner]": "550e8400-e29b-41d4-a716-446655440000"}).json()
    assert [c["attributes"]["key"] for c in listed["data"]] == ["q1-security-2024"]


def test_a_catalog_entity_scope_decides_which_entities_count(world, admin, bearer):
    document = seed_create(world)
    document["data"]["attributes"]["entity_scope"] = "kind:service team:alpha"
    created = bearer(admin).post(URL, document, format="json").json()["data"]
    meta = bearer(admin).get(f"{URL}/{created['id']}", {"include_meta": "true"}).json()["meta"]
    # svc-1 and svc-2 are alpha's services (svc-5 is archived); svc-1 passes r1 and r2, svc-2 fails r1.
    assert (meta["entity_count"], meta["entities_passing"]) == (2, 1)


@pytest.mark.parametrize(("scope", "column"), [("kind:service AND", 17), ("kind:service colour:red", 14)])
def test_a_bad_entity_scope_is_a_jsonapi_400_with_its_column(world, admin, bearer, scope, column):
    document = seed_create(world)
    document["data"]["attributes"]["entity_scope"] = scope
    response = bearer(admin).post(URL, document, format="json")
    assert response.status_code == 400, response.content
    (error,) = response.json()["errors"]
    assert error["status"] == "400" and error["source"]["pointer"] == "/data/attributes/entity_scope"
    assert error["meta"] == {"line": 1, "column": column}


def test_include_scores_serves_each_in_scope_entitys_score(world, admin, bearer, created):
    response = bearer(admin).get(f"{URL}/{created['id']}", {"include": "scores"})
    assert response.status_code == 200, response.content
    document = response.json()
    included = {item["relationships"]["service"]["data"]["id"]: item for item in document["included"]}
    # Scope = services: svc-1..svc-4 (r1 weight 2, r2 weight 1).
    assert sorted(included) == ["svc-1", "svc-2", "svc-3", "svc-4"]
    assert [r["id"] for r in document["data"]["relationships"]["scores"]["data"]] == [
        item["id"] for item in document["included"]
    ]
    svc3 = included["svc-3"]
    assert svc3["type"] == "score"
    assert svc3["attributes"] == {
        "aggregation": "by-entity", "score": 2 / 3, "numerator": 2, "denominator": 3, "total_entities": 1,
        "total_pass": 1, "total_fail": 1, "total_skip": 0, "total_no_data": 0,
    }  # fmt: skip
    both = bearer(admin).get(f"{URL}/{created['id']}", {"include": "rules,scores"}).json()
    assert {i["type"] for i in both["included"]} == {"rule", "score"}
