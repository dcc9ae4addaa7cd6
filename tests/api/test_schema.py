"""The OpenAPI schema of both APIs is complete and valid: drf-spectacular resolves every view without a
warning (unknown authenticators, colliding operation ids, unresolvable serializers) and validates it."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.core.management import call_command

from tests.api.openapi import assert_conforms, operations


@pytest.mark.django_db
def test_schema_generates_without_warnings_and_validates(tmp_path):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    schema = json.loads(out.read_text())
    paths = schema["paths"]
    assert "/api/v1/scorecards" in paths
    assert "/api/v1/scorecards/{tag}/entity/{entity_tag}/exemption/approve" in paths
    assert all(path.startswith(("/api/v1/", "/api/v2/")) for path in paths)
    tags = {tag for ops in paths.values() for op in ops.values() if isinstance(op, dict) for tag in op.get("tags", [])}
    assert tags <= {"Cortex v1", "Datadog v2"}
    assert tags == {"Cortex v1", "Datadog v2"}
    assert "/api/v2/scorecard/rules" in paths
    assert "/api/v2/scorecard/scores/{aggregation}" in paths
    assert "/api/v2/scorecard/campaigns/{campaign_id}" in paths
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKeyAuth"]["name"] == "DD-API-KEY"
    assert schemes["appKeyAuth"]["name"] == "DD-APPLICATION-KEY"
    assert schemes["AuthZ"]["scheme"] == "bearer"
    assert schemes["apiKeyBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key from your profile page or `manage.py create_api_key`.",
    }


@pytest.mark.django_db
def test_docs_page_serves_swagger_ui_from_this_server(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    # The start-up script is its own request (the Content-Security-Policy allows no inline script).
    assert '<script src="/api/docs?script="></script>' in html
    assert "/api/schema" in client.get("/api/docs?script=").content.decode()
    # The UI is vendored (drf-spectacular-sidecar), so the page works without reaching a CDN.
    assert "cdn.jsdelivr.net" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


# --- Every operation documents its errors, and real answers match the schema -------------------------------

ERROR_BODIES = {
    "cortex": {"CortexError", "CortexProblem"},
    "datadog": {"DatadogAPIErrorResponse", "DatadogJSONAPIErrorResponse"},
}


def _refs(response: dict) -> set[str]:
    return {media["schema"]["$ref"].rsplit("/", 1)[1] for media in response.get("content", {}).values()}


@pytest.mark.parametrize(("path", "method", "operation"), operations(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_operation_documents_its_error_statuses(path, method, operation):
    responses = operation["responses"]
    cortex = path.startswith("/api/v1/")
    has_params = bool(operation.get("parameters"))
    has_body = "requestBody" in operation
    # A missing or bad key: Cortex answers 401, Datadog 403 (as Datadog does; its API never answers 401).
    expected = {"403", "429"} | ({"401"} if cortex else set())
    if has_params or has_body:
        expected.add("400")
    if has_body or "{" in path:
        expected.add("404")
    if has_body:
        expected |= {"413", "415"}
    assert expected <= set(responses), (operation["operationId"], sorted(expected - set(responses)))
    if not cortex:
        assert "401" not in responses
    for status, response in responses.items():
        if int(status) >= 400:
            assert response["description"], (operation["operationId"], status)
            assert _refs(response) and _refs(response) <= ERROR_BODIES["cortex" if cortex else "datadog"]
    if cortex:
        assert set(responses["429"]["content"]) == {"application/problem+json"}


def test_conflicts_are_documented_where_services_refuse_duplicates():
    documented = {op["operationId"] for _, _, op in operations() if "409" in op["responses"]}
    assert {"createRelationshipType", "createCustomMetric", "requestExemption", "CreateScorecardRule"} <= documented
    assert "listScorecards" not in documented


def test_success_schemas_say_what_the_answers_are():
    ops = {op["operationId"]: op for _, _, op in operations()}
    for operation_id in ("listCustomData", "getEntityScorecardScores"):
        schema = ops[operation_id]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["type"] == "array", operation_id
    assert ops["getScorecardDescriptor"]["responses"]["200"]["content"] == {
        "application/yaml": {"schema": {"type": "string"}}
    }
    assert ops["getEntityDescriptor"]["responses"]["200"]["content"]["application/yaml"] == {
        "schema": {"type": "string"}
    }


@pytest.fixture
def sample_world(db):
    from apps.catalog.services import custom_data_set
    from apps.evaluations.services import scorecard_evaluate
    from tests.api.cortex.conftest import make_entity, make_scorecard

    scorecard = make_scorecard()
    entity = make_entity("good-svc")
    custom_data_set(entity=entity, key="team-size", value={"people": 4}, description="", force=False)
    scorecard_evaluate(scorecard=scorecard)
    cache.clear()
    return scorecard, entity


def test_a_sample_of_real_answers_validates_against_the_schema(sample_world, bearer, admin, viewer, settings):
    scorecard, entity = sample_world
    client, as_viewer, anonymous = bearer(admin), bearer(viewer), bearer(None)
    v1 = "/api/v1"
    dd = "/api/v2/scorecard"
    metric = {"key": "lead-time", "name": "Lead time", "valence": "NEGATIVE"}
    samples = [
        # Successes, arrays and strings among them.
        (client, "get", f"{v1}/catalog/good-svc/custom-data", None, 200),
        (client, "get", f"{v1}/catalog/good-svc/scorecards", None, 200),
        (client, "get", f"{v1}/scorecards/{scorecard.tag}/descriptor", None, 200),
        (client, "get", f"{v1}/catalog/good-svc/openapi?yaml=true", None, 200),
        (client, "get", f"{v1}/catalog/good-svc/openapi", None, 200),
        (client, "get", f"{v1}/scorecards", None, 200),
        (client, "get", f"{v1}/catalog/good-svc/custom-data/team-size", None, 200),
        (client, "get", f"{dd}/rules", None, 200),
        (client, "get", f"{dd}/scorecards", None, 200),
        (client, "get", f"{dd}/campaigns", None, 200),
        # Errors, in each vendor's shape.
        (anonymous, "get", f"{v1}/scorecards", None, 401),
        (anonymous, "get", f"{dd}/rules", None, 403),
        (as_viewer, "delete", f"{v1}/catalog/good-svc", None, 403),
        (as_viewer, "post", f"{dd}/campaigns", {"data": {}}, 403),
        (client, "get", f"{v1}/catalog/nobody/custom-data", None, 404),
        (client, "get", f"{v1}/scorecards?page=-1", None, 400),
        (client, "post", f"{v1}/catalog/good-svc/custom-data", {"value": 1}, 400),
        (client, "get", f"{dd}/rules?page[size]=0", None, 400),
        (client, "delete", f"{dd}/rules/nope", None, 404),
        (client, "get", f"{dd}/campaigns/nope", None, 404),
        (client, "post", f"{dd}/campaigns", {"data": {"type": "campaign", "attributes": {}}}, 400),
        (client, "post", f"{v1}/eng-intel/custom-metrics", metric, 200),
        (client, "post", f"{v1}/eng-intel/custom-metrics", metric, 409),
    ]
    for who, method, url, body, status in samples:
        response = getattr(who, method)(url, body, format="json") if body is not None else getattr(who, method)(url)
        assert response.status_code == status, (method, url, response.status_code, response.content[:300])
        assert_conforms(response, method, url.split("?")[0])

    # 413 and 429, each vendor's way.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    big = {"key": "x" * 200, "name": "y"}
    for url in (f"{v1}/eng-intel/custom-metrics", f"{dd}/rules"):
        response = client.post(url, big, format="json")
        assert response.status_code == 413, (url, response.content[:300])
        assert_conforms(response, "post", url)
    settings.API_RATE_LIMIT = "1/minute"
    cache.clear()
    for url in (f"{v1}/scorecards", f"{dd}/rules"):
        cache.clear()
        client.get(url)
        response = client.get(url)
        assert response.status_code == 429, (url, response.content[:300])
        assert_conforms(response, "get", url)
