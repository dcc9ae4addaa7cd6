"""Cortex v1 catalog calls of `catalog patch` (PATCH /open-api), `catalog delete-by-id` (DELETE /catalog?ids=)
and `catalog list-descriptors` (GET /catalog/descriptors), request by request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.models import CustomData, CustomDataSource, Entity
from apps.catalog.services import custom_data_set
from apps.core.yamlio import load_yaml, plain
from apps.evaluations.models import EntityScore
from tests.api.cortex.conftest import BAD, GOOD, assert_cortex_error, make_entity

pytestmark = pytest.mark.django_db

OPENAPI = "application/openapi;charset=UTF-8"
DESCRIPTORS = "/api/v1/catalog/descriptors"


def patch(client, text, **params):
    query = "&".join(f"{k}={v}" for k, v in {"dryRun": "False", **params}.items())
    return client.patch(f"/api/v1/open-api?{query}", data=text, content_type=OPENAPI)


def partial(tag: str, body: str) -> str:
    return f"openapi: 3.0.1\ninfo:\n  x-cortex-tag: {tag}\n{body}"


# --- catalog patch ---------------------------------------------------------------------------------------


class TestCatalogPatch:
    def test_merges_into_the_descriptor_and_keeps_what_the_patch_leaves_out(self, world, editor, bearer):
        text = partial(
            GOOD, "  description: Charges cards, now in euros too.\n  x-cortex-custom-metadata:\n    region: eu\n"
        )
        response = patch(bearer(editor), text)
        assert response.status_code == 200, response.content
        good = Entity.objects.get(tag=GOOD)
        assert response.json() == {"ok": True, "violations": [], "action": "updated", "tag": GOOD, "id": good.public_id}
        assert good.description == "Charges cards, now in euros too."
        assert good.name == "Good Svc"  # title: kept from the stored descriptor
        assert good.groups == ["payments"]
        custom = dict(CustomData.objects.filter(entity=good).values_list("key", "value"))
        assert custom == {"tier": 1, "region": "eu"}
        assert good.owners.get().email == "owner@example.com"

    def test_lists_are_replaced_or_appended_without_duplicates(self, world, editor, bearer):
        client = bearer(editor)
        groups = "  x-cortex-groups:\n    - payments\n    - tier-1\n"
        assert patch(client, partial(GOOD, groups), appendArrays="true").status_code == 200
        assert Entity.objects.get(tag=GOOD).groups == ["payments", "tier-1"]
        assert patch(client, partial(GOOD, "  x-cortex-groups:\n    - core\n")).status_code == 200
        assert Entity.objects.get(tag=GOOD).groups == ["core"]

    def test_the_delete_marker_removes_a_key(self, world, editor, bearer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = patch(
                bearer(editor),
                partial(GOOD, "  x-cortex-owners: __delete__\n  x-cortex-custom-metadata:\n    tier: __delete__\n"),
                deleteMarkerValue="__delete__",
            )
        assert response.status_code == 200, response.content
        good = Entity.objects.get(tag=GOOD)
        assert not good.owners.exists()
        assert not CustomData.objects.filter(entity=good, key="tier").exists()
        assert EntityScore.objects.get(entity=good).level is None  # lost its owner: fails the Bronze rule

    def test_custom_data_set_through_the_api_survives(self, world, editor, bearer):
        custom_data_set(entity=world.good, key="ci-tool", value="Jenkins")
        assert patch(bearer(editor), partial(GOOD, "  description: Changed here.\n")).status_code == 200
        row = CustomData.objects.get(entity=world.good, key="ci-tool")
        assert (row.value, row.source) == ("Jenkins", CustomDataSource.API)

    def test_creates_an_entity_that_does_not_exist_unless_told_to_fail(self, db, editor, bearer):
        client = bearer(editor)
        text = partial("brand-new", "  title: Brand New\n")
        refused = patch(client, text, failIfEntityDoesNotExist="true")
        body = assert_cortex_error(refused, 404, "NOT_FOUND", details_contains="brand-new")
        assert body["ok"] is False
        assert not Entity.objects.filter(tag="brand-new").exists()
        made = patch(client, text)
        assert made.status_code == 200, made.content
        assert made.json()["action"] == "created"
        assert Entity.objects.get(tag="brand-new").name == "Brand New"

    def test_dry_run_validates_the_merged_descriptor_and_writes_nothing(self, world, editor, bearer):
        client = bearer(editor)
        response = patch(client, partial(GOOD, "  description: Not yet.\n"), dryRun="true")
        assert response.status_code == 200, response.content
        assert response.json() == {
            "ok": True,
            "violations": [],
            "action": "would update",
            "tag": GOOD,
            "id": world.good.public_id,
        }
        assert Entity.objects.get(tag=GOOD).description == "Charges cards for the shop."
        new = patch(client, partial("not-yet", "  title: Not Yet\n"), dryRun="true").json()
        assert (new["action"], new["tag"], new["id"]) == ("would create", "not-yet", None)
        assert not Entity.objects.filter(tag="not-yet").exists()

    def test_a_merged_descriptor_that_is_invalid_is_400_naming_the_field(self, world, editor, bearer):
        response = patch(bearer(editor), partial(GOOD, "  x-cortex-owners:\n    - type: email\n      email: nope\n"))
        body = assert_cortex_error(response, 400, "BAD_REQUEST")
        assert body["ok"] is False
        [violation] = body["violations"]
        assert "x-cortex-owners" in violation["pointer"] and violation["violationType"] == "ERROR"
        assert Entity.objects.get(tag=GOOD).owners.get().email == "owner@example.com"

    def test_a_patch_without_a_tag_is_400(self, db, editor, bearer):
        body = assert_cortex_error(patch(bearer(editor), "openapi: 3.0.1\ninfo:\n  title: X\n"), 400, "BAD_REQUEST")
        [violation] = body["violations"]
        assert violation["pointer"] == "/info/x-cortex-tag"

    def test_a_viewer_may_not_patch(self, world, viewer, bearer):
        response = patch(bearer(viewer), partial(GOOD, "  description: Mine now.\n"))
        body = assert_cortex_error(response, 403, "FORBIDDEN", details_contains="catalog.change_entity")
        assert "violations" not in body
        assert Entity.objects.get(tag=GOOD).description == "Charges cards for the shop."


# --- catalog delete-by-id ----------------------------------------------------------------------------


class TestDeleteById:
    def test_deletes_every_entity_named(self, world, editor, bearer):
        other = make_entity("other-svc")
        response = bearer(editor).delete(f"/api/v1/catalog?ids={world.good.public_id}&ids={other.public_id}")
        assert response.status_code == 200, response.content
        assert list(Entity.objects.values_list("tag", flat=True)) == [BAD]
        assert not EntityScore.objects.filter(entity__tag=GOOD).exists()

    def test_one_unknown_id_deletes_nothing(self, world, editor, bearer):
        response = bearer(editor).delete(f"/api/v1/catalog?ids={world.good.public_id}&ids=en0000000000000000")
        assert_cortex_error(response, 404, "NOT_FOUND", details_contains="en0000000000000000")
        assert Entity.objects.filter(tag=GOOD).exists()

    def test_no_ids_is_400(self, world, editor, bearer):
        assert_cortex_error(bearer(editor).delete("/api/v1/catalog"), 400, "BAD_REQUEST", details_contains="ids")
        assert Entity.objects.count() == 2

    def test_a_viewer_may_not_delete(self, world, viewer, bearer):
        response = bearer(viewer).delete(f"/api/v1/catalog?ids={world.good.public_id}")
        assert_cortex_error(response, 403, "FORBIDDEN", details_contains="catalog.delete_entity")
        assert Entity.objects.count() == 2


# --- catalog list-descriptors ------------------------------------------------------------------------


class TestListDescriptors:
    def test_json_descriptors_page_by_page(self, world, viewer, bearer):
        client = bearer(viewer)
        body = client.get(DESCRIPTORS, {"pageSize": "1"}).json()
        assert (body["page"], body["total"], body["totalPages"]) == (0, 2, 2)
        [bad] = body["descriptors"]
        assert bad["info"]["x-cortex-tag"] == BAD
        assert bad == client.get(f"/api/v1/catalog/{BAD}/openapi").json()
        [good] = client.get(DESCRIPTORS, {"page": "1", "pageSize": "1"}).json()["descriptors"]
        assert good["info"]["x-cortex-tag"] == GOOD
        assert client.get(DESCRIPTORS, {"page": "2", "pageSize": "1"}).json()["descriptors"] == []

    def test_yaml_descriptors_apply_back_unchanged(self, world, viewer, editor, bearer):
        body = bearer(viewer).get(DESCRIPTORS, {"yaml": "true"}).json()
        assert (body["page"], body["total"], body["totalPages"]) == (0, 2, 1)
        assert [plain(load_yaml(text))["info"]["x-cortex-tag"] for text in body["descriptors"]] == [BAD, GOOD]
        for text in body["descriptors"]:
            response = bearer(editor).post("/api/v1/open-api", data=text, content_type=OPENAPI)
            assert response.json()["action"] == "unchanged", response.content

    def test_types_and_archived_filter(self, world, viewer, editor, bearer):
        make_entity("team-x")  # a service; the team below is the only one of its type
        team = "openapi: 3.0.1\ninfo:\n  title: Core\n  x-cortex-tag: core-team\n  x-cortex-type: team\n"
        bearer(editor).post("/api/v1/open-api", data=team, content_type=OPENAPI)
        bearer(editor).put(f"/api/v1/catalog/{BAD}/archive")
        client = bearer(viewer)

        def tags(**params):
            return [d["info"]["x-cortex-tag"] for d in client.get(DESCRIPTORS, params).json()["descriptors"]]

        assert tags(types="team") == ["core-team"]
        assert tags() == ["core-team", GOOD, "team-x"]
        assert tags(includeArchived="true") == [BAD, "core-team", GOOD, "team-x"]

    def test_an_entity_without_a_descriptor_gets_one_built_from_its_fields(self, db, viewer, bearer):
        Entity.objects.create(tag="made-in-admin", name="Made In Admin", groups=["g"])
        [document] = bearer(viewer).get(DESCRIPTORS).json()["descriptors"]
        assert document["info"]["x-cortex-tag"] == "made-in-admin"
        assert document["info"]["x-cortex-groups"] == ["g"]

    def test_query_count_is_constant(self, db, viewer, bearer):
        client = bearer(viewer)

        def count() -> tuple[int, int]:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(DESCRIPTORS, {"yaml": "true"})
            assert response.status_code == 200
            return len(queries), len(response.json()["descriptors"])

        for i in range(2):
            make_entity(f"svc-{i}")
        Entity.objects.create(tag="bare-0", name="Bare")
        count()  # the key's first use of the day writes its last-used time
        few, shown = count()
        assert shown == 3
        for i in range(2, 12):
            make_entity(f"svc-{i}")
            Entity.objects.create(tag=f"bare-{i}", name="Bare")
        many, shown = count()
        assert shown == 23
        assert many == few

    def test_bad_paging_is_400(self, world, viewer, bearer):
        response = bearer(viewer).get(DESCRIPTORS, {"pageSize": "0"})
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="pageSize")

    def test_an_entity_tagged_descriptors_is_still_reachable(self, db, viewer, editor, bearer):
        entity = make_entity("descriptors")
        assert bearer(viewer).get(f"/api/v1/catalog/{entity.public_id}").json()["tag"] == "descriptors"
        assert bearer(editor).delete(DESCRIPTORS).status_code == 200
        assert not Entity.objects.filter(tag="descriptors").exists()
