"""End to end through the real `datadog-api-client` 2.62.0 ScorecardsApi against the live server,
following the SDK's BDD scenarios (API_CONTRACT §3). Every response must parse fully (no UnparsedObject)."""

from __future__ import annotations

from datetime import datetime

import pytest
from datadog_api_client.exceptions import ApiException, ForbiddenException, NotFoundException
from datadog_api_client.model_utils import ModelNormal
from datadog_api_client.v2.api.scorecards_api import ScorecardsApi
from datadog_api_client.v2.model.create_rule_request import CreateRuleRequest
from datadog_api_client.v2.model.create_rule_request_data import CreateRuleRequestData
from datadog_api_client.v2.model.outcomes_batch_attributes import OutcomesBatchAttributes
from datadog_api_client.v2.model.outcomes_batch_request import OutcomesBatchRequest
from datadog_api_client.v2.model.outcomes_batch_request_data import OutcomesBatchRequestData
from datadog_api_client.v2.model.outcomes_batch_request_item import OutcomesBatchRequestItem
from datadog_api_client.v2.model.outcomes_batch_type import OutcomesBatchType
from datadog_api_client.v2.model.rule_attributes_request import RuleAttributesRequest
from datadog_api_client.v2.model.rule_type import RuleType
from datadog_api_client.v2.model.state import State
from datadog_api_client.v2.model.update_outcomes_async_attributes import UpdateOutcomesAsyncAttributes
from datadog_api_client.v2.model.update_outcomes_async_request import UpdateOutcomesAsyncRequest
from datadog_api_client.v2.model.update_outcomes_async_request_data import UpdateOutcomesAsyncRequestData
from datadog_api_client.v2.model.update_outcomes_async_request_item import UpdateOutcomesAsyncRequestItem
from datadog_api_client.v2.model.update_outcomes_async_type import UpdateOutcomesAsyncType
from datadog_api_client.v2.model.update_rule_request import UpdateRuleRequest
from datadog_api_client.v2.model.update_rule_request_data import UpdateRuleRequestData

from apps.evaluations.models import EntityScore, RuleOutcome, RuleResult, ScoreHistory
from apps.scorecards.models import Rule
from tests.api.datadog.conftest import sdk_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SCORECARD = "OpenAPI Spec Test Best Practices"


def assert_parsed(value) -> None:
    """Walk a response model: nothing may have fallen back to UnparsedObject."""
    if isinstance(value, list):
        for item in value:
            assert_parsed(item)
        return
    if isinstance(value, ModelNormal):
        assert value._unparsed is False, value
        for item in value._data_store.values():
            assert_parsed(item)


def create_rule(api: ScorecardsApi, name: str, **extra):
    body = CreateRuleRequest(
        data=CreateRuleRequestData(
            attributes=RuleAttributesRequest(
                name=name, enabled=True, owner="Datadog", scorecard_name=SCORECARD, **extra
            ),
            type=RuleType.RULE,
        )
    )
    response = api.create_scorecard_rule(body=body)
    assert_parsed(response)
    return response


def async_body(rule_id: str, state="pass", reference="service:my-service"):
    return UpdateOutcomesAsyncRequest(
        data=UpdateOutcomesAsyncRequestData(
            attributes=UpdateOutcomesAsyncAttributes(
                results=[
                    UpdateOutcomesAsyncRequestItem(
                        rule_id=rule_id, entity_reference=reference, remarks="See: <a>x</a>", state=State(state)
                    )
                ]
            ),
            type=UpdateOutcomesAsyncType.BATCHED_OUTCOME,
        )
    )


def batch_body(rule_id: str, service_name: str, state: str = "pass"):
    return OutcomesBatchRequest(
        data=OutcomesBatchRequestData(
            attributes=OutcomesBatchAttributes(
                results=[
                    OutcomesBatchRequestItem(
                        rule_id=rule_id, service_name=service_name, state=State(state), remarks="batch"
                    )
                ]
            ),
            type=OutcomesBatchType.BATCHED_OUTCOME,
        )
    )


def test_rules_create_list_update_delete(scorecards_api):
    created = create_rule(scorecards_api, "Has a runbook", level=2, description="Runbooks", scope_query="true")
    data = created.data
    assert data.type == RuleType.RULE
    assert data.attributes.scorecard_name == SCORECARD and data.attributes.category == SCORECARD
    assert (data.attributes.level, data.attributes.custom, data.attributes.owner) == (2, True, "Datadog")
    assert data.attributes.scope_query == "true"
    assert isinstance(data.attributes.created_at, datetime) and data.attributes.created_at.tzinfo is not None
    assert data.relationships.scorecard.data.id == "openapi-spec-test-best-practices"
    rule = Rule.objects.get(identifier=data.id)
    assert rule.title == "Has a runbook"

    listed = scorecards_api.list_scorecard_rules(include="scorecard", filter_rule_custom=True)
    assert_parsed(listed)
    assert [item.id for item in listed.data] == [data.id]
    assert listed.data[0]._unparsed is False
    assert listed.data[0].attributes.name == "Has a runbook"

    sparse = scorecards_api.list_scorecard_rules(page_size=2, fields_rule="name", filter_rule_custom=True)
    assert_parsed(sparse)
    assert sparse.data[0].attributes.name == "Has a runbook"
    assert "level" not in sparse.data[0].attributes._data_store

    updated = scorecards_api.update_scorecard_rule(
        rule_id=data.id,
        body=UpdateRuleRequest(
            data=UpdateRuleRequestData(
                attributes=RuleAttributesRequest(
                    enabled=True,
                    name="Has a runbook",
                    scorecard_name=SCORECARD,
                    description="Updated description via test",
                ),
                type=RuleType.RULE,
            )
        ),
    )
    assert_parsed(updated)
    assert updated.data.attributes.description == "Updated description via test"
    assert updated.data.attributes.level == 3  # full replacement: omitted level takes the default

    with pytest.raises(NotFoundException) as missing:
        scorecards_api.update_scorecard_rule(
            rule_id="REPLACE.ME",
            body=UpdateRuleRequest(
                data=UpdateRuleRequestData(
                    attributes=RuleAttributesRequest(name="x", scorecard_name=SCORECARD), type=RuleType.RULE
                )
            ),
        )
    assert missing.value.status == 404

    assert scorecards_api.delete_scorecard_rule(rule_id=data.id) is None
    assert not Rule.objects.filter(identifier=data.id).exists()
    with pytest.raises(NotFoundException) as gone:
        scorecards_api.delete_scorecard_rule(rule_id="2a4f524e-168a-429d-bb75-7b1ffeab0cbb")
    assert gone.value.body["errors"] == ["rule not found: 2a4f524e-168a-429d-bb75-7b1ffeab0cbb"]


def test_create_rule_with_scorecard_id_is_bad_request(scorecards_api):
    body = CreateRuleRequest(
        data=CreateRuleRequestData(
            attributes=RuleAttributesRequest(enabled=True, level=2, name="Team Defined", scorecard_id="NOT.FOUND"),
            type=RuleType.RULE,
        )
    )
    with pytest.raises(ApiException) as refused:
        scorecards_api.create_scorecard_rule(body=body)
    assert refused.value.status == 400
    assert "failed scorecard lookup" in refused.value.body["errors"][0]


def test_list_rules_with_pagination_yields_every_rule_once(scorecards_api):
    made = [create_rule(scorecards_api, f"paged {i:02d}").data.id for i in range(7)]
    seen = [item.id for item in scorecards_api.list_scorecard_rules_with_pagination(page_size=2)]
    assert seen == made
    default = [item.id for item in scorecards_api.list_scorecard_rules_with_pagination()]  # page size 10
    assert default == made


def test_outcomes_async_batch_and_list(scorecards_api):
    rule_id = create_rule(scorecards_api, "Outcome rule").data.id

    assert scorecards_api.update_scorecard_outcomes(body=async_body(rule_id)) is None  # 202, body ignored
    outcome = RuleOutcome.objects.select_related("entity").get()
    assert (outcome.entity.tag, outcome.state) == ("my-service", "pass")
    # Celery is eager in tests: the on-commit task re-scored the entity and wrote a history point.
    assert RuleResult.objects.get(entity=outcome.entity).state == "pass"
    assert EntityScore.objects.get(entity=outcome.entity).score == 1
    assert ScoreHistory.objects.filter(entity=outcome.entity).count() == 1

    assert scorecards_api.update_scorecard_outcomes(body=async_body(rule_id, state="fail")) is None
    assert RuleResult.objects.get(entity=outcome.entity).state == "fail"
    assert EntityScore.objects.get(entity=outcome.entity).score == 0
    assert ScoreHistory.objects.filter(entity=outcome.entity).count() == 2

    listed = scorecards_api.list_scorecard_outcomes(filter_rule_id=rule_id, filter_outcome_state="fail")
    assert_parsed(listed)
    assert [o.id for o in listed.data] == [f"{rule_id}\\my-service"]


def test_async_push_errors_through_the_sdk(scorecards_api, live_server):
    rule_id = create_rule(scorecards_api, "Errors rule").data.id
    body = async_body(rule_id)
    body.data.attributes.results[0]._data_store["state"] = "INVALID"  # the SDK would refuse to build it
    with pytest.raises(ApiException) as bad:
        scorecards_api.update_scorecard_outcomes(body=body)
    assert bad.value.status == 400
    assert len(bad.value.body["errors"]) == 1 and isinstance(bad.value.body["errors"][0], str)

    with pytest.raises(ApiException) as conflict:
        scorecards_api.update_scorecard_outcomes(body=async_body("INVALID.RULE_ID"))
    assert conflict.value.status == 409
    assert len(conflict.value.body["errors"]) == 1
    assert conflict.value.body["errors"][0].startswith("Invalid rule_id: ")


# The SDK warns on every call of this deprecated (and unstable) operation; the first call checks it does.
@pytest.mark.filterwarnings("ignore:create_scorecard_outcomes_batch is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:Using unstable operation:UserWarning")
def test_batch_and_list_outcomes(scorecards_api):
    rule_id = create_rule(scorecards_api, "Batch rule").data.id
    with pytest.warns(DeprecationWarning, match="create_scorecard_outcomes_batch is deprecated"):
        response = scorecards_api.create_scorecard_outcomes_batch(body=batch_body(rule_id, "my-service"))
    assert_parsed(response)
    assert (response.meta.total_received, response.meta.total_updated) == (1, 1)
    (outcome,) = response.data
    assert outcome.id == f"{rule_id}\\my-service"
    assert (outcome.attributes.service_name, outcome.attributes.state, outcome.attributes.remarks) == (
        "my-service",
        State.PASS,
        "batch",
    )
    assert outcome.relationships.rule.data.id == rule_id

    with pytest.raises(ApiException) as empty:
        scorecards_api.create_scorecard_outcomes_batch(body=batch_body(rule_id, ""))
    assert empty.value.status == 400
    assert 'attribute "service_name" is required' in empty.value.body["errors"][0]

    for i in range(4):
        scorecards_api.create_scorecard_outcomes_batch(body=batch_body(rule_id, f"svc-{i}", "fail"))
    listed = scorecards_api.list_scorecard_outcomes(include="rule")
    assert_parsed(listed)
    assert [o.attributes.service_name for o in listed.data] == ["my-service", "svc-0", "svc-1", "svc-2", "svc-3"]
    assert listed.included[0].id == rule_id and listed.included[0].attributes.name == "Batch rule"

    replay = scorecards_api.list_scorecard_outcomes(
        page_size=2, fields_outcome="state", filter_outcome_service_name="my-service"
    )
    assert_parsed(replay)
    assert [o.attributes.state for o in replay.data] == [State.PASS]

    pages = list(scorecards_api.list_scorecard_outcomes_with_pagination(page_size=2))
    assert [o.id for o in pages] == [f"{rule_id}\\{s}" for s in ("my-service", "svc-0", "svc-1", "svc-2", "svc-3")]


def test_list_scorecards(scorecards_api):
    create_rule(scorecards_api, "Makes a scorecard")
    response = scorecards_api.list_scorecards(filter_scorecard_name="spec test", page_size=10)
    assert_parsed(response)
    (scorecard,) = response.data
    assert scorecard.id == "openapi-spec-test-best-practices"
    assert scorecard.attributes.name == SCORECARD
    assert isinstance(scorecard.attributes.modified_at, datetime)
    assert scorecards_api.list_scorecards(page_offset=1).data == []


def test_viewer_cannot_write_through_the_sdk(live_server, viewer, scorecards_api):
    rule_id = create_rule(scorecards_api, "Read only").data.id
    with sdk_for(live_server, viewer) as client:
        api = ScorecardsApi(client)
        assert [r.id for r in api.list_scorecard_rules().data] == [rule_id]
        with pytest.raises(ForbiddenException):
            api.delete_scorecard_rule(rule_id=rule_id)
        with pytest.raises(ForbiddenException):
            api.update_scorecard_outcomes(body=async_body(rule_id))
