"""What every v2 operation shares: DD keys or Bearer (403 for bad credentials, as Datadog), errors in the shape seed
003 gives each operation, JSON:API's media type accepted, rate limiting per key with Datadog's headers."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.accounts.services import api_key_revoke
from apps.scorecards.models import Rule

pytestmark = pytest.mark.django_db

RULES = "/api/v2/scorecard/rules"
CAMPAIGNS = "/api/v2/scorecard/campaigns"
NEW_RULE = {"data": {"type": "rule", "attributes": {"name": "Has runbook", "scorecard_name": "Ops"}}}


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def client(api_key: str | None = None, app_key: str | None = None, bearer: str | None = None) -> APIClient:
    headers = {}
    if api_key is not None:
        headers["HTTP_DD_API_KEY"] = api_key
    if app_key is not None:
        headers["HTTP_DD_APPLICATION_KEY"] = app_key
    if bearer is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {bearer}"
    c = APIClient()
    c.credentials(**headers)
    return c


def assert_error(response, status: int, detail_part: str = "") -> str:
    """Seed 003's error body for the rules operations: `{"errors": ["..."]}`, a list of strings."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    (error,) = response.json()["errors"]
    assert isinstance(error, str) and detail_part in error
    return error


def assert_jsonapi_error(response, status: int, detail_part: str = "") -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert errors[0]["status"] == str(status)
    assert detail_part in errors[0]["detail"]
    return errors[0]


def test_the_application_key_decides_who_acts(viewer, editor):
    # A Viewer's key as DD-API-KEY and an Editor's as DD-APPLICATION-KEY act as the Editor...
    created = client(api_key=viewer.key, app_key=editor.key).post(RULES, NEW_RULE, format="json")
    assert created.status_code == 201, created.content
    # ... and the other way round as the Viewer, who may not write.
    refused = client(api_key=editor.key, app_key=viewer.key).post(RULES, NEW_RULE, format="json")
    assert_error(refused, 403, "scorecards.change_scorecard")
    assert Rule.objects.count() == 1


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "credentials were not provided"),
        ({"app_key": "KEY"}, "without DD-API-KEY"),
        ({"api_key": "KEY"}, "without DD-APPLICATION-KEY"),
        ({"api_key": "KEY", "app_key": "sck_not-a-key"}, "DD-APPLICATION-KEY is not a valid API key"),
        ({"api_key": "sck_not-a-key", "app_key": "KEY"}, "DD-API-KEY is not a valid API key"),
        ({"bearer": "sck_not-a-key"}, "not valid or was revoked"),
    ],
)
def test_bad_or_missing_credentials_answer_403_never_401(viewer, headers, detail):
    filled = {name: viewer.key if value == "KEY" else value for name, value in headers.items()}
    response = client(**filled).get(RULES)
    assert_error(response, 403, detail)
    assert "WWW-Authenticate" not in response


def test_a_revoked_key_is_refused_in_either_header(viewer, editor):
    from apps.accounts.models import ApiKey

    api_key_revoke(key_id=ApiKey.objects.get(user=viewer.user).pk, by=viewer.user)
    assert_error(client(api_key=viewer.key, app_key=editor.key).get(RULES), 403, "DD-API-KEY")
    assert_error(client(api_key=editor.key, app_key=viewer.key).get(RULES), 403, "DD-APPLICATION-KEY")


def test_a_bearer_key_alone_works(viewer, editor):
    created = client(bearer=editor.key).post(RULES, NEW_RULE, format="json")
    assert created.status_code == 201, created.content
    response = client(bearer=viewer.key).get(RULES)
    assert response.status_code == 200
    assert [item["attributes"]["name"] for item in response.json()["data"]] == ["Has runbook"]


def test_jsonapi_media_type_is_accepted_in_and_out(editor):
    response = client(editor.key, editor.key).post(
        RULES,
        data=json.dumps(NEW_RULE),
        content_type="application/vnd.api+json",
        HTTP_ACCEPT="application/vnd.api+json",
    )
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/vnd.api+json"
    assert response.json()["data"]["attributes"]["name"] == "Has runbook"


def test_an_unsupported_body_type_is_a_415(editor):
    response = client(editor.key, editor.key).post(RULES, data="name=x", content_type="text/plain")
    assert_error(response, 415, "text/plain")


def test_malformed_json_is_a_400(editor):
    response = client(editor.key, editor.key).post(RULES, data="{not json", content_type="application/json")
    assert_error(response, 400, "JSON parse error")


@pytest.mark.parametrize("path", ["/api/v2/scorecard/nowhere", "/api/v2/scorecard/rules/", "/api/v2/other"])
def test_unknown_paths_answer_a_jsonapi_404(viewer, path):
    response = client(viewer.key, viewer.key).get(path)
    assert_jsonapi_error(response, 404, "No API operation")


def test_the_rate_limit_answers_429_with_retry_after_per_key(settings, viewer, editor):
    settings.API_RATE_LIMIT = "2/minute"
    for _ in range(2):
        assert client(viewer.key, viewer.key).get(RULES).status_code == 200
    limited = client(viewer.key, viewer.key).get(RULES)
    assert_error(limited, 429, "throttled")
    assert 1 <= int(limited["Retry-After"]) <= 60
    # Another key has its own allowance.
    assert client(editor.key, editor.key).get(RULES).status_code == 200
    assert limited["X-RateLimit-Limit"] == "2"
    assert limited["X-RateLimit-Period"] == "60"
    assert limited["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(limited["X-RateLimit-Reset"]) <= 60
    assert limited["X-RateLimit-Name"] == "api"


def test_every_counted_answer_carries_the_rate_limit_headers(settings, viewer):
    settings.API_RATE_LIMIT = "5/minute"
    first = client(viewer.key, viewer.key).get(RULES)
    assert first.status_code == 200
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"]) == ("5", "4")
    assert client(viewer.key, viewer.key).get(RULES)["X-RateLimit-Remaining"] == "3"


def test_a_429_is_a_list_of_strings_even_where_other_errors_are_objects(settings, viewer):
    # Seed 003: campaigns answer 400/403/404 with JSON:API error objects, but their 429 with strings.
    settings.API_RATE_LIMIT = "1/minute"
    assert client(viewer.key, viewer.key).get(CAMPAIGNS).status_code == 200
    limited = client(viewer.key, viewer.key).get(CAMPAIGNS)
    assert_error(limited, 429, "throttled")
    assert "X-RateLimit-Reset" in limited and "Retry-After" in limited
    missing = client(viewer.key, viewer.key)
    settings.API_RATE_LIMIT = ""
    assert_jsonapi_error(missing.get(CAMPAIGNS + "/nope"), 404, "campaign not found")
