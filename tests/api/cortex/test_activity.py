"""Cortex v1 deploys, custom events and custom metrics, request by request: shapes, filters, paging, bad
input (400 naming the field, nothing written), permissions (Viewer reads, Editor writes) and query counts."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.activity.models import CustomEvent, CustomMetric, CustomMetricPoint, Deploy
from apps.activity.services import custom_metric_create, deploy_add
from apps.catalog.models import Entity
from tests.api.cortex.conftest import assert_cortex_error

pytestmark = pytest.mark.django_db

SVC, OTHER = "pay-svc", "ship-svc"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def svc(db) -> Entity:
    Entity.objects.create(tag=OTHER, name="Ship")
    return Entity.objects.create(tag=SVC, name="Pay")


def send(client, method: str, path: str, body=None, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"/api/v1/{path}" + (f"?{query}" if query else "")
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    return getattr(client, method)(url, data=data, content_type="application/json")


def deploy_body(**overrides) -> dict:
    return {
        "timestamp": "2025-03-01T12:00:00Z",
        "title": "v1.2.0",
        "type": "DEPLOY",
        "sha": "abc123",
        "environment": "prod",
        "url": "https://ci.example.com/1",
        "deployer": {"name": "Ana", "email": "ana@example.com"},
        "customData": {"region": "eu"},
        **overrides,
    }


# --- deploys ---------------------------------------------------------------------------------------------


class TestDeploys:
    def test_add_answers_the_deploy_and_stores_it(self, svc, editor, bearer):
        response = send(bearer(editor), "post", f"catalog/{SVC}/deploys", deploy_body())
        assert response.status_code == 200, response.content
        body = response.json()
        assert uuid.UUID(body.pop("uuid"))
        assert body == {
            "title": "v1.2.0",
            "type": "DEPLOY",
            "sha": "abc123",
            "environment": "prod",
            "url": "https://ci.example.com/1",
            "timestamp": "2025-03-01T12:00:00.000Z",
            "deployer": {"name": "Ana", "email": "ana@example.com"},
            "customData": {"region": "eu"},
        }
        deploy = Deploy.objects.get()
        assert (deploy.entity, deploy.timestamp, deploy.deployer_email) == (svc, T0, "ana@example.com")

    def test_entity_by_id_naive_times_are_utc_and_optional_fields_are_null(self, svc, editor, bearer):
        body = {"timestamp": "2025-03-01T12:00:00", "title": "bare", "type": "ROLLBACK", "deployer": None}
        response = send(bearer(editor), "post", f"catalog/{svc.public_id}/deploys", body)
        assert response.status_code == 200, response.content
        got = response.json()
        assert (got["timestamp"], got["sha"], got["deployer"], got["customData"]) == (
            "2025-03-01T12:00:00.000Z", None, None, None,
        )  # fmt: skip
        assert Deploy.objects.get().timestamp == T0

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"timestamp": None}, "timestamp"),
            ({"timestamp": "yesterday"}, "timestamp"),
            ({"type": "LAUNCH"}, "type"),
            ({"title": ""}, "title"),
            ({"title": "x" * 256}, "title"),
            ({"sha": "a\x00b"}, "sha"),
            ({"url": "u" * 2049}, "url"),
            ({"deployer": {"email": "e" * 255}}, "deployer.email"),
            ({"customData": {"k": "a\x00b"}}, "customData"),
            ({"customData": {"big": "x" * 70_000}}, "customData"),
            ({"customData": [1, 2]}, "customData"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(self, svc, editor, bearer, change, field):
        body = deploy_body(**change)
        response = send(bearer(editor), "post", f"catalog/{SVC}/deploys", body)
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains=f"{field}:")
        assert not Deploy.objects.exists()

    def test_missing_timestamp_and_unparsable_bodies(self, svc, editor, bearer):
        body = deploy_body()
        del body["timestamp"]
        client = bearer(editor)
        assert_cortex_error(
            send(client, "post", f"catalog/{SVC}/deploys", body), 400, "BAD_REQUEST", details_contains="timestamp:"
        )
        assert_cortex_error(send(client, "post", f"catalog/{SVC}/deploys", "{"), 400, "BAD_REQUEST")
        assert_cortex_error(send(client, "post", f"catalog/{SVC}/deploys", "[]"), 400, "BAD_REQUEST")
        assert not Deploy.objects.exists()

    def test_list_is_newest_first_paged_and_per_entity(self, svc, viewer, bearer):
        other = Entity.objects.get(tag=OTHER)
        for day in range(3):
            deploy_add(entity=svc, timestamp=T0 + timedelta(days=day), title=f"d{day}")
        deploy_add(entity=other, timestamp=T0, title="elsewhere")
        client = bearer(viewer)
        listed = send(client, "get", f"catalog/{SVC}/deploys").json()
        assert [d["title"] for d in listed["deployments"]] == ["d2", "d1", "d0"]
        assert (listed["page"], listed["total"], listed["totalPages"]) == (0, 3, 1)
        page = send(client, "get", f"catalog/{SVC}/deploys", page=1, pageSize=2).json()
        assert ([d["title"] for d in page["deployments"]], page["total"], page["totalPages"]) == (["d0"], 3, 2)
        assert send(client, "get", f"catalog/{SVC}/deploys", page=5).json()["deployments"] == []
        assert_cortex_error(
            send(client, "get", f"catalog/{SVC}/deploys", pageSize=0), 400, "BAD_REQUEST", details_contains="pageSize"
        )
        assert_cortex_error(send(client, "get", "catalog/ghost/deploys"), 404, "NOT_FOUND")

    def test_list_query_count_does_not_grow(self, svc, viewer, bearer):
        client = bearer(viewer)

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert send(client, "get", f"catalog/{SVC}/deploys").status_code == 200
            return len(queries)

        deploy_add(entity=svc, timestamp=T0, title="one")
        count()  # warm what the first request of a key loads once
        few = count()
        for n in range(20):
            deploy_add(entity=svc, timestamp=T0 + timedelta(hours=n), title=f"n{n}")
        assert count() == few

    def test_update_changes_what_is_sent_and_keeps_the_rest(self, svc, editor, bearer):
        deploy = deploy_add(entity=svc, timestamp=T0, title="v1", sha="aaa", environment="prod")
        client = bearer(editor)
        path = f"catalog/{SVC}/deploys/{deploy.uuid}"
        got = send(client, "put", path, {"sha": "bbb", "title": None, "deployer": {"name": "Bo"}}).json()
        assert (got["sha"], got["title"], got["environment"], got["deployer"]) == (
            "bbb", "v1", "prod", {"name": "Bo", "email": None},
        )  # fmt: skip
        assert send(client, "get", path).json()["sha"] == "bbb"
        assert_cortex_error(send(client, "put", path, {"type": "NOPE"}), 400, "BAD_REQUEST", details_contains="type:")
        assert_cortex_error(
            send(client, "put", f"catalog/{SVC}/deploys/{uuid.uuid4()}", {"sha": "c"}), 404, "NOT_FOUND"
        )
        assert_cortex_error(send(client, "put", f"catalog/{SVC}/deploys/not-a-uuid", {"sha": "c"}), 404, "NOT_FOUND")
        # Another entity's deploy is not this entity's.
        assert_cortex_error(
            send(client, "put", f"catalog/{OTHER}/deploys/{deploy.uuid}", {"sha": "c"}), 404, "NOT_FOUND"
        )
        assert Deploy.objects.get().sha == "bbb"

    def test_delete_by_uuid_by_entity_filters_by_global_filter_and_all(self, svc, editor, bearer):
        other = Entity.objects.get(tag=OTHER)
        client = bearer(editor)
        gone = deploy_add(entity=svc, timestamp=T0, title="a", sha="s1")
        assert send(client, "delete", f"catalog/{SVC}/deploys/{gone.uuid}").status_code == 200
        assert_cortex_error(send(client, "delete", f"catalog/{SVC}/deploys/{gone.uuid}"), 404, "NOT_FOUND")

        deploy_add(entity=svc, timestamp=T0, title="b", sha="s1", environment="prod")
        deploy_add(entity=svc, timestamp=T0, title="c", sha="s2", environment="prod")
        deploy_add(entity=other, timestamp=T0, title="d", sha="s1", type="SCALE")
        assert send(client, "delete", f"catalog/{SVC}/deploys", sha="s1").status_code == 200
        assert set(Deploy.objects.values_list("title", flat=True)) == {"c", "d"}

        assert_cortex_error(
            send(client, "delete", "catalog/deploys"), 400, "BAD_REQUEST", details_contains="at least one"
        )
        assert_cortex_error(
            send(client, "delete", "catalog/deploys", type="NOPE"), 400, "BAD_REQUEST", details_contains="type:"
        )
        assert send(client, "delete", "catalog/deploys", type="SCALE").status_code == 200
        assert set(Deploy.objects.values_list("title", flat=True)) == {"c"}

        deploy_add(entity=other, timestamp=T0, title="e")
        assert send(client, "delete", f"catalog/{SVC}/deploys").status_code == 200  # no filter: all of SVC's
        assert set(Deploy.objects.values_list("title", flat=True)) == {"e"}
        assert send(client, "delete", "catalog/deploys/all").status_code == 200
        assert not Deploy.objects.exists()

    def test_catalog_deploys_path_still_reads_an_entity_tagged_deploys(self, svc, viewer, bearer):
        Entity.objects.create(tag="deploys", name="Deploys")
        assert send(bearer(viewer), "get", "catalog/deploys").json()["tag"] == "deploys"

    def test_viewers_read_editors_write(self, svc, viewer, editor, bearer, key_for):
        deploy = deploy_add(entity=svc, timestamp=T0, title="v1")
        reader, nobody = bearer(viewer), bearer(key_for(None))
        assert send(reader, "get", f"catalog/{SVC}/deploys").status_code == 200
        assert send(reader, "get", f"catalog/{SVC}/deploys/{deploy.uuid}").status_code == 200
        for method, path in [
            ("post", f"catalog/{SVC}/deploys"),
            ("put", f"catalog/{SVC}/deploys/{deploy.uuid}"),
            ("delete", f"catalog/{SVC}/deploys/{deploy.uuid}"),
            ("delete", f"catalog/{SVC}/deploys"),
            ("delete", "catalog/deploys?sha=x"),
            ("delete", "catalog/deploys/all"),
        ]:
            assert_cortex_error(send(reader, method, path, deploy_body()), 403, "FORBIDDEN")
        assert_cortex_error(send(nobody, "get", f"catalog/{SVC}/deploys"), 403, "FORBIDDEN")
        assert_cortex_error(send(bearer(None), "get", f"catalog/{SVC}/deploys"), 401, "UNAUTHORIZED")
        assert Deploy.objects.count() == 1


# --- custom events ---------------------------------------------------------------------------------------


def event_body(**overrides) -> dict:
    return {
        "timestamp": "2025-03-01T12:00:00",
        "title": "Learned Cortex",
        "type": "LEARN_CORTEX",
        "description": "Finished the course",
        "url": "https://learn.example.com",
        "customData": {"score": 9},
        **overrides,
    }


class TestCustomEvents:
    def test_create_get_update_delete(self, svc, editor, viewer, bearer):
        client = bearer(editor)
        created = send(client, "post", f"catalog/{SVC}/custom-events", event_body())
        assert created.status_code == 200, created.content
        body = created.json()
        key = body.pop("uuid")
        assert body == {
            "title": "Learned Cortex",
            "type": "LEARN_CORTEX",
            "description": "Finished the course",
            "url": "https://learn.example.com",
            "timestamp": "2025-03-01T12:00:00.000Z",
            "customData": {"score": 9},
        }
        path = f"catalog/{SVC}/custom-events/{key}"
        assert send(bearer(viewer), "get", path).json()["uuid"] == key
        updated = send(client, "put", path, {"title": "Relearned", "type": None, "url": ""}).json()
        assert (updated["title"], updated["type"], updated["url"], updated["description"]) == (
            "Relearned", "LEARN_CORTEX", None, "Finished the course",
        )  # fmt: skip
        assert send(client, "delete", path).status_code == 200
        assert_cortex_error(send(client, "get", path), 404, "NOT_FOUND")
        assert not CustomEvent.objects.exists()

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"timestamp": None}, "timestamp"),
            ({"type": ""}, "type"),
            ({"type": "T" * 256}, "type"),
            ({"title": None}, "title"),
            ({"description": "a\x00"}, "description"),
            ({"description": "d" * 10_001}, "description"),
            ({"customData": {"a\x00": 1}}, "customData"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, svc, editor, bearer, change, field):
        response = send(bearer(editor), "post", f"catalog/{SVC}/custom-events", event_body(**change))
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains=f"{field}:")
        assert not CustomEvent.objects.exists()

    def test_list_filters_by_type_and_time_and_deletes_likewise(self, svc, editor, viewer, bearer):
        client = bearer(editor)
        for day, kind in enumerate(["A", "B", "A", "B"]):
            stamp = (T0 + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%S")
            send(
                client, "post", f"catalog/{SVC}/custom-events", event_body(title=f"e{day}", type=kind, timestamp=stamp)
            )
        reader = bearer(viewer)

        def titles(**params) -> list[str]:
            body = send(reader, "get", f"catalog/{SVC}/custom-events", **params).json()
            assert body["total"] == len(body["events"])
            return [e["title"] for e in body["events"]]

        assert titles() == ["e3", "e2", "e1", "e0"]
        assert titles(type="A") == ["e2", "e0"]
        assert titles(timestamp="2025-03-02T12:00:00") == ["e3", "e2", "e1"]
        assert titles(startTime="2025-03-02T00:00:00Z", endTime="2025-03-03T12:00:00Z") == ["e2", "e1"]
        assert_cortex_error(
            send(reader, "get", f"catalog/{SVC}/custom-events", startTime="soon"),
            400,
            "BAD_REQUEST",
            details_contains="startTime:",
        )

        assert (
            send(
                client, "delete", f"catalog/{SVC}/custom-events", type="B", timestamp="2025-03-04T00:00:00"
            ).status_code
            == 200
        )
        assert titles() == ["e2", "e1", "e0"]
        assert send(client, "delete", f"catalog/{SVC}/custom-events").status_code == 200
        assert titles() == []

    def test_list_query_count_does_not_grow(self, svc, editor, viewer, bearer):
        client, reader = bearer(editor), bearer(viewer)

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert send(reader, "get", f"catalog/{SVC}/custom-events").status_code == 200
            return len(queries)

        send(client, "post", f"catalog/{SVC}/custom-events", event_body())
        count()  # warm what the first request of a key loads once
        few = count()
        for _ in range(15):
            send(client, "post", f"catalog/{SVC}/custom-events", event_body())
        assert count() == few

    def test_viewers_read_editors_write(self, svc, viewer, bearer):
        reader = bearer(viewer)
        assert send(reader, "get", f"catalog/{SVC}/custom-events").status_code == 200
        assert_cortex_error(send(reader, "post", f"catalog/{SVC}/custom-events", event_body()), 403, "FORBIDDEN")
        assert_cortex_error(send(reader, "delete", f"catalog/{SVC}/custom-events"), 403, "FORBIDDEN")
        assert_cortex_error(send(reader, "put", f"catalog/{SVC}/custom-events/{uuid.uuid4()}", {}), 403, "FORBIDDEN")
        assert not CustomEvent.objects.exists()


# --- custom metrics --------------------------------------------------------------------------------------


def recent(days: int = 1) -> str:
    return (timezone.now() - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")


class TestCustomMetrics:
    def test_definitions_create_list_get_update_delete(self, svc, editor, viewer, bearer):
        client, reader = bearer(editor), bearer(viewer)
        definition = {"key": "ai-spend", "name": "AI spend", "valence": "NEGATIVE", "type": "PUBLIC_API"}
        created = send(client, "post", "eng-intel/custom-metrics", definition)
        assert created.status_code == 200, created.content
        assert {k: created.json()[k] for k in ("key", "name", "valence", "isDraft", "category")} == {
            "key": "ai-spend", "name": "AI spend", "valence": "NEGATIVE", "isDraft": False, "category": None,
        }  # fmt: skip
        assert_cortex_error(send(client, "post", "eng-intel/custom-metrics", definition), 409, "CONFLICT")
        send(client, "post", "eng-intel/custom-metrics", {"key": "a-first", "name": "First", "valence": "NEUTRAL"})
        listed = send(reader, "get", "eng-intel/custom-metrics").json()
        assert ([m["key"] for m in listed["customMetrics"]], listed["total"]) == (["a-first", "ai-spend"], 2)
        assert send(reader, "get", "eng-intel/custom-metrics/ai-spend").json()["name"] == "AI spend"
        updated = send(client, "put", "eng-intel/custom-metrics/ai-spend", {"category": "Cost", "key": "ai-spend"})
        assert (updated.json()["category"], updated.json()["name"]) == ("Cost", "AI spend")
        assert_cortex_error(
            send(client, "put", "eng-intel/custom-metrics/ai-spend", {"key": "other"}),
            400,
            "BAD_REQUEST",
            details_contains="key:",
        )
        assert send(client, "delete", "eng-intel/custom-metrics/ai-spend").status_code == 200
        assert_cortex_error(send(reader, "get", "eng-intel/custom-metrics/ai-spend"), 404, "NOT_FOUND")
        assert_cortex_error(send(reader, "get", f"eng-intel/custom-metrics/ai-spend/entity/{SVC}"), 404, "NOT_FOUND")

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"key": "-bad", "name": "x", "valence": "NEUTRAL"}, "key"),
            ({"key": "k" * 256, "name": "x", "valence": "NEUTRAL"}, "key"),
            ({"key": "ok", "name": "x", "valence": "UP"}, "valence"),
            ({"key": "ok", "valence": "NEUTRAL"}, "name"),
            ({"key": "ok", "name": "x\x00", "valence": "NEUTRAL"}, "name"),
        ],
    )
    def test_bad_definitions_are_refused(self, db, editor, bearer, body, field):
        response = send(bearer(editor), "post", "eng-intel/custom-metrics", body)
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains=f"{field}:")
        assert not CustomMetric.objects.exists()

    def test_points_add_bulk_list_window_and_delete(self, svc, editor, viewer, bearer):
        custom_metric_create(key="ai-spend", name="AI spend", valence="NEGATIVE")
        client, reader = bearer(editor), bearer(viewer)
        path = f"eng-intel/custom-metrics/ai-spend/entity/{SVC}"
        added = send(client, "post", path, {"timestamp": recent(3), "value": 3.5})
        assert added.status_code == 200, added.content
        assert added.json()["value"] == 3.5
        two_days_ago = recent(2)  # once: on a busy machine the clock moves between calls
        bulk = {"series": [{"timestamp": two_days_ago, "value": "1.0"}, {"timestamp": recent(1), "value": 2}]}
        assert len(send(client, "post", f"{path}/bulk", bulk).json()["series"]) == 2
        listed = send(reader, "get", path).json()
        assert ([p["value"] for p in listed["data"]], listed["total"]) == ([2.0, 1.0, 3.5], 3)
        assert [p["value"] for p in send(reader, "get", path, startDate=two_days_ago).json()["data"]] == [2.0, 1.0]
        assert [p["value"] for p in send(reader, "get", path, endDate=two_days_ago).json()["data"]] == [1.0, 3.5]
        assert send(reader, "get", path, page=0, pageSize=1).json()["totalPages"] == 3
        # Another entity has none; an unknown entity or key is a 404.
        assert send(reader, "get", f"eng-intel/custom-metrics/ai-spend/entity/{OTHER}").json()["data"] == []
        assert_cortex_error(send(reader, "get", "eng-intel/custom-metrics/ai-spend/entity/ghost"), 404, "NOT_FOUND")
        assert_cortex_error(
            send(client, "post", f"eng-intel/custom-metrics/nope/entity/{SVC}", {"timestamp": recent(), "value": 1}),
            404,
            "NOT_FOUND",
        )

        assert send(client, "delete", path, startDate=two_days_ago, endDate=two_days_ago).status_code == 200
        assert [p["value"] for p in send(reader, "get", path).json()["data"]] == [2.0, 3.5]
        assert send(client, "delete", path).status_code == 200
        assert not CustomMetricPoint.objects.exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"value": 1}, "timestamp"),
            ({"timestamp": "2025-13-01T00:00:00", "value": 1}, "timestamp"),
            ({"timestamp": None, "value": 1}, "timestamp"),
            ({"timestamp": "NOW", "value": 1}, "timestamp"),
            ({"timestamp": "RECENT", "value": "lots"}, "value"),
            ({"timestamp": "RECENT", "value": "NaN"}, "value"),
            ({"timestamp": "RECENT", "value": None}, "value"),
            ({"timestamp": "RECENT"}, "value"),
        ],
    )
    def test_bad_points_are_refused(self, svc, editor, bearer, body, field):
        custom_metric_create(key="ai-spend", name="AI spend", valence="NEGATIVE")
        body = {**body, "timestamp": recent()} if body.get("timestamp") == "RECENT" else body
        response = send(bearer(editor), "post", f"eng-intel/custom-metrics/ai-spend/entity/{SVC}", body)
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains=f"{field}:")
        assert not CustomMetricPoint.objects.exists()

    def test_old_points_refuse_the_whole_bulk(self, svc, editor, bearer):
        custom_metric_create(key="ai-spend", name="AI spend", valence="NEGATIVE")
        path = f"eng-intel/custom-metrics/ai-spend/entity/{SVC}"
        bulk = {"series": [{"timestamp": recent(1), "value": 1}, {"timestamp": recent(400), "value": 2}]}
        response = send(bearer(editor), "post", f"{path}/bulk", bulk)
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="series[1].timestamp:")
        assert_cortex_error(
            send(bearer(editor), "post", f"{path}/bulk", {"series": []}), 400, "BAD_REQUEST", details_contains="series:"
        )
        assert not CustomMetricPoint.objects.exists()

    def test_points_list_query_count_does_not_grow(self, svc, editor, viewer, bearer):
        custom_metric_create(key="ai-spend", name="AI spend", valence="NEGATIVE")
        path = f"eng-intel/custom-metrics/ai-spend/entity/{SVC}"
        reader = bearer(viewer)

        def count(list_path: str) -> int:
            with CaptureQueriesContext(connection) as queries:
                assert send(reader, "get", list_path).status_code == 200
            return len(queries)

        send(bearer(editor), "post", path, {"timestamp": recent(), "value": 1})
        count(path)  # warm what the first request of a key loads once
        few, few_defs = count(path), count("eng-intel/custom-metrics")
        series = [{"timestamp": recent(n + 1), "value": n} for n in range(20)]
        send(bearer(editor), "post", f"{path}/bulk", {"series": series})
        for n in range(10):
            custom_metric_create(key=f"m-{n}", name=f"M {n}", valence="NEUTRAL")
        assert (count(path), count("eng-intel/custom-metrics")) == (few, few_defs)

    def test_viewers_read_editors_write(self, svc, viewer, bearer):
        custom_metric_create(key="ai-spend", name="AI spend", valence="NEGATIVE")
        reader = bearer(viewer)
        path = f"eng-intel/custom-metrics/ai-spend/entity/{SVC}"
        assert send(reader, "get", "eng-intel/custom-metrics").status_code == 200
        assert send(reader, "get", path).status_code == 200
        for method, target, body in [
            ("post", "eng-intel/custom-metrics", {"key": "x", "name": "x", "valence": "NEUTRAL"}),
            ("put", "eng-intel/custom-metrics/ai-spend", {"name": "y"}),
            ("delete", "eng-intel/custom-metrics/ai-spend", None),
            ("post", path, {"timestamp": recent(), "value": 1}),
            ("post", f"{path}/bulk", {"series": [{"timestamp": recent(), "value": 1}]}),
            ("delete", path, None),
        ]:
            assert_cortex_error(send(reader, method, target, body), 403, "FORBIDDEN")
        assert CustomMetric.objects.get().name == "AI spend"
