"""The OpenAPI schema of both APIs is complete and valid: drf-spectacular resolves every view without a
warning (unknown authenticators, colliding operation ids, unresolvable serializers) and validates it."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command


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
