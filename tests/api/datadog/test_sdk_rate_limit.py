"""A throttled call through the real `datadog-api-client` with `enable_retry=True`: the SDK's retry reads Datadog's
`X-RateLimit-Reset`, sleeps that long and tries again, so the call succeeds instead of failing with a 429.

POST is used because urllib3's own default retry (which honours `Retry-After`) covers GETs even without
`enable_retry`; for a POST only the SDK's retry tries again. One retry is allowed: without `X-RateLimit-Reset`
the SDK's backoff retries the first time at once, into the same 429."""

from __future__ import annotations

import time

import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException
from datadog_api_client.v2.api.scorecards_api import ScorecardsApi
from datadog_api_client.v2.model.create_rule_request import CreateRuleRequest
from datadog_api_client.v2.model.create_rule_request_data import CreateRuleRequestData
from datadog_api_client.v2.model.rule_attributes_request import RuleAttributesRequest
from datadog_api_client.v2.model.rule_type import RuleType
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.scorecards.models import Rule

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def api_for(live_server, holder, *, enable_retry: bool) -> ScorecardsApi:
    config = Configuration(host=live_server.url, enable_retry=enable_retry, max_retries=1)
    config.api_key = {"apiKeyAuth": holder.key, "appKeyAuth": holder.key}
    return ScorecardsApi(ApiClient(config))


def new_rule(name: str) -> CreateRuleRequest:
    return CreateRuleRequest(
        data=CreateRuleRequestData(
            attributes=RuleAttributesRequest(enabled=True, name=name, scorecard_name="Throttled"), type=RuleType.RULE
        )
    )


@pytest.fixture
def rate(settings):
    def set_rate(value: str) -> None:
        settings.API_RATE_LIMIT = value

    cache.clear()
    yield set_rate
    cache.clear()


def use_up_the_allowance(holder) -> None:
    """One request with the holder's key, in-process, so the SDK's next call (milliseconds later) is throttled."""
    client = APIClient()
    client.credentials(HTTP_DD_API_KEY=holder.key, HTTP_DD_APPLICATION_KEY=holder.key)
    assert client.get("/api/v2/scorecard/rules").status_code == 200


def test_without_retry_a_throttled_call_fails_with_datadogs_rate_limit_headers(live_server, editor, rate):
    rate("1/minute")
    api = api_for(live_server, editor, enable_retry=False)
    api.create_scorecard_rule(body=new_rule("first"))
    with pytest.raises(ApiException) as throttled:
        api.create_scorecard_rule(body=new_rule("second"))
    assert throttled.value.status == 429
    headers = throttled.value.headers
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Period"]) == ("1", "60")
    assert (headers["X-RateLimit-Remaining"], headers["X-RateLimit-Name"]) == ("0", "api")
    assert 1 <= int(headers["X-RateLimit-Reset"]) <= 60 and 1 <= int(headers["Retry-After"]) <= 60
    assert list(Rule.objects.values_list("title", flat=True)) == ["first"]


def test_with_enable_retry_a_throttled_call_is_retried_and_succeeds(live_server, editor, rate):
    rate("1/second")
    api = api_for(live_server, editor, enable_retry=True)
    use_up_the_allowance(editor)
    started = time.monotonic()
    # Throttled at first (one call per second), then retried once after X-RateLimit-Reset (1) seconds.
    created = api.create_scorecard_rule(body=new_rule("second"))
    assert created.data.attributes.name == "second"
    assert time.monotonic() - started >= 0.9
    assert list(Rule.objects.values_list("title", flat=True)) == ["second"]
