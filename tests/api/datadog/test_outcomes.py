"""Datadog v2 outcomes: async push (202), batch push (200), list (filters, include, sparse fields, paging)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.models import Entity
from apps.evaluations.models import EntityScore, RuleOutcome, RuleResult, ScoreHistory
from apps.scorecards.services import rule_create_custom
from tests.api.datadog.test_rules import ISO_Z, dd

pytestmark = pytest.mark.django_db

OUTCOMES = "/api/v2/scorecard/outcomes"
BATCH = "/api/v2/scorecard/outcomes/batch"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def push_body(*results) -> dict:
    return {"data": {"type": "batched-outcome", "attributes": {"results": list(results)}}}


@pytest.fixture
def rule():
    return rule_create_custom(name="Runbook linked", scorecard_name="Ops Readiness", owner="Datadog")


# --- async push ----------------------------------------------------------------------------------


def test_async_push_answers_202_stores_the_outcome_and_rescores(
    editor, rule, django_capture_on_commit_callbacks, tasks_run
):
    with django_capture_on_commit_callbacks(execute=True):
        response = dd(editor).post(
            OUTCOMES,
            push_body(
                {
                    "rule_id": str(rule.identifier),
                    "entity_reference": "service:my-service",
                    "state": "pass",
                    "remarks": 'See: <a href="https://example.com">runbook</a>',
                }
            ),
            format="json",
        )
    assert response.status_code == 202, response.content
    payload = response.json()
    assert payload["data"]["type"] == "async-request" and UUID4.match(payload["data"]["id"])
    assert payload["meta"] == {"total_received": 1}
    entity = Entity.objects.get(tag="my-service")
    assert tasks_run == [("rescore_flush", ()), ("rescore_entities", (rule.scorecard_id, [entity.pk]))]
    assert (entity.type, entity.name) == ("service", "my-service")
    outcome = RuleOutcome.objects.get()
    assert (outcome.entity_id, outcome.rule_id, outcome.state) == (entity.pk, rule.pk, "pass")
    assert outcome.remarks == 'See: <a href="https://example.com">runbook</a>'
    result = RuleResult.objects.get(entity=entity, rule=rule)
    assert (result.state, result.raw_state) == ("pass", "pass")
    score = EntityScore.objects.get(entity=entity, scorecard=rule.scorecard)
    assert (score.score, score.total_possible, score.level.name) == (1, 1, "Gold")
    assert list(ScoreHistory.objects.filter(entity=entity).values_list("score", "level_rank")) == [(1.0, 3)]

    with django_capture_on_commit_callbacks(execute=True):
        response = dd(editor).post(
            OUTCOMES,
            push_body({"rule_id": str(rule.identifier), "entity_reference": "service:my-service", "state": "fail"}),
            format="json",
        )
    assert response.status_code == 202
    assert RuleResult.objects.get(entity=entity, rule=rule).state == "fail"
    score = EntityScore.objects.get(entity=entity, scorecard=rule.scorecard)
    assert (score.score, score.total_possible, score.level.name) == (0, 1, "Silver")
    assert list(ScoreHistory.objects.filter(entity=entity).order_by("id").values_list("score", "level_rank")) == [
        (1.0, 3),
        (0.0, 2),
    ]


def test_async_push_invalid_state_is_400_with_one_error(editor, rule):
    response = dd(editor).post(
        OUTCOMES,
        push_body({"rule_id": str(rule.identifier), "entity_reference": "service:my-service", "state": "INVALID"}),
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert errors[0] == 'data.attributes.results.0.state: state must be one of pass, fail, skip, not "INVALID"'
    assert not RuleOutcome.objects.exists() and not Entity.objects.exists()


def test_async_push_unknown_rule_is_409_invalid_rule_id(editor, rule):
    response = dd(editor).post(
        OUTCOMES,
        push_body(
            {"rule_id": "INVALID.RULE_ID", "entity_reference": "service:my-service", "state": "pass"},
            {"rule_id": str(rule.identifier), "entity_reference": "service:my-service", "state": "pass"},
        ),
        format="json",
    )
    assert response.status_code == 409
    assert response.json() == {"errors": ["Invalid rule_id: rule not found: INVALID.RULE_ID"]}
    assert not RuleOutcome.objects.exists() and not Entity.objects.exists()  # all or nothing


def test_async_push_to_a_rule_id_two_scorecards_share_is_409_and_writes_nothing(editor, rule):
    from apps.scorecards.models import Rule

    twin = rule_create_custom(name="Runbook linked", scorecard_name="Other Readiness")
    Rule.objects.filter(pk=twin.pk).update(identifier=rule.identifier)
    response = dd(editor).post(
        OUTCOMES,
        push_body({"rule_id": str(rule.identifier), "entity_reference": "service:my-service", "state": "pass"}),
        format="json",
    )
    assert response.status_code == 409
    (error,) = response.json()["errors"]
    assert isinstance(error, str)
    assert f"rule id {rule.identifier} is in scorecards ops-readiness, other-readiness" in error
    assert not RuleOutcome.objects.exists() and not Entity.objects.exists()


def test_async_push_for_a_rule_with_an_expression_is_409(editor, rule_factory):
    coded = rule_factory(expression="true")
    response = dd(editor).post(
        OUTCOMES,
        push_body({"rule_id": str(coded.identifier), "entity_reference": "service:s", "state": "pass"}),
        format="json",
    )
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert error == (f"rule {coded.identifier} has an expression: its state is evaluated, outcomes cannot be pushed")


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"entity_reference": "my-service", "state": "pass"}, 'must be "<type>:<name>"'),
        ({"entity_reference": "service:my service", "state": "pass"}, "is not a valid entity tag"),
        ({"entity_reference": "", "state": "pass"}, 'attribute "entity_reference" is required'),
        ({"state": "pass"}, 'attribute "entity_reference" is required'),
        ({"entity_reference": "service:x"}, 'attribute "state" is required'),
    ],
)
def test_async_push_bad_items_are_400(editor, rule, item, fragment):
    response = dd(editor).post(OUTCOMES, push_body({"rule_id": str(rule.identifier), **item}), format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 1 and fragment in errors[0]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (push_body(), "data.attributes.results"),
        ({"data": {"type": "outcome", "attributes": {"results": []}}}, 'data.type: must be "batched-outcome"'),
        ({}, "data"),
    ],
)
def test_async_push_bad_documents_are_400(editor, payload, fragment):
    response = dd(editor).post(OUTCOMES, payload, format="json")
    assert response.status_code == 400
    assert fragment in response.json()["errors"][0]


def test_push_to_an_entity_of_another_type_is_400(editor, rule, entity_factory):
    entity_factory(tag="payments", type="domain")
    response = dd(editor).post(
        OUTCOMES,
        push_body({"rule_id": str(rule.identifier), "entity_reference": "service:payments", "state": "pass"}),
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0] == (
        "entity_reference service:payments: entity 'payments' exists as a domain, not a service"
    )


def test_push_needs_edit_rights(viewer, approver, bearer, rule):
    payload = push_body({"rule_id": str(rule.identifier), "entity_reference": "service:s", "state": "pass"})
    for client in (dd(viewer), dd(approver), bearer(None)):
        assert client.post(OUTCOMES, payload, format="json").status_code == 403
        assert client.post(BATCH, payload, format="json").status_code == 403
    assert not RuleOutcome.objects.exists()


# --- batch push ----------------------------------------------------------------------------------


def test_batch_push_answers_200_with_outcomes_and_counts(editor, rule, django_capture_on_commit_callbacks, tasks_run):
    item = {"rule_id": str(rule.identifier), "service_name": "my-service", "state": "pass", "remarks": "ok"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = dd(editor).post(BATCH, push_body(item), format="json")
    assert response.status_code == 200, response.content
    payload = response.json()
    assert payload["meta"] == {"total_received": 1, "total_updated": 1}
    assert [name for name, _ in tasks_run] == ["rescore_flush", "rescore_entities"]
    (outcome,) = payload["data"]
    assert outcome["id"] == f"{rule.identifier}\\my-service"
    assert outcome["type"] == "outcome"
    assert outcome["relationships"] == {"rule": {"data": {"id": str(rule.identifier), "type": "rule"}}}
    attributes = outcome["attributes"]
    assert (attributes["service_name"], attributes["state"], attributes["remarks"]) == ("my-service", "pass", "ok")
    assert ISO_Z.match(attributes["created_at"]) and ISO_Z.match(attributes["modified_at"])
    assert EntityScore.objects.get(entity__tag="my-service").score == 1

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = dd(editor).post(BATCH, push_body(item, item), format="json").json()
    assert again["meta"] == {"total_received": 2, "total_updated": 0}
    assert len(again["data"]) == 1 and callbacks == []  # nothing changed, nothing re-scored


def test_batch_push_empty_service_name_is_400(editor, rule):
    response = dd(editor).post(
        BATCH, push_body({"rule_id": str(rule.identifier), "service_name": "", "state": "pass"}), format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert errors[0] == 'data.attributes.results.0.service_name: attribute "service_name" is required'


def test_batch_push_unknown_rule_is_409(editor):
    response = dd(editor).post(
        BATCH, push_body({"rule_id": "nope", "service_name": "s", "state": "pass"}), format="json"
    )
    assert response.status_code == 409
    assert response.json()["errors"][0].startswith("Invalid rule_id: ")


# --- list ----------------------------------------------------------------------------------------


def _push(rule, service: str, state: str, remarks: str = "") -> None:
    from apps.evaluations.services import OutcomeInput, outcomes_push

    outcomes_push(results=[OutcomeInput(str(rule.identifier), "service", service, state, remarks)])


def test_list_outcomes_shape(viewer, rule):
    _push(rule, "my-service", "pass", "fine")
    response = dd(viewer).get(OUTCOMES)
    assert response.status_code == 200
    payload = response.json()
    (item,) = payload["data"]
    assert item["id"] == f"{rule.identifier}\\my-service"
    assert item["type"] == "outcome"
    assert {k: v for k, v in item["attributes"].items() if k not in ("created_at", "modified_at")} == {
        "service_name": "my-service",
        "state": "pass",
        "remarks": "fine",
    }
    assert ISO_Z.match(item["attributes"]["created_at"])
    assert item["relationships"]["rule"]["data"] == {"id": str(rule.identifier), "type": "rule"}
    assert payload["links"] == {} and "included" not in payload


def test_list_outcomes_filters(viewer, rule):
    other = rule_create_custom(name="Alerts", scorecard_name="Ops Readiness", enabled=False)
    _push(rule, "a", "pass")
    _push(rule, "b", "fail")
    _push(other, "a", "skip")
    client = dd(viewer)

    def ids(params):
        response = client.get(OUTCOMES, params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["data"]]

    r, o = str(rule.identifier), str(other.identifier)
    assert ids({"filter[outcome][service_name]": "a"}) == [f"{r}\\a", f"{o}\\a"]
    assert ids({"filter[outcome][state]": "fail"}) == [f"{r}\\b"]
    assert ids({"filter[rule][enabled]": "false"}) == [f"{o}\\a"]
    assert ids({"filter[rule][id]": o}) == [f"{o}\\a"]
    assert ids({"filter[rule][id]": "junk"}) == []
    assert ids({"filter[rule][name]": "runbook"}) == [f"{r}\\a", f"{r}\\b"]
    bad = client.get(OUTCOMES, {"filter[outcome][state]": "green"})
    assert bad.status_code == 400 and "filter[outcome][state]" in bad.json()["errors"][0]


def test_list_outcomes_include_rule_and_sparse_fields(viewer, rule):
    _push(rule, "a", "pass")
    _push(rule, "b", "fail")
    payload = dd(viewer).get(OUTCOMES, {"include": "rule", "fields[outcome]": "state", "fields[rule]": "name"}).json()
    assert [item["attributes"] for item in payload["data"]] == [{"state": "pass"}, {"state": "fail"}]
    assert payload["included"] == [
        {"id": str(rule.identifier), "type": "rule", "attributes": {"name": "Runbook linked"}}
    ]
    full = dd(viewer).get(OUTCOMES, {"include": "rule"}).json()
    assert full["included"][0]["attributes"] == {"name": "Runbook linked", "scorecard_name": "Ops Readiness"}
    assert dd(viewer).get(OUTCOMES, {"fields[outcome]": "level"}).status_code == 400
    assert dd(viewer).get(OUTCOMES, {"include": "scorecard"}).status_code == 400


def test_list_outcomes_paging(viewer, rule):
    for i in range(5):
        _push(rule, f"svc-{i}", "pass")
    client = dd(viewer)
    first = client.get(OUTCOMES, {"page[size]": "2", "filter[outcome][state]": "pass"}).json()
    assert [d["attributes"]["service_name"] for d in first["data"]] == ["svc-0", "svc-1"]
    assert first["links"]["next"] == (
        "/api/v2/scorecard/outcomes?filter%5Boutcome%5D%5Bstate%5D=pass&page%5Boffset%5D=2&page%5Bsize%5D=2"
    )
    last = client.get(OUTCOMES, {"page[size]": "2", "page[offset]": "4"}).json()
    assert [d["attributes"]["service_name"] for d in last["data"]] == ["svc-4"] and last["links"] == {}
    assert client.get(OUTCOMES, {"page[offset]": "5"}).json()["data"] == []
    for size in ("0", "101"):
        response = client.get(OUTCOMES, {"page[size]": size})
        assert response.status_code == 400 and "page[size]" in response.json()["errors"][0]


def test_list_outcomes_query_count_is_constant(viewer, rule):
    client = dd(viewer)
    for i in range(3):
        _push(rule, f"few-{i}", "pass")
    client.get(OUTCOMES)  # warm-up: the first request of a key records its last use
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(OUTCOMES, {"include": "rule"}).json()["data"]) == 3
    other = rule_create_custom(name="Other", scorecard_name="Second")
    for i in range(27):
        _push(other if i % 2 else rule, f"many-{i}", "fail")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(OUTCOMES, {"include": "rule"}).json()["data"]) == 30
    assert len(many) == len(few)


# --- entity references ignore letter case -------------------------------------------------------------


def test_outcome_for_a_mixed_case_reference_reaches_the_lower_case_entity(editor, rule, viewer):
    existing = Entity.objects.create(tag="payments-api", name="Payments API")
    response = dd(editor).post(
        OUTCOMES,
        push_body(
            {"rule_id": str(rule.identifier), "entity_reference": "service:Payments-API", "state": "pass"},
            {"rule_id": str(rule.identifier), "entity_reference": "service:New-Service", "state": "fail"},
        ),
        format="json",
    )
    assert response.status_code == 202, response.content
    assert sorted(Entity.objects.values_list("tag", flat=True)) == ["new-service", "payments-api"]
    assert dict(RuleOutcome.objects.values_list("entity_id", "state"))[existing.pk] == "pass"
    listed = dd(viewer).get(OUTCOMES, {"filter[outcome][service_name]": "PAYMENTS-API"}).json()["data"]
    assert [o["attributes"]["service_name"] for o in listed] == ["payments-api"]


def test_batch_outcome_service_name_ignores_case(editor, rule):
    Entity.objects.create(tag="payments-api", name="Payments API")
    response = dd(editor).post(
        BATCH,
        push_body({"rule_id": str(rule.identifier), "service_name": "Payments-Api", "state": "fail"}),
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"][0]["attributes"]["service_name"] == "payments-api"
    assert Entity.objects.count() == 1


# --- remarks on the report card -----------------------------------------------------------------------

REMARKS = (
    "Deployed by **CI**: see the [pipeline](https://ci.example.com/run/7).\n\n"
    "<script>alert(1)</script> <img src=x onerror=alert(2)> [bad](javascript:alert(3))"
)


def test_pushed_remarks_show_on_the_report_card_sanitised_with_links_kept(
    editor, rule, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = dd(editor).post(
            OUTCOMES,
            push_body(
                {
                    "rule_id": str(rule.identifier),
                    "entity_reference": "service:Payments-API",
                    "state": "fail",
                    "remarks": REMARKS,
                }
            ),
            format="json",
        )
    assert response.status_code == 202, response.content
    client.force_login(editor.user)
    html = client.get("/entities/payments-api/").content.decode()
    block = re.search(rf'data-testid="remarks-{rule.identifier}">(.*?)</div>', html, re.S)
    assert block, html
    remarks = block.group(1)
    assert '<a href="https://ci.example.com/run/7" rel="noopener noreferrer nofollow">pipeline</a>' in remarks
    assert "<strong>CI</strong>" in remarks
    assert "<script" not in remarks and "<img" not in remarks and "onerror" not in remarks
    assert "javascript:" not in remarks
    assert "<script>alert(1)</script>" not in html
