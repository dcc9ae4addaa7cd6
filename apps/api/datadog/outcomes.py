"""Datadog v2 rule outcomes: `POST /api/v2/scorecard/outcomes` (202), `POST .../outcomes/batch` (200, the
SDK's unstable operation) and `GET /api/v2/scorecard/outcomes`.

Both pushes store the outcomes at once and re-score the affected entities through Celery after
commit. An unknown rule id answers 409 `Invalid rule_id` (as the real server); a rule with an
expression answers 409 too (its state is evaluated, not pushed). An entity that does not exist yet
is created with the referenced type and tag. Entity names ignore letter case (`service:Payments-API` is the
entity `payments-api`: `normalise_tag`). See API_CONTRACT §3, §4.
"""

from __future__ import annotations

import re
import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.datadog.base import DatadogView
from apps.api.datadog.errors import datadog_exception_handler
from apps.api.datadog.rules import RULE_FIELDS
from apps.api.datadog.scorecards import (
    PUSH_OUTCOMES,
    TAGS,
    VIEW_SCORECARDS,
    includes,
    keep,
    page_of,
    sparse_fields,
)
from apps.api.params import iso, query_bool, query_list
from apps.catalog.models import TAG_PATTERN, normalise_tag
from apps.evaluations.models import RuleOutcome
from apps.evaluations.selectors import outcome_list
from apps.evaluations.services import OutcomeInput, UnknownRuleError, outcomes_push

STATES = ("pass", "fail", "skip")
OUTCOME_FIELDS = ("service_name", "state", "remarks", "created_at", "modified_at")
INCLUDED_RULE_FIELDS = ("name", "scorecard_name")
MAX_RESULTS = 1000  # per request; larger pushes are split by the caller
_TAG = re.compile(TAG_PATTERN)


def _required(name: str) -> dict:
    message = f'attribute "{name}" is required'
    return {"required": message, "blank": message, "null": message}


def _state_field():
    return serializers.ChoiceField(
        choices=STATES,
        error_messages={
            "invalid_choice": 'state must be one of pass, fail, skip, not "{input}"',
            **_required("state"),
        },
    )


def _check_tag(value: str, what: str) -> str:
    if len(value) > 255 or not _TAG.match(value):
        raise serializers.ValidationError(
            f"{what} {value!r} is not a valid entity tag (letters, digits, '.', '_' and '-', starting alphanumeric)"
        )
    return value


class AsyncOutcomeInput(serializers.Serializer):
    rule_id = serializers.CharField(max_length=255, error_messages=_required("rule_id"))
    entity_reference = serializers.CharField(max_length=400, error_messages=_required("entity_reference"))
    state = _state_field()
    remarks = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)

    def validate_entity_reference(self, value: str) -> tuple[str, str]:
        kind, sep, tag = value.partition(":")
        if not sep or not kind or not tag:
            raise serializers.ValidationError(f'must be "<type>:<name>" such as "service:my-service", not {value!r}')
        return _check_tag(kind.strip(), "entity type"), normalise_tag(_check_tag(tag.strip(), "entity name"))

    def to_outcome(self, data) -> OutcomeInput:
        kind, tag = data["entity_reference"]
        return OutcomeInput(data["rule_id"], kind, tag, data["state"], data.get("remarks") or "")


class BatchOutcomeInput(serializers.Serializer):
    rule_id = serializers.CharField(max_length=255, error_messages=_required("rule_id"))
    service_name = serializers.CharField(max_length=255, error_messages=_required("service_name"))
    state = _state_field()
    remarks = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)

    def validate_service_name(self, value: str) -> str:
        return normalise_tag(_check_tag(value, "service_name"))

    def to_outcome(self, data) -> OutcomeInput:
        return OutcomeInput(data["rule_id"], "service", data["service_name"], data["state"], data.get("remarks") or "")


def _document(item_class):
    class Attributes(serializers.Serializer):
        results = serializers.ListField(
            child=item_class(), allow_empty=False, max_length=MAX_RESULTS, error_messages=_required("results")
        )

    class Data(serializers.Serializer):
        type = serializers.ChoiceField(
            choices=["batched-outcome"], error_messages={"invalid_choice": 'must be "batched-outcome"'}
        )
        attributes = Attributes()

    class Document(serializers.Serializer):
        data = Data()

    Document.__name__ = f"{item_class.__name__}Document"
    return Document


AsyncDocument = _document(AsyncOutcomeInput)
BatchDocument = _document(BatchOutcomeInput)


def outcomes_input(request, document_class, item_class) -> list[OutcomeInput]:
    document = document_class(data=request.data)
    document.is_valid(raise_exception=True)
    return [item_class().to_outcome(item) for item in document.validated_data["data"]["attributes"]["results"]]


def outcomes_exception_handler(exc, context):
    """The shared handler (errors as a list of strings, seed 003), with the real server's words in front for an
    unknown rule id: `Invalid rule_id: ...`."""
    response = datadog_exception_handler(exc, context)
    if isinstance(exc, UnknownRuleError):
        response.data["errors"] = [f"Invalid rule_id: {error}" for error in response.data["errors"]]
    return response


# --- output --------------------------------------------------------------------------------------


def outcome_id(outcome: RuleOutcome) -> str:
    return f"{outcome.rule.identifier}\\{outcome.entity.tag}"


def outcome_resource(outcome: RuleOutcome, fields: tuple[str, ...] | None = None) -> dict:
    attributes = {
        "service_name": outcome.entity.tag,
        "state": outcome.state,
        "remarks": outcome.remarks,
        "created_at": iso(outcome.created_at),
        "modified_at": iso(outcome.updated_at),
    }
    return {
        "id": outcome_id(outcome),
        "type": "outcome",
        "attributes": keep(attributes, fields),
        "relationships": {"rule": {"data": {"id": str(outcome.rule.identifier), "type": "rule"}}},
    }


def included_rule(rule, fields: tuple[str, ...] | None) -> dict:
    attributes = {"name": rule.title, "scorecard_name": rule.scorecard.name}
    return {"id": str(rule.identifier), "type": "rule", "attributes": keep(attributes, fields)}


class OutcomesView(DatadogView):
    required_permissions = {"GET": VIEW_SCORECARDS, "POST": PUSH_OUTCOMES}

    def get_exception_handler(self):
        return outcomes_exception_handler

    @extend_schema(
        tags=TAGS,
        operation_id="ListScorecardOutcomes",
        summary="List all rule outcomes",
        parameters=[
            OpenApiParameter("page[size]", int, description="1..100, default 100."),
            OpenApiParameter("page[offset]", int, description="0 or more; past the end the page is empty."),
            OpenApiParameter("include", str, description="`rule` adds the outcomes' rules as `included`."),
            OpenApiParameter("fields[outcome]", str, description="Outcome attributes to return, comma-separated."),
            OpenApiParameter("fields[rule]", str, description="Included rule attributes (name, scorecard_name)."),
            OpenApiParameter("filter[outcome][service_name]", str, description="Entity tag, in any letter case."),
            OpenApiParameter("filter[outcome][state]", str, enum=list(STATES)),
            OpenApiParameter("filter[rule][enabled]", bool),
            OpenApiParameter("filter[rule][id]", str, description="Rule id(s), comma-separated."),
            OpenApiParameter("filter[rule][name]", str, description="Partial, case-insensitive."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        outcome_fields = sparse_fields(request, "outcome", OUTCOME_FIELDS)
        # The included rule carries name and scorecard_name only; other rule attribute names are accepted.
        rule_fields = sparse_fields(request, "rule", RULE_FIELDS)
        if rule_fields is not None:
            rule_fields = tuple(f for f in rule_fields if f in INCLUDED_RULE_FIELDS)
        include = includes(request, ("rule",))
        state = request.query_params.get("filter[outcome][state]") or None
        if state is not None and state not in STATES:
            raise serializers.ValidationError(
                {"filter[outcome][state]": f"must be one of pass, fail, skip, not {state!r}"}
            )
        outcomes = outcome_list(
            user=request.user,
            service_name=request.query_params.get("filter[outcome][service_name]") or None,
            state=state,
            rule_enabled=query_bool(request, "filter[rule][enabled]"),
            rule_ids=query_list(request, "filter[rule][id]"),
            rule_name=request.query_params.get("filter[rule][name]"),
        )
        rows, links = page_of(request, outcomes)
        body: dict = {"data": [outcome_resource(o, outcome_fields) for o in rows], "links": links}
        if "rule" in include:
            rules = {o.rule_id: o.rule for o in rows}
            body["included"] = [included_rule(rule, rule_fields) for rule in rules.values()]
        return Response(body)

    @extend_schema(
        tags=TAGS,
        operation_id="UpdateScorecardOutcomesAsync",
        summary="Update scorecard outcomes (stored now, entities re-scored in the background)",
        request=OpenApiTypes.OBJECT,
        responses={202: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        pushed = outcomes_push(results=outcomes_input(request, AsyncDocument, AsyncOutcomeInput))
        return Response(
            {
                "data": {"id": str(uuid.uuid4()), "type": "async-request"},
                "meta": {"total_received": pushed.total_received},
            },
            status=202,
        )


class OutcomesBatchView(DatadogView):
    # GET is mapped so a GET here answers 405 (no such operation), not 403.
    required_permissions = {"GET": VIEW_SCORECARDS, "POST": PUSH_OUTCOMES}

    def get_exception_handler(self):
        return outcomes_exception_handler

    @extend_schema(
        tags=TAGS,
        operation_id="CreateScorecardOutcomesBatch",
        summary="Create outcomes batch (deprecated upstream; prefer POST outcomes)",
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        pushed = outcomes_push(results=outcomes_input(request, BatchDocument, BatchOutcomeInput))
        return Response(
            {
                "data": [outcome_resource(o) for o in pushed.outcomes],
                "meta": {"total_received": pushed.total_received, "total_updated": pushed.total_updated},
            }
        )
