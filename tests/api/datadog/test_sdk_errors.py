"""Every error each v2 operation answers, as a user of the real `datadog-api-client` 2.62.0 sees it: the
ApiException's status, and its body (the SDK parses it as JSON) in exactly the shape seed 002/003 gives that
operation, with a message that names the field or the reason.

- Rules, outcomes and scores: `{"errors": ["<where>: <what>"]}`, a list of strings.
- Campaigns and the scorecard list: JSON:API error objects `{"errors": [{status, title, detail, source?, meta?}]}`.
- A 429 is a list of strings for every operation.

Bad or missing keys answer 403, never 401: Datadog does, the seeds list no 401, and the SDK raises its
ForbiddenException for them (README, "Which key is which").

Every client here has `enable_retry` off and urllib3's own retry off as well (`retry_policy`): urllib3 would
otherwise honour a 429's `Retry-After` for GET, PUT and DELETE by sleeping and trying again, and the test
would see the retried answer instead of the 429.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException, ForbiddenException, NotFoundException
from datadog_api_client.v2.api.scorecards_api import ScorecardsApi
from datadog_api_client.v2.model.campaign_status import CampaignStatus
from datadog_api_client.v2.model.campaign_type import CampaignType
from datadog_api_client.v2.model.create_campaign_request import CreateCampaignRequest
from datadog_api_client.v2.model.create_campaign_request_attributes import CreateCampaignRequestAttributes
from datadog_api_client.v2.model.create_campaign_request_data import CreateCampaignRequestData
from datadog_api_client.v2.model.create_rule_request import CreateRuleRequest
from datadog_api_client.v2.model.create_rule_request_data import CreateRuleRequestData
from datadog_api_client.v2.model.outcomes_batch_attributes import OutcomesBatchAttributes
from datadog_api_client.v2.model.outcomes_batch_request import OutcomesBatchRequest
from datadog_api_client.v2.model.outcomes_batch_request_data import OutcomesBatchRequestData
from datadog_api_client.v2.model.outcomes_batch_request_item import OutcomesBatchRequestItem
from datadog_api_client.v2.model.outcomes_batch_type import OutcomesBatchType
from datadog_api_client.v2.model.rule_attributes_request import RuleAttributesRequest
from datadog_api_client.v2.model.rule_type import RuleType
from datadog_api_client.v2.model.scorecard_scores_aggregation import ScorecardScoresAggregation
from datadog_api_client.v2.model.state import State
from datadog_api_client.v2.model.update_campaign_request import UpdateCampaignRequest
from datadog_api_client.v2.model.update_campaign_request_attributes import UpdateCampaignRequestAttributes
from datadog_api_client.v2.model.update_campaign_request_data import UpdateCampaignRequestData
from datadog_api_client.v2.model.update_outcomes_async_attributes import UpdateOutcomesAsyncAttributes
from datadog_api_client.v2.model.update_outcomes_async_request import UpdateOutcomesAsyncRequest
from datadog_api_client.v2.model.update_outcomes_async_request_data import UpdateOutcomesAsyncRequestData
from datadog_api_client.v2.model.update_outcomes_async_request_item import UpdateOutcomesAsyncRequestItem
from datadog_api_client.v2.model.update_outcomes_async_type import UpdateOutcomesAsyncType
from datadog_api_client.v2.model.update_rule_request import UpdateRuleRequest
from datadog_api_client.v2.model.update_rule_request_data import UpdateRuleRequestData
from django.core.cache import cache
from rest_framework.test import APIClient

from apps.campaigns.models import Campaign
from apps.campaigns.services import owner_uuid_for
from apps.scorecards.models import Rule

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    # The batch push is deprecated and unstable in the SDK, which warns on every call of it.
    pytest.mark.filterwarnings("ignore:create_scorecard_outcomes_batch is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Using unstable operation:UserWarning"),
]

SCORECARD = "Errors Scorecard"
UNKNOWN = "2a4f524e-168a-429d-bb75-7b1ffeab0cbb"


# --- clients ---------------------------------------------------------------------------------------


@pytest.fixture
def sdk(live_server, monkeypatch):
    """`sdk(holder)` is a ScorecardsApi acting as `holder` (DD-API-KEY and DD-APPLICATION-KEY, as `sdk_for`
    sets them); `sdk(api_key=..., app_key=...)` sends exactly those keys, `None` meaning the header is left out."""
    # The SDK's Configuration reads DD_API_KEY / DD_APP_KEY from the environment; none may leak in.
    for name in ("DD_API_KEY", "DD_APP_KEY", "DD_SITE"):
        monkeypatch.delenv(name, raising=False)
    clients: list[ApiClient] = []

    def make(holder=None, *, api_key: str | None = None, app_key: str | None = None) -> ScorecardsApi:
        if holder is not None:
            api_key = app_key = holder.key
        config = Configuration(host=live_server.url, enable_retry=False)
        config.retry_policy = urllib3.Retry(total=0, respect_retry_after_header=False)
        config.api_key = {
            name: value for name, value in (("apiKeyAuth", api_key), ("appKeyAuth", app_key)) if value is not None
        }
        config.unstable_operations["create_scorecard_outcomes_batch"] = True
        client = ApiClient(config)
        clients.append(client)
        return ScorecardsApi(client)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def rate(settings):
    """`rate("1/minute")` lowers the API's rate limit for this test (read at request time, as in
    test_sdk_rate_limit)."""

    def set_rate(value: str) -> None:
        settings.API_RATE_LIMIT = value
        # Counting starts afresh: the world's own setup requests sit in the counter's window otherwise.
        settings.API_RATE_LIMIT_KEY_PREFIX = f"{settings.API_RATE_LIMIT_KEY_PREFIX}-{value.replace('/', '-')}"

    cache.clear()
    yield set_rate
    cache.clear()


# --- what the SDK user sees --------------------------------------------------------------------------


def error_of(raised: pytest.ExceptionInfo[ApiException], status: int) -> list:
    """The ApiException's status, and its body as the SDK parsed it: JSON, exactly `{"errors": [...]}`."""
    error = raised.value
    assert error.status == status, error
    assert isinstance(error.body, dict), f"the SDK could not parse the body as JSON: {error.body!r}"
    assert set(error.body) == {"errors"}, error.body
    assert isinstance(error.body["errors"], list) and error.body["errors"], error.body
    return error.body["errors"]


def string_error(raised: pytest.ExceptionInfo[ApiException], status: int, *parts: str) -> str:
    """Seed 003's `{"errors": ["..."]}`: one string, naming the field or the reason."""
    (message,) = error_of(raised, status)
    assert isinstance(message, str), message
    for part in parts:
        assert part in message, message
    return message


def object_error(
    raised: pytest.ExceptionInfo[ApiException], status: int, *parts: str, pointer: str | None = None
) -> dict:
    """Seed 003's JSON:API error object: status (a string), title and detail, `source` only with header,
    parameter or pointer strings, `meta` an object; nothing else."""
    (error,) = error_of(raised, status)
    assert isinstance(error, dict), error
    assert set(error) <= {"status", "title", "detail", "source", "meta"}, error
    assert error["status"] == str(status)
    assert isinstance(error["title"], str) and error["title"]
    assert isinstance(error["detail"], str)
    for part in parts:
        assert part in error["detail"], error
    if "source" in error:
        assert error["source"] and set(error["source"]) <= {"header", "parameter", "pointer"}, error
        assert all(isinstance(value, str) for value in error["source"].values()), error
    if "meta" in error:
        assert isinstance(error["meta"], dict), error
    if pointer is not None:
        assert error.get("source") == {"pointer": pointer}, error
    return error


# --- request bodies --------------------------------------------------------------------------------


def rule_body(name: str = "Has a runbook", scorecard_name: str | None = SCORECARD, **extra) -> CreateRuleRequest:
    attributes = RuleAttributesRequest(name=name, enabled=True, **extra)
    if scorecard_name is not None:
        attributes.scorecard_name = scorecard_name
    return CreateRuleRequest(data=CreateRuleRequestData(attributes=attributes, type=RuleType.RULE))


def rule_update_body(name: str = "Has a runbook", scorecard_name: str = SCORECARD, **extra) -> UpdateRuleRequest:
    return UpdateRuleRequest(
        data=UpdateRuleRequestData(
            attributes=RuleAttributesRequest(name=name, enabled=True, scorecard_name=scorecard_name, **extra),
            type=RuleType.RULE,
        )
    )


def async_body(rule_id: str, reference: str = "service:my-service") -> UpdateOutcomesAsyncRequest:
    return UpdateOutcomesAsyncRequest(
        data=UpdateOutcomesAsyncRequestData(
            attributes=UpdateOutcomesAsyncAttributes(
                results=[UpdateOutcomesAsyncRequestItem(rule_id=rule_id, entity_reference=reference, state=State.PASS)]
            ),
            type=UpdateOutcomesAsyncType.BATCHED_OUTCOME,
        )
    )


def batch_body(rule_id: str, service_name: str = "my-service") -> OutcomesBatchRequest:
    return OutcomesBatchRequest(
        data=OutcomesBatchRequestData(
            attributes=OutcomesBatchAttributes(
                results=[OutcomesBatchRequestItem(rule_id=rule_id, service_name=service_name, state=State.PASS)]
            ),
            type=OutcomesBatchType.BATCHED_OUTCOME,
        )
    )


def campaign_body(owner_id: str, rule_id: str, key: str = "q1", **extra) -> CreateCampaignRequest:
    return CreateCampaignRequest(
        data=CreateCampaignRequestData(
            type=CampaignType.CAMPAIGN,
            attributes=CreateCampaignRequestAttributes(
                key=key,
                name="Q1 campaign",
                owner_id=owner_id,
                rule_ids=[rule_id],
                start_date=datetime(2030, 1, 1, tzinfo=UTC),
                status=CampaignStatus.IN_PROGRESS,
                **extra,
            ),
        )
    )


def campaign_update_body(owner_id: str, rule_id: str, **extra) -> UpdateCampaignRequest:
    return UpdateCampaignRequest(
        data=UpdateCampaignRequestData(
            type=CampaignType.CAMPAIGN,
            attributes=UpdateCampaignRequestAttributes(
                name="Q1 campaign",
                owner_id=owner_id,
                rule_ids=[rule_id],
                start_date=datetime(2030, 1, 1, tzinfo=UTC),
                status="in_progress",
                **extra,
            ),
        )
    )


@pytest.fixture
def world(sdk, admin):
    """A custom rule and a campaign over it, made through the SDK as an Admin."""
    api = sdk(admin)
    rule_id = api.create_scorecard_rule(body=rule_body()).data.id
    owner_id = str(owner_uuid_for(user=admin.user))
    campaign_id = api.create_scorecard_campaign(campaign_body(owner_id, rule_id)).data.id
    return {"rule_id": rule_id, "owner_id": owner_id, "campaign_id": campaign_id}


# Each operation of the SDK's ScorecardsApi, called with a well-formed request, so that the only thing wrong
# is who calls (403) or how often (429). Each maps to the shape seed 002/003 gives its 400/403/404.
Call = Callable[[ScorecardsApi, dict], object]
OPERATIONS: dict[str, tuple[str, Call]] = {
    "create_scorecard_rule": ("strings", lambda api, w: api.create_scorecard_rule(body=rule_body("Another"))),
    "list_scorecard_rules": ("strings", lambda api, w: api.list_scorecard_rules()),
    "update_scorecard_rule": (
        "strings",
        lambda api, w: api.update_scorecard_rule(rule_id=w["rule_id"], body=rule_update_body()),
    ),
    "delete_scorecard_rule": ("strings", lambda api, w: api.delete_scorecard_rule(rule_id=w["rule_id"])),
    "update_scorecard_outcomes": (
        "strings",
        lambda api, w: api.update_scorecard_outcomes(body=async_body(w["rule_id"])),
    ),
    "create_scorecard_outcomes_batch": (
        "strings",
        lambda api, w: api.create_scorecard_outcomes_batch(body=batch_body(w["rule_id"])),
    ),
    "list_scorecard_outcomes": ("strings", lambda api, w: api.list_scorecard_outcomes()),
    "list_scorecard_scores": (
        "strings",
        lambda api, w: api.list_scorecard_scores(ScorecardScoresAggregation.BY_ENTITY),
    ),
    "list_scorecards": ("objects", lambda api, w: api.list_scorecards()),
    "list_scorecard_campaigns": ("objects", lambda api, w: api.list_scorecard_campaigns()),
    "create_scorecard_campaign": (
        "objects",
        lambda api, w: api.create_scorecard_campaign(campaign_body(w["owner_id"], w["rule_id"], key="q2")),
    ),
    "get_scorecard_campaign": ("objects", lambda api, w: api.get_scorecard_campaign(w["campaign_id"])),
    "update_scorecard_campaign": (
        "objects",
        lambda api, w: api.update_scorecard_campaign(
            w["campaign_id"], campaign_update_body(w["owner_id"], w["rule_id"])
        ),
    ),
    "delete_scorecard_campaign": ("objects", lambda api, w: api.delete_scorecard_campaign(w["campaign_id"])),
}
WRITES = [
    "create_scorecard_rule",
    "update_scorecard_rule",
    "delete_scorecard_rule",
    "update_scorecard_outcomes",
    "create_scorecard_outcomes_batch",
    "create_scorecard_campaign",
    "update_scorecard_campaign",
    "delete_scorecard_campaign",
]


def test_every_operation_of_the_sdk_is_covered():
    with ApiClient(Configuration()) as client:
        endpoints = vars(ScorecardsApi(client))
    operations = {name.removeprefix("_").removesuffix("_endpoint") for name in endpoints if name.endswith("_endpoint")}
    assert operations == set(OPERATIONS)


# --- 403: no keys, bad keys, a Viewer writing --------------------------------------------------------


def _no_keys(holder):
    return {}


def _only_application_key(holder):
    return {"app_key": holder.key}


def _unknown_key(holder):
    return {"api_key": "sck_not-a-key", "app_key": "sck_not-a-key"}


def _unknown_api_key(holder):
    return {"api_key": "sck_not-a-key", "app_key": holder.key}


CREDENTIALS = {
    "no keys": (_no_keys, "credentials were not provided"),
    "application key alone": (_only_application_key, "without DD-API-KEY"),
    "unknown keys": (_unknown_key, "DD-APPLICATION-KEY is not a valid API key"),
    "unknown api key": (_unknown_api_key, "DD-API-KEY is not a valid API key"),
}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("credentials", CREDENTIALS)
def test_bad_or_missing_keys_are_a_403_in_the_operations_shape(sdk, world, viewer, operation, credentials):
    shape, call = OPERATIONS[operation]
    keys, reason = CREDENTIALS[credentials]
    with pytest.raises(ForbiddenException) as refused:
        call(sdk(**keys(viewer)), world)
    if shape == "strings":
        string_error(refused, 403, reason)
    else:
        error = object_error(refused, 403, reason)
        assert error["title"] == "Forbidden"
    assert "WWW-Authenticate" not in refused.value.headers


@pytest.mark.parametrize("operation", WRITES)
def test_a_viewer_writing_is_a_403_naming_the_permission(sdk, world, viewer, operation):
    shape, call = OPERATIONS[operation]
    with pytest.raises(ForbiddenException) as refused:
        call(sdk(viewer), world)
    if shape == "strings":
        string_error(refused, 403, "lacks the permission", "scorecards.")
    else:
        object_error(refused, 403, "lacks the permission", "campaigns.")
    assert Rule.objects.filter(identifier=world["rule_id"]).exists()
    assert Campaign.objects.count() == 1


# --- 429: every operation, strings everywhere ------------------------------------------------------


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_throttled_call_is_a_429_as_a_list_of_strings(sdk, world, admin, rate, operation):
    _, call = OPERATIONS[operation]
    rate("1/minute")
    # Use up the Admin key's one request a minute in-process; the SDK's call is then throttled.
    client = APIClient()
    client.credentials(HTTP_DD_API_KEY=admin.key, HTTP_DD_APPLICATION_KEY=admin.key)
    assert client.get("/api/v2/scorecard/rules").status_code == 200
    with pytest.raises(ApiException) as throttled:
        call(sdk(admin), world)
    string_error(throttled, 429, "throttled")
    headers = throttled.value.headers
    assert headers["X-RateLimit-Limit"] == "1" and headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(headers["X-RateLimit-Reset"]) <= 60 and 1 <= int(headers["Retry-After"]) <= 60
    # Nothing was written: the throttle answers before the operation runs.
    assert list(Rule.objects.values_list("identifier", flat=True)) == [uuid.UUID(world["rule_id"])]
    assert Campaign.objects.count() == 1


# --- rules: 400, 404, 409 --------------------------------------------------------------------------


def test_create_rule_errors(sdk, world, editor):
    api = sdk(editor)
    with pytest.raises(ApiException) as no_scorecard:
        api.create_scorecard_rule(body=rule_body("Orphan", scorecard_name=None))
    string_error(no_scorecard, 400, "data.attributes.scorecard_name: failed scorecard lookup", "is required")

    with pytest.raises(ApiException) as bad_scope:
        api.create_scorecard_rule(body=rule_body("Scoped", scope_query="kind:service AND"))
    string_error(bad_scope, 400, "data.attributes.scope_query: line 1, column 17: the query ends too early")

    bad_level = rule_body("Too high")
    bad_level.data.attributes._data_store["level"] = 7  # the SDK would refuse to build it
    with pytest.raises(ApiException) as too_high:
        api.create_scorecard_rule(body=bad_level)
    string_error(too_high, 400, "data.attributes.level: ", "3")

    with pytest.raises(ApiException) as duplicate:
        api.create_scorecard_rule(body=rule_body("Has a runbook"))
    string_error(duplicate, 409, "'Has a runbook' already exists", SCORECARD)
    assert Rule.objects.count() == 1


def test_update_rule_errors(sdk, world, editor):
    api = sdk(editor)
    rule_id = world["rule_id"]
    with pytest.raises(ApiException) as bad_scope:
        api.update_scorecard_rule(rule_id=rule_id, body=rule_update_body(scope_query="kind: service"))
    string_error(bad_scope, 400, "data.attributes.scope_query: line 1, column 7: ", "kind:")

    wrong_type = rule_update_body()
    wrong_type.data._data_store["type"] = "campaign"
    with pytest.raises(ApiException) as bad_type:
        api.update_scorecard_rule(rule_id=rule_id, body=wrong_type)
    string_error(bad_type, 400, "data.type: ", "rule")

    with pytest.raises(NotFoundException) as missing:
        api.update_scorecard_rule(rule_id=UNKNOWN, body=rule_update_body())
    assert string_error(missing, 404) == f"rule not found: {UNKNOWN}"

    # Moving the rule into a scorecard that already has a rule of its name.
    api.create_scorecard_rule(body=rule_body("Has a runbook", scorecard_name="Elsewhere"))
    with pytest.raises(ApiException) as conflict:
        api.update_scorecard_rule(rule_id=rule_id, body=rule_update_body(scorecard_name="Elsewhere"))
    string_error(conflict, 409, "'Has a runbook' already exists", "Elsewhere")
    assert Rule.objects.get(identifier=rule_id).scorecard.name == SCORECARD


def test_delete_rule_errors(sdk, world, editor):
    with pytest.raises(NotFoundException) as missing:
        sdk(editor).delete_scorecard_rule(rule_id=UNKNOWN)
    assert string_error(missing, 404) == f"rule not found: {UNKNOWN}"


def test_a_rule_id_several_scorecards_share_is_a_409_naming_them(sdk, editor, rule_factory):
    shared = uuid.uuid4()
    rule_factory(identifier=shared, scorecard__name="Alpha", scorecard__tag="alpha", expression="")
    rule_factory(identifier=shared, scorecard__name="Beta", scorecard__tag="beta", expression="")
    api = sdk(editor)
    with pytest.raises(ApiException) as delete:
        api.delete_scorecard_rule(rule_id=str(shared))
    string_error(delete, 409, f"rule id {shared} is in scorecards alpha, beta")
    with pytest.raises(ApiException) as update:
        api.update_scorecard_rule(rule_id=str(shared), body=rule_update_body())
    string_error(update, 409, f"rule id {shared} is in scorecards alpha, beta")
    with pytest.raises(ApiException) as push:
        api.update_scorecard_outcomes(body=async_body(str(shared)))
    string_error(push, 409, f"rule id {shared} is in scorecards alpha, beta")
    assert Rule.objects.filter(identifier=shared).count() == 2


def test_list_rules_errors(sdk, world, viewer):
    api = sdk(viewer)
    with pytest.raises(ApiException) as bad_fields:
        api.list_scorecard_rules(fields_rule="name,colour")
    string_error(bad_fields, 400, "fields[rule]: unknown field colour")
    with pytest.raises(ApiException) as bad_include:
        api.list_scorecard_rules(include="owner")
    string_error(bad_include, 400, "include: cannot include owner")
    with pytest.raises(ApiException) as bad_page:
        api.list_scorecard_rules(page_size=0)
    string_error(bad_page, 400, "page[size]: must be between 1 and 100")


# --- outcomes and scores: 400, 409 -----------------------------------------------------------------


def test_push_outcomes_errors(sdk, world, editor):
    api = sdk(editor)
    with pytest.raises(ApiException) as bad_reference:
        api.update_scorecard_outcomes(body=async_body(world["rule_id"], reference="my-service"))
    string_error(bad_reference, 400, "data.attributes.results.0.entity_reference: ", "<type>:<name>")

    bad_state = async_body(world["rule_id"])
    bad_state.data.attributes.results[0]._data_store["state"] = "maybe"  # the SDK would refuse to build it
    with pytest.raises(ApiException) as invalid:
        api.update_scorecard_outcomes(body=bad_state)
    string_error(invalid, 400, "data.attributes.results.0.state: ", "pass, fail, skip", "maybe")

    with pytest.raises(ApiException) as unknown_rule:
        api.update_scorecard_outcomes(body=async_body(UNKNOWN))
    string_error(unknown_rule, 409, "Invalid rule_id: ", UNKNOWN)


def test_batch_outcomes_errors(sdk, world, editor):
    api = sdk(editor)
    with pytest.raises(ApiException) as bad_name:
        api.create_scorecard_outcomes_batch(body=batch_body(world["rule_id"], service_name="not a tag"))
    string_error(bad_name, 400, "data.attributes.results.0.service_name: ", "'not a tag'")

    with pytest.raises(ApiException) as unknown_rule:
        api.create_scorecard_outcomes_batch(body=batch_body(UNKNOWN))
    string_error(unknown_rule, 409, "Invalid rule_id: ", UNKNOWN)


def test_list_outcomes_errors(sdk, world, viewer):
    api = sdk(viewer)
    with pytest.raises(ApiException) as bad_state:
        api.list_scorecard_outcomes(filter_outcome_state="maybe")
    string_error(bad_state, 400, "filter[outcome][state]: ", "maybe")
    with pytest.raises(ApiException) as bad_fields:
        api.list_scorecard_outcomes(fields_outcome="colour")
    string_error(bad_fields, 400, "fields[outcome]: unknown field colour")


def test_list_scores_errors(sdk, world, viewer):
    api = sdk(viewer)
    by_rule = ScorecardScoresAggregation.BY_RULE
    with pytest.raises(ApiException) as bad_level:
        api.list_scorecard_scores(by_rule, filter_rule_level="1,7")
    string_error(bad_level, 400, "filter[rule][level]: levels are 1, 2 or 3")
    with pytest.raises(ApiException) as bad_id:
        api.list_scorecard_scores(by_rule, filter_rule_id="not-a-uuid")
    string_error(bad_id, 400, "filter[rule][id]: ", "UUID")
    with pytest.raises(ApiException) as bad_sort:
        api.list_scorecard_scores(by_rule, sort="colour")
    string_error(bad_sort, 400, "sort: ", "total_pass")
    with pytest.raises(ApiException) as too_many:
        api.list_scorecard_scores(by_rule, page_limit=1001)
    string_error(too_many, 400, "page[limit]: must be between 1 and 1000")


# --- scorecards and campaigns: JSON:API error objects ----------------------------------------------


def test_list_scorecards_errors(sdk, world, viewer):
    with pytest.raises(ApiException) as bad_page:
        sdk(viewer).list_scorecards(page_size=101)
    error = object_error(bad_page, 400, "page[size]", "between 1 and 100")
    assert error["source"] == {"parameter": "page[size]"}


def test_list_campaigns_errors(sdk, world, viewer):
    api = sdk(viewer)
    with pytest.raises(ApiException) as bad_status:
        api.list_scorecard_campaigns(filter_campaign_status="paused")
    error = object_error(bad_status, 400, "paused", "in_progress")
    assert error["source"] == {"parameter": "filter[campaign][status]"}
    with pytest.raises(ApiException) as bad_owner:
        api.list_scorecard_campaigns(filter_campaign_owner="nobody")
    error = object_error(bad_owner, 400, "'nobody' is not a UUID")
    assert error["source"] == {"parameter": "filter[campaign][owner]"}
    with pytest.raises(ApiException) as bad_page:
        api.list_scorecard_campaigns(page_limit=101)
    error = object_error(bad_page, 400, "page[limit]", "between 1 and 100")
    assert error["source"] == {"parameter": "page[limit]"}


def test_create_campaign_errors(sdk, world, editor):
    api = sdk(editor)
    owner_id, rule_id = world["owner_id"], world["rule_id"]
    with pytest.raises(ApiException) as bad_scope:
        api.create_scorecard_campaign(campaign_body(owner_id, rule_id, key="scoped", entity_scope="kind:service AND"))
    error = object_error(bad_scope, 400, "the query ends too early", pointer="/data/attributes/entity_scope")
    assert error["meta"] == {"line": 1, "column": 17}

    with pytest.raises(ApiException) as bad_owner:
        api.create_scorecard_campaign(campaign_body("nobody", rule_id, key="owned"))
    object_error(bad_owner, 400, "'nobody' is not a UUID", pointer="/data/attributes/owner_id")

    with pytest.raises(ApiException) as unknown_rule:
        api.create_scorecard_campaign(campaign_body(owner_id, UNKNOWN, key="ruled"))
    object_error(unknown_rule, 400, f"no rule has the id {UNKNOWN}", pointer="/data/attributes/rule_ids")

    missing_name = campaign_body(owner_id, rule_id, key="nameless")
    del missing_name.data.attributes._data_store["name"]  # the SDK would refuse to build it
    with pytest.raises(ApiException) as nameless:
        api.create_scorecard_campaign(missing_name)
    object_error(nameless, 400, "required", pointer="/data/attributes/name")

    with pytest.raises(ApiException) as duplicate:
        api.create_scorecard_campaign(campaign_body(owner_id, rule_id, key="q1"))
    error = object_error(duplicate, 409, "a campaign with the key 'q1' already exists")
    assert error["title"] == "Conflict"
    assert Campaign.objects.count() == 1


def test_get_campaign_errors(sdk, world, viewer):
    api = sdk(viewer)
    with pytest.raises(ApiException) as bad_include:
        api.get_scorecard_campaign(world["campaign_id"], include="owner")
    error = object_error(bad_include, 400, "include", "owner")
    assert error["source"] == {"parameter": "include"}
    with pytest.raises(NotFoundException) as missing:
        api.get_scorecard_campaign("no-such-campaign")
    error = object_error(missing, 404, "campaign not found")
    assert error["title"] == "Not Found"


def test_update_campaign_errors(sdk, world, editor):
    api = sdk(editor)
    owner_id, rule_id, campaign_id = world["owner_id"], world["rule_id"], world["campaign_id"]
    bad_status = campaign_update_body(owner_id, rule_id)
    bad_status.data.attributes.status = "paused"
    with pytest.raises(ApiException) as invalid:
        api.update_scorecard_campaign(campaign_id, bad_status)
    object_error(invalid, 400, "paused", "in_progress", pointer="/data/attributes/status")

    with pytest.raises(ApiException) as bad_dates:
        api.update_scorecard_campaign(
            campaign_id, campaign_update_body(owner_id, rule_id, due_date=datetime(2029, 1, 1, tzinfo=UTC))
        )
    object_error(bad_dates, 400, "before the start date", pointer="/data/attributes/due_date")

    with pytest.raises(NotFoundException) as missing:
        api.update_scorecard_campaign(UNKNOWN, campaign_update_body(owner_id, rule_id))
    object_error(missing, 404, "campaign not found")

    api.create_scorecard_campaign(campaign_body(owner_id, rule_id, key="q2"))
    with pytest.raises(ApiException) as conflict:
        api.update_scorecard_campaign(campaign_id, campaign_update_body(owner_id, rule_id, key="q2"))
    object_error(conflict, 409, "a campaign with the key 'q2' already exists")
    assert Campaign.objects.get(pk=campaign_id).key == "q1"


def test_delete_campaign_errors(sdk, world, editor):
    with pytest.raises(NotFoundException) as missing:
        sdk(editor).delete_scorecard_campaign(UNKNOWN)
    object_error(missing, 404, "campaign not found", UNKNOWN)
