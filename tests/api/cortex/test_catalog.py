"""Cortex v1 catalog: `catalog create` (POST /open-api), `catalog details`, `catalog delete` and
`custom-data add/get/list/delete` (API_CONTRACT §2)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.models import CustomData, CustomDataSource, Entity, EntityOwner, OwnerKind
from apps.evaluations.models import EntityScore
from tests.api.cortex.conftest import BAD, GOOD, assert_cortex_error, entity_yaml, make_entity

pytestmark = pytest.mark.django_db

OPENAPI = "application/openapi;charset=UTF-8"


def get(client, path, **params):
    return client.get(path, params, CONTENT_TYPE="application/yaml")


def apply(client, text, dry_run="False"):
    return client.post(f"/api/v1/open-api?dryRun={dry_run}", data=text, content_type=OPENAPI)


# --- create / update from a descriptor -------------------------------------------------------------------


class TestCatalogCreate:
    def test_create_writes_the_entity(self, db, editor, bearer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = apply(bearer(editor), entity_yaml("new-svc", tier=2, groups=("payments", "core")))
        assert response.status_code == 200, response.content
        entity = Entity.objects.get(tag="new-svc")
        assert response.json() == {
            "ok": True,
            "violations": [],
            "action": "created",
            "tag": "new-svc",
            "id": entity.public_id,
        }
        assert (entity.name, entity.type, entity.groups) == ("New Svc", "service", ["payments", "core"])
        assert entity.description == "Charges cards for the shop."
        assert CustomData.objects.get(entity=entity, key="tier").value == 2
        assert EntityOwner.objects.get(entity=entity).email == "owner@example.com"
        assert len(callbacks) == 1  # the new entity is evaluated after the commit

    def test_update_and_unchanged(self, db, editor, bearer):
        client = bearer(editor)
        assert apply(client, entity_yaml("new-svc")).json()["action"] == "created"
        assert apply(client, entity_yaml("new-svc")).json()["action"] == "unchanged"
        updated = apply(client, entity_yaml("new-svc", tier=3))
        assert updated.json()["action"] == "updated"
        assert CustomData.objects.get(entity__tag="new-svc", key="tier").value == 3
        assert Entity.objects.count() == 1

    def test_new_entity_is_scored_after_the_commit(self, world, editor, bearer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            assert apply(bearer(editor), entity_yaml("late-svc", owned=False, tier=None)).status_code == 200
        score = EntityScore.objects.get(scorecard=world.scorecard, entity__tag="late-svc")
        assert (score.score, score.total_possible) == (1, 6)

    @pytest.mark.parametrize("flag", ["True", "true"])
    def test_dry_run_writes_nothing(self, db, editor, bearer, flag):
        counts = (Entity.objects.count(), CustomData.objects.count(), EntityOwner.objects.count())
        response = apply(bearer(editor), entity_yaml("new-svc"), dry_run=flag)
        assert response.status_code == 200
        assert response.json() == {"ok": True, "violations": [], "action": "would create", "tag": "new-svc", "id": None}
        assert (Entity.objects.count(), CustomData.objects.count(), EntityOwner.objects.count()) == counts == (0, 0, 0)

    def test_dry_run_of_an_existing_entity_names_it_and_changes_nothing(self, world, editor, bearer):
        response = apply(bearer(editor), entity_yaml(GOOD, tier=9), dry_run="True")
        assert response.json()["action"] == "would update"
        assert response.json()["tag"] == GOOD
        assert response.json()["id"] == world.good.public_id
        assert CustomData.objects.get(entity=world.good, key="tier").value == 1

    def test_invalid_descriptor_is_400_with_ok_false_and_violations(self, db, editor, bearer):
        response = apply(bearer(editor), "openapi: 3.0.1\ninfo:\n  x-cortex-type: service\n")
        body = assert_cortex_error(response, 400, "BAD_REQUEST")
        assert body["ok"] is False
        pointers = {v["pointer"] for v in body["violations"]}
        assert "/info/x-cortex-tag (line 3)" in pointers
        assert all(v["violationType"] == "ERROR" and v["title"] == "Invalid descriptor" for v in body["violations"])
        assert Entity.objects.count() == 0

    def test_broken_yaml_is_400_with_its_line(self, db, editor, bearer):
        response = apply(bearer(editor), "openapi: 3.0.1\ninfo:\n  title: [\n")
        body = assert_cortex_error(response, 400, "BAD_REQUEST")
        assert body["ok"] is False
        [violation] = body["violations"]
        assert "line" in violation["pointer"]
        assert Entity.objects.count() == 0

    def test_non_utf8_body_is_400(self, db, editor, bearer):
        response = bearer(editor).post(
            "/api/v1/open-api?dryRun=False", data=entity_yaml("x-svc").encode() + b"\xc3\x28", content_type=OPENAPI
        )
        body = assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="UTF-8")
        assert body["ok"] is False
        assert Entity.objects.count() == 0

    def test_viewer_may_not_create(self, db, viewer, bearer):
        body = assert_cortex_error(apply(bearer(viewer), entity_yaml("new-svc")), 403, "FORBIDDEN")
        assert body["ok"] is False
        assert Entity.objects.count() == 0

    def test_no_key_is_401(self, db, bearer):
        assert_cortex_error(apply(bearer(None), entity_yaml("new-svc")), 401, "UNAUTHORIZED")
        assert Entity.objects.count() == 0


# --- details / delete ------------------------------------------------------------------------------------


class TestCatalogDetails:
    def test_details_shape(self, world, viewer, bearer):
        response = get(bearer(viewer), f"/api/v1/catalog/{GOOD}", hierarchyDepth="full")
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == world.good.public_id
        assert (body["tag"], body["name"], body["type"]) == (GOOD, "Good Svc", "service")
        assert body["description"] == "Charges cards for the shop."
        assert body["groups"] == [{"tag": "payments"}]
        assert body["isArchived"] is False
        assert body["metadata"] == [{"key": "tier", "value": 1}]
        assert body["owners"] == {
            "teams": [],
            "individuals": [{"email": "owner@example.com", "description": None}],
        }
        assert body["links"] == []
        assert body["hierarchy"] == {"parents": [], "children": []}
        assert body["git"] is None
        assert body["lastUpdated"].endswith("Z")

    def test_details_by_id(self, world, viewer, bearer):
        assert get(bearer(viewer), f"/api/v1/catalog/{world.bad.public_id}").json()["tag"] == BAD

    def test_unknown_is_404(self, world, viewer, bearer):
        assert_cortex_error(get(bearer(viewer), "/api/v1/catalog/ghost"), 404, "NOT_FOUND", details_contains="ghost")

    def test_no_role_is_403(self, world, key_for, bearer):
        assert_cortex_error(get(bearer(key_for(None)), f"/api/v1/catalog/{GOOD}"), 403, "FORBIDDEN")

    def test_query_count_does_not_grow_with_metadata_and_owners(self, db, viewer, bearer):
        client = bearer(viewer)
        entity = make_entity("busy-svc")
        get(client, "/api/v1/catalog/busy-svc")
        with CaptureQueriesContext(connection) as few:
            assert len(get(client, "/api/v1/catalog/busy-svc").json()["metadata"]) == 1
        for i in range(11):
            CustomData.objects.create(entity=entity, key=f"k{i:02d}", value=i, source=CustomDataSource.API)
            EntityOwner.objects.create(entity=entity, kind=OwnerKind.EMAIL, email=f"o{i}@example.com")
        with CaptureQueriesContext(connection) as many:
            body = get(client, "/api/v1/catalog/busy-svc").json()
        assert (len(body["metadata"]), len(body["owners"]["individuals"])) == (12, 12)
        assert len(many) == len(few)


class TestCatalogDelete:
    def test_editor_deletes(self, world, editor, bearer):
        response = bearer(editor).delete(f"/api/v1/catalog/{BAD}", data="{}", content_type="application/json")
        assert response.status_code == 200
        assert not Entity.objects.filter(tag=BAD).exists()
        assert not EntityScore.objects.filter(entity_id=world.bad.pk).exists()
        assert Entity.objects.filter(tag=GOOD).exists()

    def test_viewer_may_not_delete(self, world, viewer, bearer):
        response = bearer(viewer).delete(f"/api/v1/catalog/{BAD}", data="{}", content_type="application/json")
        assert_cortex_error(response, 403, "FORBIDDEN", details_contains="catalog.delete_entity")
        assert Entity.objects.filter(tag=BAD).exists()

    def test_unknown_is_404(self, db, editor, bearer):
        response = bearer(editor).delete("/api/v1/catalog/ghost", data="{}", content_type="application/json")
        assert_cortex_error(response, 404, "NOT_FOUND")


# --- custom data -----------------------------------------------------------------------------------------


def add(client, entity, body, force="False"):
    return client.post(
        f"/api/v1/catalog/{entity}/custom-data?force={force}", data=json.dumps(body), content_type="application/json"
    )


def delete(client, entity, key, force="False"):
    return client.delete(
        f"/api/v1/catalog/{entity}/custom-data?key={key}&force={force}", data="{}", content_type="application/json"
    )


class TestCustomData:
    def test_add_get_list_delete(self, world, editor, viewer, bearer):
        client = bearer(editor)
        response = add(client, GOOD, {"key": "oncall", "value": "alice", "description": "Who to page"})
        assert response.status_code == 200, response.content
        row = CustomData.objects.get(entity=world.good, key="oncall")
        body = response.json()
        assert body == {
            "id": row.pk,
            "key": "oncall",
            "value": "alice",
            "description": "Who to page",
            "source": "API",
            "dateUpdated": row.updated_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        assert row.source == CustomDataSource.API

        reader = bearer(viewer)
        got = get(reader, f"/api/v1/catalog/{GOOD}/custom-data/oncall")
        assert got.status_code == 200
        assert got.json() == body
        listed = get(reader, f"/api/v1/catalog/{GOOD}/custom-data").json()
        assert [(r["key"], r["value"], r["source"]) for r in listed] == [
            ("oncall", "alice", "API"),
            ("tier", 1, "YAML"),
        ]

        # Adding again updates in place.
        again = add(client, GOOD, {"key": "oncall", "value": {"primary": "bob"}})
        assert again.json()["value"] == {"primary": "bob"}
        assert again.json()["description"] is None
        assert again.json()["id"] == row.pk

        assert delete(client, GOOD, "oncall").status_code == 200
        assert not CustomData.objects.filter(entity=world.good, key="oncall").exists()
        assert_cortex_error(get(reader, f"/api/v1/catalog/{GOOD}/custom-data/oncall"), 404, "NOT_FOUND")

    def test_add_rescores_the_entity(self, world, editor, bearer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = add(bearer(editor), BAD, {"key": "tier", "value": 2}, force="True")
        assert response.status_code == 200
        score = EntityScore.objects.get(scorecard=world.scorecard, entity=world.bad)
        # Tier one (weight 1) now fails: 2 of 6.
        assert (score.score, score.total_possible) == (2, 6)

    def test_descriptor_key_needs_force_to_change(self, world, editor, bearer):
        client = bearer(editor)
        refused = add(client, GOOD, {"key": "tier", "value": 5})
        body = assert_cortex_error(refused, 400, "BAD_REQUEST", details_contains="force")
        assert body["violations"][0]["pointer"] == "/key"
        row = CustomData.objects.get(entity=world.good, key="tier")
        assert (row.value, row.source) == (1, CustomDataSource.DESCRIPTOR)

        forced = add(client, GOOD, {"key": "tier", "value": 5}, force="True")
        assert forced.status_code == 200
        assert (forced.json()["value"], forced.json()["source"]) == (5, "API")
        row.refresh_from_db()
        assert (row.value, row.source) == (5, CustomDataSource.API)

    def test_descriptor_key_needs_force_to_delete(self, world, editor, bearer):
        client = bearer(editor)
        assert_cortex_error(delete(client, GOOD, "tier"), 400, "BAD_REQUEST", details_contains="force")
        assert CustomData.objects.filter(entity=world.good, key="tier").exists()
        assert delete(client, GOOD, "tier", force="True").status_code == 200
        assert not CustomData.objects.filter(entity=world.good, key="tier").exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"value": "v"}, "key"), ({"key": "k"}, "value"), ({"key": "k", "value": None}, "value")],
    )
    def test_bad_bodies_are_400(self, world, editor, bearer, body, field):
        response = add(bearer(editor), GOOD, body)
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains=f"{field}:")
        assert CustomData.objects.filter(entity=world.good).count() == 1

    def test_bad_json_and_bad_force_are_400(self, world, editor, bearer):
        client = bearer(editor)
        broken = client.post(f"/api/v1/catalog/{GOOD}/custom-data", data="{", content_type="application/json")
        assert_cortex_error(broken, 400, "BAD_REQUEST", details_contains="JSON")
        bad_flag = add(client, GOOD, {"key": "k", "value": "v"}, force="sometimes")
        assert_cortex_error(bad_flag, 400, "BAD_REQUEST", details_contains="force")
        assert CustomData.objects.filter(entity=world.good).count() == 1

    def test_text_plain_is_415(self, world, editor, bearer):
        response = bearer(editor).post(f"/api/v1/catalog/{GOOD}/custom-data", data="k=v", content_type="text/plain")
        assert_cortex_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")

    def test_delete_without_key_is_400_and_unknown_key_404(self, world, editor, bearer):
        client = bearer(editor)
        response = client.delete(f"/api/v1/catalog/{GOOD}/custom-data", data="{}", content_type="application/json")
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="key")
        assert_cortex_error(delete(client, GOOD, "nothing"), 404, "NOT_FOUND", details_contains="nothing")

    def test_unknown_entity_is_404_everywhere(self, world, editor, bearer):
        client = bearer(editor)
        assert_cortex_error(add(client, "ghost", {"key": "k", "value": "v"}), 404, "NOT_FOUND")
        assert_cortex_error(get(client, "/api/v1/catalog/ghost/custom-data"), 404, "NOT_FOUND")
        assert_cortex_error(get(client, "/api/v1/catalog/ghost/custom-data/k"), 404, "NOT_FOUND")
        assert_cortex_error(delete(client, "ghost", "k"), 404, "NOT_FOUND")

    def test_viewer_reads_but_may_not_write(self, world, viewer, bearer):
        client = bearer(viewer)
        assert get(client, f"/api/v1/catalog/{GOOD}/custom-data").status_code == 200
        assert_cortex_error(
            add(client, GOOD, {"key": "k", "value": "v"}), 403, "FORBIDDEN", details_contains="change_customdata"
        )
        assert_cortex_error(delete(client, GOOD, "tier", force="True"), 403, "FORBIDDEN")
        assert CustomData.objects.filter(entity=world.good).count() == 1

    def test_no_key_and_no_role(self, world, key_for, bearer):
        assert_cortex_error(get(bearer(None), f"/api/v1/catalog/{GOOD}/custom-data"), 401, "UNAUTHORIZED")
        assert_cortex_error(get(bearer(key_for(None)), f"/api/v1/catalog/{GOOD}/custom-data/tier"), 403, "FORBIDDEN")

    def test_put_on_a_key_is_405(self, world, editor, bearer):
        response = bearer(editor).put(
            f"/api/v1/catalog/{GOOD}/custom-data/tier", data="{}", content_type="application/json"
        )
        assert_cortex_error(response, 405, "METHOD_NOT_ALLOWED")

    def test_list_query_count_does_not_grow(self, world, viewer, bearer):
        client = bearer(viewer)
        path = f"/api/v1/catalog/{GOOD}/custom-data"
        CustomData.objects.create(entity=world.good, key="a", value=1, source=CustomDataSource.API)
        get(client, path)
        with CaptureQueriesContext(connection) as few:
            assert len(get(client, path).json()) == 2
        CustomData.objects.bulk_create(
            CustomData(entity=world.good, key=f"b{i:02d}", value=i, source=CustomDataSource.API) for i in range(10)
        )
        with CaptureQueriesContext(connection) as many:
            assert len(get(client, path).json()) == 12
        assert len(many) == len(few)


class TestCustomDataPagesAndBulk:
    def test_list_pages_as_a_bare_array_and_is_empty_past_the_end(self, world, viewer, bearer):
        CustomData.objects.bulk_create(
            CustomData(entity=world.good, key=f"k{i}", value=i, source=CustomDataSource.API) for i in range(4)
        )
        client, path = bearer(viewer), f"/api/v1/catalog/{GOOD}/custom-data"
        pages = [[row["key"] for row in get(client, path, page=n, pageSize=2).json()] for n in range(4)]
        assert pages == [["k0", "k1"], ["k2", "k3"], ["tier"], []]
        assert_cortex_error(get(client, path, pageSize=0), 400, "BAD_REQUEST", details_contains="pageSize")
        assert_cortex_error(get(client, path, page=-1), 400, "BAD_REQUEST", details_contains="page")

    def test_bulk_sets_keys_on_several_entities(
        self, world, editor, bearer, django_capture_on_commit_callbacks, tasks_run
    ):
        body = {
            "values": {
                GOOD: [{"key": "ci", "value": "Jenkins"}, {"key": "cost", "value": {"center": 42}}],
                world.bad.public_id: [{"key": "ci", "value": "GitHub Actions", "description": "CI system"}],
            }
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = bearer(editor).put("/api/v1/catalog/custom-data?force=False", body, format="json")
        assert response.status_code == 200, response.content
        values = response.json()["values"]
        assert [(r["key"], r["value"], r["source"]) for r in values[GOOD]] == [
            ("ci", "Jenkins", "API"),
            ("cost", {"center": 42}, "API"),
        ]
        assert values[world.bad.public_id][0]["description"] == "CI system"
        stored = {
            (r.entity.tag, r.key): r.value for r in CustomData.objects.filter(source="api").select_related("entity")
        }
        assert stored == {(GOOD, "ci"): "Jenkins", (GOOD, "cost"): {"center": 42}, (BAD, "ci"): "GitHub Actions"}
        # Both entities are re-scored after the commit, together.
        assert [(name, args[1]) for name, args in tasks_run if name == "rescore_entities"] == [
            ("rescore_entities", sorted([world.good.pk, world.bad.pk]))
        ]

    def test_bulk_is_all_or_nothing(self, world, editor, bearer):
        client = bearer(editor)
        unknown = {"values": {GOOD: [{"key": "ci", "value": "x"}], "no-such-entity": [{"key": "ci", "value": "y"}]}}
        assert_cortex_error(
            client.put("/api/v1/catalog/custom-data", unknown, format="json"),
            404,
            "NOT_FOUND",
            details_contains="no-such-entity",
        )
        descriptor_key = {"values": {BAD: [{"key": "ci", "value": "x"}], GOOD: [{"key": "tier", "value": 3}]}}
        refused = client.put("/api/v1/catalog/custom-data", descriptor_key, format="json")
        assert_cortex_error(refused, 400, "BAD_REQUEST", details_contains="use force")
        assert not CustomData.objects.filter(key="ci").exists()
        assert CustomData.objects.get(entity=world.good, key="tier").value == 1
        forced = client.put("/api/v1/catalog/custom-data?force=True", descriptor_key, format="json")
        assert forced.status_code == 200
        assert CustomData.objects.get(entity=world.good, key="tier").value == 3

    @pytest.mark.parametrize(
        "body",
        [{}, {"values": {}}, {"values": {GOOD: []}}, {"values": {GOOD: [{"value": 1}]}}, {"values": [1]}],
    )
    def test_bulk_bad_bodies_are_400(self, world, editor, bearer, body):
        response = bearer(editor).put("/api/v1/catalog/custom-data", body, format="json")
        assert_cortex_error(response, 400, "BAD_REQUEST")
        assert not CustomData.objects.filter(source="api").exists()

    def test_bulk_needs_edit_rights(self, world, viewer, bearer):
        body = {"values": {GOOD: [{"key": "ci", "value": "x"}]}}
        assert_cortex_error(bearer(viewer).put("/api/v1/catalog/custom-data", body, format="json"), 403, "FORBIDDEN")
        assert_cortex_error(bearer(None).put("/api/v1/catalog/custom-data", body, format="json"), 401, "UNAUTHORIZED")

    def test_an_entity_tagged_custom_data_is_still_reachable(self, db, viewer, editor, bearer):
        Entity.objects.create(tag="custom-data", name="Oddly named")
        assert get(bearer(viewer), "/api/v1/catalog/custom-data").json()["name"] == "Oddly named"
        assert bearer(editor).delete("/api/v1/catalog/custom-data").status_code == 200
        assert not Entity.objects.filter(tag="custom-data").exists()
