"""What every Cortex v1 operation shares: Bearer keys (401), role permissions (403), the Cortex error body
for every failure (never HTML), no trailing slashes, rate limiting per key (429), the Django-level
404/500 handlers, and the OpenAPI schema and docs."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import RequestFactory
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_revoke
from apps.api import errors
from apps.api.cortex import urls as cortex_urls
from apps.api.cortex.errors import cortex_exception_handler
from apps.scorecards.models import Scorecard
from tests.api.cortex.conftest import GOOD, TAG, assert_cortex_error

pytestmark = pytest.mark.django_db

LIST = "/api/v1/scorecards"


def get(client, path, **params):
    return client.get(path, params, CONTENT_TYPE="application/yaml")


# --- 401 -------------------------------------------------------------------------------------------------


class TestAuthentication:
    def test_no_key_is_401_with_a_bearer_challenge(self, world):
        response = get(APIClient(), LIST)
        assert_cortex_error(response, 401, "UNAUTHORIZED", details_contains="credentials were not provided")
        assert response["WWW-Authenticate"] == "Bearer"
        assert response["X-Request-Id"] == response.json()["requestId"]

    @pytest.mark.parametrize(
        ("header", "detail"),
        [
            ("Bearer sk_not-a-real-key", "not valid"),
            ("Bearer nonsense", "not valid"),
            ("Bearer   ", "No API key was given after 'Bearer'"),
            ("Bearer", "No API key was given after 'Bearer'"),
        ],
    )
    def test_bad_keys_are_401(self, world, header, detail):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        response = get(client, LIST)
        assert_cortex_error(response, 401, "UNAUTHORIZED", details_contains=detail)
        assert response["WWW-Authenticate"] == "Bearer"

    def test_revoked_key_is_401(self, world, viewer, bearer):
        client = bearer(viewer)
        assert get(client, LIST).status_code == 200
        key = ApiKey.objects.get(user=viewer.user)
        api_key_revoke(key_id=key.pk, by=viewer.user)
        assert_cortex_error(get(client, LIST), 401, "UNAUTHORIZED", details_contains="revoked")

    def test_key_of_a_deactivated_user_is_401(self, world, viewer, bearer):
        viewer.user.is_active = False
        viewer.user.save(update_fields=["is_active"])
        assert_cortex_error(get(bearer(viewer), LIST), 401, "UNAUTHORIZED")

    def test_user_without_a_role_is_403_everywhere(self, world, key_for, bearer):
        client = bearer(key_for(None))
        for path in (
            LIST,
            f"/api/v1/scorecards/{TAG}",
            f"/api/v1/catalog/{GOOD}",
            f"/api/v1/catalog/{GOOD}/scorecards",
        ):
            assert_cortex_error(get(client, path), 403, "FORBIDDEN", details_contains="lacks the permission")

    def test_session_login_works_too(self, world, viewer, client):
        client.force_login(viewer.user)
        response = client.get(LIST)
        assert response.status_code == 200
        assert response.json()["total"] == 1


RULE = "Has an owner"
EXEMPTION = f"/api/v1/scorecards/{TAG}/entity/bad-svc/exemption"
NO_UUID = "00000000-0000-0000-0000-000000000000"
EVENT = '{"timestamp": "2025-03-01T12:00:00", "title": "t", "type": "T"}'
SERIES = '{"series": [{"timestamp": "2025-03-01T12:00:00Z", "value": 1}]}'
# Every operation of apps/api/cortex/urls.py: (method, path, body, content type).
OPERATIONS = [
    ("get", LIST, None, "application/yaml"),
    ("post", "/api/v1/scorecards/descriptor?dryRun=False", "tag: x\nname: X\n", "application/yaml;charset=UTF-8"),
    ("get", f"/api/v1/scorecards/{TAG}", None, "application/yaml"),
    ("delete", f"/api/v1/scorecards/{TAG}", "{}", "application/json"),
    ("get", f"/api/v1/scorecards/{TAG}/descriptor", None, "application/yaml"),
    ("get", f"/api/v1/scorecards/{TAG}/scores", None, "application/yaml"),
    ("get", f"/api/v1/scorecards/{TAG}/next-steps?entityTag=bad-svc", None, "application/yaml"),
    ("get", f"/api/v1/scorecards/{TAG}/entity/{GOOD}/badge", None, "application/yaml"),
    ("post", f"/api/v1/scorecards/{TAG}/entity/bad-svc/scores", "{}", "application/json"),
    ("post", EXEMPTION, f'{{"days": 0, "reason": "r", "ruleIdentifier": "{RULE}"}}', "application/json"),
    ("put", f"{EXEMPTION}/approve", f'{{"ruleIdentifier": "{RULE}"}}', "application/json"),
    ("put", f"{EXEMPTION}/deny", f'{{"ruleIdentifier": "{RULE}", "reason": "r"}}', "application/json"),
    ("put", f"{EXEMPTION}/revoke", f'{{"ruleIdentifier": "{RULE}", "reason": "r"}}', "application/json"),
    ("post", "/api/v1/open-api?dryRun=False", "openapi: 3.0.1\n", "application/openapi;charset=UTF-8"),
    ("get", "/api/v1/catalog?includeArchived=False&page=0&pageSize=250", None, "application/yaml"),
    ("delete", f"/api/v1/catalog?ids={GOOD}", "{}", "application/json"),
    ("patch", "/api/v1/open-api?dryRun=False", "openapi: 3.0.1\n", "application/openapi;charset=UTF-8"),
    ("get", "/api/v1/catalog/descriptors?yaml=true&page=0&pageSize=250", None, "application/yaml"),
    ("get", f"/api/v1/catalog/{GOOD}?hierarchyDepth=full", None, "application/yaml"),
    ("get", f"/api/v1/catalog/{GOOD}/openapi?yaml=false", None, "application/yaml"),
    ("put", f"/api/v1/catalog/{GOOD}/archive", "{}", "application/json"),
    ("put", f"/api/v1/catalog/{GOOD}/unarchive", "{}", "application/json"),
    ("delete", f"/api/v1/catalog/{GOOD}", "{}", "application/json"),
    ("get", f"/api/v1/catalog/{GOOD}/scorecards", None, "application/yaml"),
    ("get", f"/api/v1/catalog/{GOOD}/custom-data", None, "application/yaml"),
    ("post", f"/api/v1/catalog/{GOOD}/custom-data?force=True", '{"key": "k", "value": "v"}', "application/json"),
    ("delete", f"/api/v1/catalog/{GOOD}/custom-data?key=tier&force=True", "{}", "application/json"),
    ("get", f"/api/v1/catalog/{GOOD}/custom-data/tier", None, "application/yaml"),
    (
        "put",
        "/api/v1/catalog/custom-data?force=False",
        '{"values": {"x": [{"key": "k", "value": 1}]}}',
        "application/json",
    ),
    ("get", f"/api/v1/catalog/{GOOD}/deploys?page=0&pageSize=250", None, "application/yaml"),
    ("put", f"/api/v1/catalog/{GOOD}/deploys/{NO_UUID}", '{"sha": "x"}', "application/json"),
    ("delete", "/api/v1/catalog/deploys?type=DEPLOY", "{}", "application/json"),
    ("delete", "/api/v1/catalog/deploys/all", "{}", "application/json"),
    ("post", f"/api/v1/catalog/{GOOD}/custom-events", EVENT, "application/json"),
    ("get", f"/api/v1/catalog/{GOOD}/custom-events/{NO_UUID}", None, "application/yaml"),
    ("get", "/api/v1/eng-intel/custom-metrics?page=0&pageSize=250", None, "application/yaml"),
    ("get", "/api/v1/eng-intel/custom-metrics/ai-spend", None, "application/yaml"),
    ("delete", f"/api/v1/eng-intel/custom-metrics/ai-spend/entity/{GOOD}", "{}", "application/json"),
    ("post", f"/api/v1/eng-intel/custom-metrics/ai-spend/entity/{GOOD}/bulk", SERIES, "application/json"),
    ("get", f"/api/v1/catalog/{GOOD}/dependencies?includeIncoming=True", None, "application/yaml"),
    ("delete", f"/api/v1/catalog/{GOOD}/dependencies", "{}", "application/json"),
    ("post", f"/api/v1/catalog/{GOOD}/dependencies/bad-svc", '{"description": ""}', "application/json"),
    ("get", f"/api/v1/catalog/{GOOD}/dependencies/bad-svc", None, "application/yaml"),
    ("put", "/api/v1/catalog/dependencies", f'{{"values": {{"{GOOD}": [{{"tag": "bad-svc"}}]}}}}', "application/json"),
    ("get", "/api/v1/relationship-types?page=0&pageSize=250", None, "application/yaml"),
    (
        "post",
        "/api/v1/relationship-types",
        '{"tag": "t", "name": "T", "definitionLocation": "SOURCE"}',
        "application/json",
    ),
    ("get", "/api/v1/relationship-types/t", None, "application/yaml"),
    ("get", "/api/v1/relationships/t?page=0&pageSize=250", None, "application/yaml"),
    ("get", f"/api/v1/catalog/{GOOD}/relationships/t/destinations?depth=1", None, "application/yaml"),
    ("post", f"/api/v1/catalog/{GOOD}/relationships/t/sources", '{"sources": ["bad-svc"]}', "application/json"),
    ("post", "/api/v1/queries", '{"query": "true"}', "application/json"),
    ("get", "/api/v1/queries/00000000-0000-0000-0000-000000000000", None, "application/yaml"),
    ("get", "/api/v1/ip-allowlist?page=0&pageSize=250", None, "application/yaml"),
    ("put", "/api/v1/ip-allowlist?force=True", '{"entries": [{"address": "10.0.0.0/8"}]}', "application/json"),
    ("post", "/api/v1/ip-allowlist/validate", '{"entries": [{"address": "10.0.0.0/8"}]}', "application/json"),
]


def _call(client, method, path, body, content_type):
    if body is None:
        return getattr(client, method)(path, CONTENT_TYPE=content_type)
    return getattr(client, method)(path, data=body, content_type=content_type)


def _state():
    from apps.activity.models import CustomEvent, CustomMetric, CustomMetricPoint, Deploy
    from apps.catalog.models import CustomData, Entity, EntityDependency, EntityRelationship, RelationshipType
    from apps.evaluations.models import EvaluationRun, QueryJob
    from apps.exemptions.models import Exemption
    from apps.security.models import IpAllowlistEntry

    return (
        EntityDependency.objects.count(),
        RelationshipType.objects.count(),
        EntityRelationship.objects.count(),
        Scorecard.objects.count(),
        Entity.objects.count(),
        CustomData.objects.count(),
        Exemption.objects.count(),
        EvaluationRun.objects.count(),
        QueryJob.objects.count(),
        Deploy.objects.count(),
        CustomEvent.objects.count(),
        CustomMetric.objects.count(),
        CustomMetricPoint.objects.count(),
        IpAllowlistEntry.objects.count(),
    )


def test_operations_table_covers_every_route():
    from django.urls import resolve

    names = {resolve(path.split("?")[0]).url_name for _, path, _, _ in OPERATIONS}
    assert names == {p.name for p in cortex_urls.urlpatterns}


@pytest.mark.parametrize(("method", "path", "body", "content_type"), OPERATIONS, ids=lambda v: str(v)[:60])
def test_every_operation_refuses_missing_bad_and_revoked_keys_and_users_without_a_role(
    world, key_for, bearer, method, path, body, content_type
):
    before = _state()
    for client in (bearer(None), _with_header("Bearer sk_bogus"), _with_header("Bearer")):
        assert_cortex_error(_call(client, method, path, body, content_type), 401, "UNAUTHORIZED")
    revoked = key_for("Admin", "revoked-admin")
    api_key_revoke(key_id=ApiKey.objects.get(user=revoked.user).pk, by=revoked.user)
    response = _call(bearer(revoked), method, path, body, content_type)
    assert_cortex_error(response, 401, "UNAUTHORIZED", details_contains="revoked")
    response = _call(bearer(key_for(None)), method, path, body, content_type)
    assert_cortex_error(response, 403, "FORBIDDEN", details_contains="lacks the permission")
    assert _state() == before


def _with_header(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=value)
    return client


# --- error shapes ----------------------------------------------------------------------------------------


class TestErrorShapes:
    def test_patch_on_a_scorecard_is_405(self, world, admin, bearer):
        response = bearer(admin).patch(f"/api/v1/scorecards/{TAG}", data="{}", content_type="application/json")
        body = assert_cortex_error(response, 405, "METHOD_NOT_ALLOWED", details_contains="PATCH")
        assert body["message"] == "Method Not Allowed"
        assert Scorecard.objects.filter(tag=TAG).exists()

    def test_post_on_the_list_is_405_even_for_a_viewer(self, world, viewer, bearer):
        response = bearer(viewer).post(LIST, data="{}", content_type="application/json")
        assert_cortex_error(response, 405, "METHOD_NOT_ALLOWED")

    def test_trailing_slash_is_a_json_404_not_a_redirect(self, world, viewer, bearer):
        response = get(bearer(viewer), f"{LIST}/")
        body = assert_cortex_error(response, 404, "NOT_FOUND")
        assert body["details"] == f"No API operation at {LIST}/."
        assert "Location" not in response

    def test_unknown_path_is_a_json_404(self, db, bearer):
        response = bearer(None).get("/api/v1/no/such/operation")
        assert_cortex_error(response, 404, "NOT_FOUND", details_contains="/api/v1/no/such/operation")

    @pytest.mark.parametrize(
        ("path", "content_type"),
        [
            ("/api/v1/open-api", "application/openapi;charset=UTF-8"),
            (f"/api/v1/catalog/{GOOD}/custom-data", "application/json"),
        ],
    )
    def test_a_body_past_the_upload_limit_is_413(self, world, editor, bearer, settings, path, content_type):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
        body = '{"key": "k", "value": "' + "x" * 200 + '"}'
        response = bearer(editor).post(path, data=body, content_type=content_type)
        assert_cortex_error(response, 413, "PAYLOAD_TOO_LARGE", details_contains="larger than the 100 bytes")

    def test_every_request_id_is_new(self, world):
        ids = {get(APIClient(), LIST).json()["requestId"] for _ in range(3)}
        assert len(ids) == 3

    def test_crash_in_a_view_is_a_cortex_500(self, world, viewer, bearer, monkeypatch, caplog):
        from apps.api.cortex import representations

        def explode(*args, **kwargs):
            raise RuntimeError("representation bug")

        monkeypatch.setattr(representations, "scorecard_of", explode)
        with caplog.at_level(logging.ERROR, logger="apps.api.errors"):
            response = get(bearer(viewer), LIST)
        body = assert_cortex_error(response, 500, "INTERNAL_SERVER_ERROR")
        assert "representation bug" not in body["details"]  # no internals leak
        assert any(r.exc_info and "representation bug" in str(r.exc_info[1]) for r in caplog.records)

    def test_exception_handler_maps_service_errors(self):
        from apps.core.errors import ApplicationError, NotFoundError, Problem, ValidationFailed

        request = RequestFactory().get("/api/v1/x")
        cases = [
            (NotFoundError("gone"), 404, "NOT_FOUND", "gone"),
            (ApplicationError("busy", code="conflict"), 409, "CONFLICT", "busy"),
            (ApplicationError("bad"), 400, "BAD_REQUEST", "bad"),
            (
                ValidationFailed(problems=[Problem("wrong", path="rules[0].weight", line=7)]),
                400,
                "BAD_REQUEST",
                "wrong",
            ),
        ]
        for exc, status, type_, detail in cases:
            response = cortex_exception_handler(exc, {"request": request})
            assert response.status_code == status
            assert response.data["type"] == type_
            assert response.data["httpStatus"] == status
            assert detail in response.data["details"]
        violations = cortex_exception_handler(cases[3][0], {"request": request}).data["violations"]
        assert violations == [
            {
                "title": "Invalid descriptor",
                "description": "wrong",
                "pointer": "/rules/0/weight (line 7)",
                "violationType": "ERROR",
            }
        ]


class TestDjangoHandlers:
    """handler404 / handler500: vendor JSON under /api/v1 and /api/v2, Django's HTML pages elsewhere."""

    def test_page_not_found(self):
        rf = RequestFactory()
        v1 = errors.page_not_found(rf.get("/api/v1/nowhere"), None)
        assert v1.status_code == 404
        assert v1["Content-Type"] == "application/json"
        import json

        body = json.loads(v1.content)
        assert (body["type"], body["httpStatus"], body["message"]) == ("NOT_FOUND", 404, "Not Found")
        assert body["details"] == "No API operation at /api/v1/nowhere."
        assert re.fullmatch(r"[0-9a-f]{32}", body["requestId"])

        v2 = errors.page_not_found(rf.get("/api/v2/nowhere"), None)
        assert v2.status_code == 404
        assert json.loads(v2.content) == {
            "errors": [{"status": "404", "title": "Not Found", "detail": "No API operation at /api/v2/nowhere."}]
        }

        html = errors.page_not_found(rf.get("/nowhere"), None)
        assert html.status_code == 404
        assert html["Content-Type"].startswith("text/html")

    def test_server_error(self):
        import json

        rf = RequestFactory()
        v1 = errors.server_error(rf.get("/api/v1/scorecards"))
        assert v1.status_code == 500
        body = json.loads(v1.content)
        assert (body["type"], body["httpStatus"], body["message"]) == (
            "INTERNAL_SERVER_ERROR",
            500,
            "Internal Server Error",
        )
        v2 = errors.server_error(rf.get("/api/v2/scorecard/rules"))
        assert v2.status_code == 500
        assert json.loads(v2.content)["errors"][0]["status"] == "500"
        html = errors.server_error(rf.get("/dashboard"))
        assert html.status_code == 500
        assert html["Content-Type"].startswith("text/html")

    def test_api_v1_without_the_slash_is_not_an_api_path(self):
        response = errors.page_not_found(RequestFactory().get("/api/v1"), None)
        assert response["Content-Type"].startswith("text/html")


# --- 429 -------------------------------------------------------------------------------------------------


class TestThrottling:
    def test_fourth_request_is_429_per_key(self, world, viewer, key_for, bearer, settings):
        from django.core.cache import cache

        cache.clear()
        settings.API_RATE_LIMIT = "3/minute"
        client = bearer(viewer)
        for _ in range(3):
            assert get(client, LIST).status_code == 200
        response = get(client, LIST)
        body = assert_cortex_error(response, 429, "TOO_MANY_REQUESTS", details_contains="throttled")
        assert 1 <= int(response["Retry-After"]) <= 60
        # application/problem+json (checked above), with RFC 9457's members beside Cortex's.
        assert (body["title"], body["status"], body["detail"]) == ("Too Many Requests", 429, body["details"])
        # Counted per key: another key is still served, and the first stays refused.
        other = bearer(key_for("Viewer", "second-viewer"))
        assert get(other, LIST).status_code == 200
        assert get(client, f"/api/v1/scorecards/{TAG}").status_code == 429

    def test_empty_setting_turns_it_off(self, world, viewer, bearer, settings):
        settings.API_RATE_LIMIT = ""
        client = bearer(viewer)
        assert [get(client, LIST).status_code for _ in range(6)] == [200] * 6

    def test_rate_is_read_at_request_time(self, world, viewer, bearer, settings):
        settings.API_RATE_LIMIT = "2/minute"
        client = bearer(viewer)
        assert [get(client, LIST).status_code for _ in range(3)] == [200, 200, 429]
        settings.API_RATE_LIMIT = "10/minute"
        assert get(client, LIST).status_code == 200


# --- schema and docs -------------------------------------------------------------------------------------


def _v1_paths() -> set[str]:
    paths = set()
    for pattern in cortex_urls.urlpatterns:
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern))
        paths.add(f"/api/v1/{route}")
    return paths


class TestSchema:
    def test_schema_lists_every_v1_path_under_the_cortex_tag(self, db, client):
        response = client.get("/api/schema?format=json")
        assert response.status_code == 200
        schema = response.json()
        v1 = {p: ops for p, ops in schema["paths"].items() if p.startswith("/api/v1/")}
        assert set(v1) == _v1_paths()
        assert len(v1) == 45
        for path, ops in v1.items():
            operations = [op for op in ops.values() if isinstance(op, dict) and "operationId" in op]
            assert operations, path
            for op in operations:
                assert op["tags"] == ["Cortex v1"], (path, op["operationId"])
        assert set(v1["/api/v1/scorecards/{tag}"]) >= {"get", "delete"}
        assert set(v1["/api/v1/scorecards/descriptor"]) == {"post"}
        assert set(v1["/api/v1/queries"]) == {"post"}
        assert set(v1["/api/v1/queries/{job_id}"]) == {"get"}
        assert set(v1["/api/v1/catalog/{tag_or_id}/custom-data"]) >= {"get", "post", "delete"}
        assert set(v1["/api/v1/catalog/custom-data"]) == {"put"}
        assert set(v1["/api/v1/catalog/descriptors"]) == {"get"}
        assert set(v1["/api/v1/catalog"]) == {"get", "delete"}
        assert set(v1["/api/v1/open-api"]) == {"post", "patch"}
        assert set(v1["/api/v1/catalog/deploys"]) == {"delete"}
        assert set(v1["/api/v1/catalog/{tag_or_id}/deploys"]) == {"get", "post", "delete"}
        assert set(v1["/api/v1/eng-intel/custom-metrics/{key}/entity/{tag_or_id}"]) == {"get", "post", "delete"}

    def test_docs_page_is_html(self, db, client):
        response = client.get("/api/docs")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        script = client.get("/api/docs?script=")  # the split view: no inline script on the page
        assert script["Content-Type"].startswith("application/javascript")
        assert "/api/schema" in script.content.decode()
