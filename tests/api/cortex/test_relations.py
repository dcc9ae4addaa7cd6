"""Cortex v1 dependencies, relationship types and relationships: shapes, permissions, bad input, queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.models import EntityDependency, EntityRelationship, RecordSource, RelationshipType
from apps.catalog.services import entity_apply_descriptor
from tests.api.cortex.conftest import assert_cortex_error, entity_yaml, make_entity

pytestmark = pytest.mark.django_db

DEP = "/api/v1/catalog/{caller}/dependencies/{callee}"


@pytest.fixture
def pair(db):
    return make_entity("caller-svc"), make_entity("callee-svc")


def create(client, caller="caller-svc", callee="callee-svc", body=None, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return client.post(
        DEP.format(caller=caller, callee=callee) + (f"?{query}" if query else ""),
        body if body is not None else {"description": "", "metadata": {}},
        format="json",
    )


class TestDependencies:
    def test_create_get_update_delete(self, pair, editor, viewer, bearer, django_capture_on_commit_callbacks):
        caller, callee = pair
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = create(
                bearer(editor), body={"description": "pays", "metadata": {"k": "v"}}, method="get", path="/pay"
            )
        assert response.status_code == 200, response.content
        assert response.json() == {
            "callerTag": "caller-svc",
            "callerType": "service",
            "calleeTag": "callee-svc",
            "calleeType": "service",
            "method": "GET",
            "path": "/pay",
            "description": "pays",
            "metadata": {"k": "v"},
            "source": "API",
        }
        assert len(callbacks) == 1  # both ends are announced after the commit
        url = DEP.format(caller="caller-svc", callee=callee.public_id)
        got = bearer(viewer).get(url, {"method": "GET", "path": "/pay"})
        assert got.json()["description"] == "pays"
        updated = bearer(editor).put(url + "?method=GET&path=/pay", {"description": "new"}, format="json")
        assert updated.json()["description"] == "new" and updated.json()["metadata"] == {}
        assert bearer(editor).delete(url + "?method=GET&path=/pay").status_code == 200
        assert not EntityDependency.objects.exists()
        assert_cortex_error(bearer(viewer).get(url, {"method": "GET", "path": "/pay"}), 404, "NOT_FOUND")

    def test_viewer_cannot_write_and_nobody_anonymous(self, pair, viewer, bearer):
        assert_cortex_error(create(bearer(viewer)), 403, "FORBIDDEN")
        assert bearer(None).get("/api/v1/catalog/caller-svc/dependencies").status_code == 401
        assert not EntityDependency.objects.exists()

    @pytest.mark.parametrize(
        ("caller", "callee", "body", "params", "status", "names"),
        [
            ("nope", "callee-svc", None, {}, 404, "nope"),
            ("caller-svc", "nope", None, {}, 404, "nope"),
            ("caller-svc", "callee-svc", {"description": 5}, {}, 400, "description"),
            ("caller-svc", "callee-svc", {"metadata": [1]}, {}, 400, "metadata"),
            ("caller-svc", "callee-svc", {"metadata": {"a": "b\x00"}}, {}, 400, "metadata"),
            ("caller-svc", "callee-svc", {"description": "a\x00b"}, {}, 400, "description"),
            ("caller-svc", "callee-svc", {"description": "x" * 4001}, {}, 400, "description"),
            ("caller-svc", "callee-svc", {"metadata": {"b": "x" * 70000}}, {}, 400, "metadata"),
            ("caller-svc", "callee-svc", None, {"method": "FETCH", "path": "/x"}, 400, "method"),
            ("caller-svc", "callee-svc", None, {"method": "GET"}, 400, "path"),
            ("caller-svc", "callee-svc", [1, 2], {}, 400, "dictionary"),
            ("caller-svc", "caller-svc", None, {}, 400, "itself"),
        ],
    )
    def test_bad_input_is_refused_naming_the_field(
        self, pair, editor, bearer, caller, callee, body, params, status, names
    ):
        response = create(bearer(editor), caller, callee, body, **params)
        assert_cortex_error(response, status, "NOT_FOUND" if status == 404 else "BAD_REQUEST", details_contains=names)
        assert not EntityDependency.objects.exists()

    def test_descriptor_dependencies_cannot_be_changed_through_the_api(self, pair, editor, bearer):
        text = entity_yaml("caller-svc") + "  x-cortex-dependency:\n    - tag: callee-svc\n"
        entity_apply_descriptor(text=text)
        assert_cortex_error(create(bearer(editor)), 409, "CONFLICT", details_contains="descriptor")
        url = DEP.format(caller="caller-svc", callee="callee-svc")
        assert_cortex_error(
            bearer(editor).put(url, {}, format="json"), 400, "BAD_REQUEST", details_contains="descriptor"
        )
        assert_cortex_error(bearer(editor).delete(url), 400, "BAD_REQUEST", details_contains="descriptor")
        # delete-all leaves the descriptor's dependency.
        assert bearer(editor).delete("/api/v1/catalog/caller-svc/dependencies").status_code == 200
        assert EntityDependency.objects.get().source == RecordSource.DESCRIPTOR

    def test_list_in_and_out_pages_with_fixed_queries(self, pair, editor, viewer, bearer):
        caller, callee = pair
        for index in range(3):
            create(bearer(editor), method="GET", path=f"/p{index}")
        make_entity("third-svc")
        create(bearer(editor), "third-svc", "caller-svc")
        client = bearer(viewer)
        out = client.get("/api/v1/catalog/caller-svc/dependencies", {"pageSize": 2}).json()
        assert (out["total"], out["totalPages"], len(out["dependencies"])) == (3, 2, 2)
        both = client.get(
            "/api/v1/catalog/caller-svc/dependencies", {"includeIncoming": "true", "includeOutgoing": "true"}
        ).json()
        assert {(d["callerTag"], d["calleeTag"]) for d in both["dependencies"]} == {
            ("caller-svc", "callee-svc"),
            ("third-svc", "caller-svc"),
        }
        incoming = client.get(
            "/api/v1/catalog/callee-svc/dependencies", {"includeIncoming": "True", "includeOutgoing": "False"}
        ).json()
        assert incoming["total"] == 3
        url = "/api/v1/catalog/callee-svc/dependencies?includeIncoming=true"
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        for index in range(3, 12):
            create(bearer(editor), method="POST", path=f"/p{index}")
        with CaptureQueriesContext(connection) as many:
            assert client.get(url).json()["total"] == 12
        assert len(few) == len(many)

    def test_bulk_upsert_is_all_or_nothing_and_bulk_delete(self, pair, editor, bearer):
        client = bearer(editor)
        body = {
            "values": {
                "caller-svc": [{"tag": "callee-svc", "method": "GET", "path": "/a", "metadata": {"x": 1}}],
                "callee-svc": [{"tag": "nope"}],
            }
        }
        response = client.put("/api/v1/catalog/dependencies", body, format="json")
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="values.callee-svc[0].tag")
        assert not EntityDependency.objects.exists()
        del body["values"]["callee-svc"]
        response = client.put("/api/v1/catalog/dependencies", body, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["values"]["caller-svc"][0]["metadata"] == {"x": 1}
        assert client.put("/api/v1/catalog/dependencies", body, format="json").status_code == 200
        assert EntityDependency.objects.count() == 1
        assert client.delete("/api/v1/catalog/dependencies", body, format="json").status_code == 200
        assert not EntityDependency.objects.exists()
        bad = {"values": {"caller-svc": [{"tag": "callee-svc", "method": 7}]}}
        assert_cortex_error(
            client.put("/api/v1/catalog/dependencies", bad, format="json"),
            400,
            "BAD_REQUEST",
            details_contains="method",
        )


TYPE = {
    "tag": "ai-skill-service",
    "name": "AI skill of a service",
    "description": "Which services a skill serves.",
    "definitionLocation": "SOURCE",
    "allowCycles": False,
    "createCatalog": False,
    "isSingleSource": False,
    "isSingleDestination": False,
    "sourcesFilter": {"include": True, "types": ["ai-skill"]},
    "destinationsFilter": {"include": True, "types": ["service"]},
    "inheritances": [],
}


class TestRelationshipTypes:
    def test_create_list_get_update_delete(self, db, editor, viewer, bearer):
        client = bearer(editor)
        created = client.post("/api/v1/relationship-types", TYPE, format="json")
        assert created.status_code == 200, created.content
        assert created.json()["sourcesFilter"] == {"include": True, "types": ["ai-skill"]}
        assert_cortex_error(client.post("/api/v1/relationship-types", TYPE, format="json"), 409, "CONFLICT")
        listed = bearer(viewer).get("/api/v1/relationship-types").json()
        assert (listed["total"], listed["relationshipTypes"][0]["tag"]) == (1, "ai-skill-service")
        assert bearer(viewer).get("/api/v1/relationship-types/ai-skill-service").json()["name"] == TYPE["name"]
        changed = client.put("/api/v1/relationship-types/ai-skill-service", {**TYPE, "name": "Serves"}, format="json")
        assert changed.json()["name"] == "Serves"
        assert_cortex_error(bearer(viewer).delete("/api/v1/relationship-types/ai-skill-service"), 403, "FORBIDDEN")
        assert client.delete("/api/v1/relationship-types/ai-skill-service").status_code == 200
        assert not RelationshipType.objects.exists()
        assert_cortex_error(bearer(viewer).get("/api/v1/relationship-types/ai-skill-service"), 404, "NOT_FOUND")

    @pytest.mark.parametrize(
        ("change", "names"),
        [
            ({"tag": "bad tag"}, "tag"),
            ({"tag": "x\x00"}, "tag"),
            ({"name": 5}, "name"),
            ({"definitionLocation": "SIDEWAYS"}, "definitionLocation"),
            ({"allowCycles": "maybe"}, "allowCycles"),
            ({"sourcesFilter": {"include": "yes"}}, "sourcesFilter"),
            ({"inheritances": [{"parameterTag": "x-cortex-owners", "inheritanceType": "ALWAYS"}]}, "inheritances"),
            ({"description": "d" * 4001}, "description"),
        ],
    )
    def test_bad_types_are_refused(self, db, editor, bearer, change, names):
        response = bearer(editor).post("/api/v1/relationship-types", {**TYPE, **change}, format="json")
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains=names)
        assert not RelationshipType.objects.exists()

    def test_list_queries_are_fixed(self, db, viewer, bearer):
        client = bearer(viewer)
        RelationshipType.objects.create(tag="t0", name="T0")
        client.get("/api/v1/relationship-types")
        with CaptureQueriesContext(connection) as few:
            client.get("/api/v1/relationship-types")
        RelationshipType.objects.bulk_create(RelationshipType(tag=f"t{i}", name=f"T{i}") for i in range(1, 12))
        with CaptureQueriesContext(connection) as many:
            assert client.get("/api/v1/relationship-types").json()["total"] == 12
        assert len(few) == len(many)


class TestRelationships:
    @pytest.fixture
    def world(self, db, editor, bearer):
        bearer(editor).post("/api/v1/relationship-types", TYPE, format="json")
        skill = entity_apply_descriptor(text=entity_yaml("skill").replace("type: service", "type: ai-skill"))[0]
        return skill, make_entity("svc-a"), make_entity("svc-b")

    def test_destinations_and_sources(self, world, editor, viewer, bearer):
        client = bearer(editor)
        url = "/api/v1/catalog/skill/relationships/ai-skill-service/destinations"
        added = client.post(url, {"destinations": ["svc-a"]}, format="json")
        assert added.status_code == 200, added.content
        assert [d["tag"] for d in added.json()["destinations"]] == ["svc-a"]
        client.post(url, {"destinations": ["svc-b"]}, format="json")
        got = bearer(viewer).get(url).json()["destinations"]
        assert [(d["tag"], d["type"], d["depth"]) for d in got] == [("svc-a", "service", 1), ("svc-b", "service", 1)]
        replaced = client.put(url, {"destinations": ["svc-b"]}, format="json").json()["destinations"]
        assert [d["tag"] for d in replaced] == ["svc-b"]
        sources = bearer(viewer).get("/api/v1/catalog/svc-b/relationships/ai-skill-service/sources").json()
        assert [s["tag"] for s in sources["sources"]] == ["skill"]
        # A service cannot be a source, an unknown entity is named, a viewer cannot write.
        from_service = "/api/v1/catalog/svc-a/relationships/ai-skill-service/destinations"
        assert_cortex_error(
            client.post(from_service, {"destinations": ["svc-b"]}, format="json"),
            400,
            "BAD_REQUEST",
            details_contains="cannot have sources of type 'service'",
        )
        assert_cortex_error(
            client.post(url, {"destinations": ["svc-b", "ghost"]}, format="json"),
            400,
            "BAD_REQUEST",
            details_contains="destinations[1]",
        )
        assert_cortex_error(bearer(viewer).post(url, {"destinations": ["svc-a"]}, format="json"), 403, "FORBIDDEN")
        assert_cortex_error(
            client.post(url, {"destinations": [5]}, format="json"), 400, "BAD_REQUEST", details_contains="destinations"
        )
        assert_cortex_error(bearer(viewer).get(url.replace("ai-skill-service", "nope")), 404, "NOT_FOUND")
        assert EntityRelationship.objects.count() == 1

    def test_bulk_add_replace_list_and_force(self, world, editor, viewer, bearer):
        client = bearer(editor)
        url = "/api/v1/relationships/ai-skill-service"
        body = {"relationships": [{"source": "skill", "destination": "svc-a"}]}
        assert client.post(url, body, format="json").status_code == 200
        listed = bearer(viewer).get(url).json()
        assert listed["total"] == 1
        row = listed["relationships"][0]
        assert (row["source"]["tag"], row["destinationEntity"]["tag"], row["providerType"]) == ("skill", "svc-a", "API")
        # A descriptor's link is only removed with force.
        skill2 = entity_yaml("skill2").replace("type: service", "type: ai-skill")
        entity_apply_descriptor(
            text=skill2
            + "  x-cortex-relationships:\n    - type: ai-skill-service\n      destinations:\n        - tag: svc-b\n"
        )
        assert_cortex_error(client.put(url, body, format="json"), 400, "BAD_REQUEST", details_contains="force")
        assert EntityRelationship.objects.count() == 2
        assert client.put(url + "?force=true", body, format="json").status_code == 200
        assert list(EntityRelationship.objects.values_list("source_tag", "destination_tag")) == [("skill", "svc-a")]
        bad = {"relationships": [{"source": "skill", "destination": "ghost"}]}
        assert_cortex_error(client.post(url, bad, format="json"), 400, "BAD_REQUEST", details_contains="destination")

    def test_relationship_list_queries_are_fixed(self, world, editor, viewer, bearer):
        client = bearer(viewer)
        url = "/api/v1/relationships/ai-skill-service"
        bearer(editor).post(url, {"relationships": [{"source": "skill", "destination": "svc-a"}]}, format="json")
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        for index in range(8):
            make_entity(f"more-{index}")
            bearer(editor).post(
                url, {"relationships": [{"source": "skill", "destination": f"more-{index}"}]}, format="json"
            )
        with CaptureQueriesContext(connection) as many:
            assert client.get(url).json()["total"] == 9
        assert len(few) == len(many)
