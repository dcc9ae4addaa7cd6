"""Datadog v2 scorecard rules: `POST/GET /api/v2/scorecard/rules`, `PUT/DELETE /api/v2/scorecard/rules/{rule_id}`.

Rules made here have no expression (`custom: true`): their state comes from pushed outcomes. A new
`scorecard_name` creates that scorecard with a Bronze/Silver/Gold ladder; `level` 1/2/3 is the ladder
rank (3 when omitted). A duplicate rule name in a scorecard answers 409. A PUT with another
`scorecard_name` moves the rule there (apps.scorecards.services.rule_update). `scope_query` is Datadog's
catalog query syntax or a rule-language expression, kept verbatim. Errors are a list of strings (seed 003).
See API_CONTRACT §3, §4.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.datadog.base import DatadogView
from apps.api.datadog.scorecards import (
    EDIT_SCORECARDS,
    SCORECARD_FIELDS,
    TAGS,
    VIEW_SCORECARDS,
    includes,
    keep,
    page_of,
    scorecard_resource,
    sparse_fields,
)
from apps.api.params import iso, query_bool, query_list
from apps.scorecards.filters import compile_scope
from apps.scorecards.language import RuleSyntaxError
from apps.scorecards.models import Rule
from apps.scorecards.selectors import rule_list
from apps.scorecards.services import rule_create_custom, rule_delete, rule_update

RULE_FIELDS = (
    "name",
    "scorecard_name",
    "category",
    "enabled",
    "level",
    "owner",
    "description",
    "scope_query",
    "custom",
    "created_at",
    "modified_at",
)
# Server-managed attributes a client may echo back from a GET; they are ignored, not refused.
_READ_ONLY = ("category", "custom", "created_at", "modified_at")


# --- input ---------------------------------------------------------------------------------------


class RuleAttributesInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    scorecard_name = serializers.CharField(max_length=255, required=False)
    enabled = serializers.BooleanField(required=False, allow_null=True, default=None)
    level = serializers.IntegerField(min_value=1, max_value=3, required=False, allow_null=True, default=None)
    owner = serializers.CharField(max_length=255, required=False, allow_blank=True, allow_null=True, default="")
    description = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default="", trim_whitespace=False
    )
    scope_query = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default="", trim_whitespace=False
    )

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields) - set(_READ_ONLY))
            if "scorecard_id" in unknown:
                raise serializers.ValidationError(
                    {
                        "scorecard_id": 'failed scorecard lookup: "scorecard_id" is not an attribute of a rule; '
                        'name the scorecard with "scorecard_name"'
                    }
                )
            if unknown:
                raise serializers.ValidationError({name: "unknown attribute" for name in unknown})
        return super().to_internal_value(data)

    def validate_scope_query(self, value):
        # Datadog's catalog query syntax (`kind:service AND team:platform`) or, as before, a rule-language
        # expression; stored and returned verbatim (apps.scorecards.filters.compile_scope).
        if value and value.strip():
            try:
                compile_scope(value)
            except RuleSyntaxError as exc:
                raise serializers.ValidationError(str(exc)) from None
        return value or ""

    def validate(self, attrs):
        return {
            "name": attrs["name"],
            "scorecard_name": attrs.get("scorecard_name"),
            "enabled": True if attrs.get("enabled") is None else attrs["enabled"],
            "level": attrs.get("level"),
            "owner": attrs.get("owner") or "",
            "description": attrs.get("description") or "",
            "scope_query": attrs.get("scope_query") or "",
        }


class RuleDataInput(serializers.Serializer):
    type = serializers.ChoiceField(choices=["rule"], error_messages={"invalid_choice": 'must be "rule"'})
    id = serializers.CharField(required=False)
    attributes = RuleAttributesInput()


class RuleDocumentInput(serializers.Serializer):
    """`{"data": {"type": "rule", "attributes": {...}}}` (CreateRuleRequest / UpdateRuleRequest)."""

    # The wire format names this field `data`, which shadows Serializer.data (typed as its ReturnDict).
    data = RuleDataInput()  # type: ignore[assignment]


def rule_input(request, *, creating: bool) -> dict:
    document = RuleDocumentInput(data=request.data)
    document.is_valid(raise_exception=True)
    attributes = document.validated_data["data"]["attributes"]
    if creating and not attributes["scorecard_name"]:
        raise serializers.ValidationError(
            {
                "data": {
                    "attributes": {"scorecard_name": 'failed scorecard lookup: attribute "scorecard_name" is required'}
                }
            }
        )
    return attributes


# --- output --------------------------------------------------------------------------------------


def rule_attributes(rule: Rule) -> dict:
    scorecard = rule.scorecard
    rank = rule.level.rank if rule.level is not None else None
    return {
        "name": rule.title,
        "scorecard_name": scorecard.name,
        "category": scorecard.name,
        "enabled": rule.enabled,
        # The SDK refuses levels outside 1..3; longer Cortex ladders show null above rank 3.
        "level": rank if rank in (1, 2, 3) else None,
        "owner": rule.owner,
        "description": rule.description,
        "scope_query": (rule.filter or {}).get("query") or "",
        "custom": not rule.expression.strip(),
        "created_at": iso(rule.created_at),
        "modified_at": iso(rule.updated_at),
    }


def rule_resource(rule: Rule, fields: tuple[str, ...] | None = None) -> dict:
    return {
        "id": str(rule.identifier),
        "type": "rule",
        "attributes": keep(rule_attributes(rule), fields),
        "relationships": {"scorecard": {"data": {"id": rule.scorecard.tag, "type": "scorecard"}}},
    }


_RULE_BODY = OpenApiTypes.OBJECT


class RuleListView(DatadogView):
    required_permissions = {"GET": VIEW_SCORECARDS, "POST": EDIT_SCORECARDS}

    @extend_schema(
        tags=TAGS,
        operation_id="ListScorecardRules",
        summary="List all rules",
        parameters=[
            OpenApiParameter("page[size]", int, description="1..100, default 100."),
            OpenApiParameter("page[offset]", int, description="0 or more; past the end the page is empty."),
            OpenApiParameter("include", str, description="`scorecard` adds the rules' scorecards as `included`."),
            OpenApiParameter("filter[rule][id]", str, description="Rule id(s), comma-separated."),
            OpenApiParameter("filter[rule][enabled]", bool),
            OpenApiParameter("filter[rule][custom]", bool, description="true: rules without an expression."),
            OpenApiParameter("filter[rule][name]", str, description="Partial, case-insensitive."),
            OpenApiParameter("filter[rule][description]", str, description="Partial, case-insensitive."),
            OpenApiParameter("fields[rule]", str, description="Rule attributes to return, comma-separated."),
            OpenApiParameter("fields[scorecard]", str, description="Included scorecard attributes, comma-separated."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        rule_fields = sparse_fields(request, "rule", RULE_FIELDS)
        scorecard_fields = sparse_fields(request, "scorecard", SCORECARD_FIELDS)
        include = includes(request, ("scorecard",))
        rules = rule_list(
            user=request.user,
            ids=query_list(request, "filter[rule][id]"),
            enabled=query_bool(request, "filter[rule][enabled]"),
            custom=query_bool(request, "filter[rule][custom]"),
            name=request.query_params.get("filter[rule][name]"),
            description=request.query_params.get("filter[rule][description]"),
        )
        rows, links = page_of(request, rules)
        body: dict = {"data": [rule_resource(rule, rule_fields) for rule in rows], "links": links}
        if "scorecard" in include:
            scorecards = {rule.scorecard_id: rule.scorecard for rule in rows}
            body["included"] = [scorecard_resource(s, scorecard_fields) for s in scorecards.values()]
        return Response(body)

    @extend_schema(
        tags=TAGS,
        operation_id="CreateScorecardRule",
        summary="Create a new rule",
        request=_RULE_BODY,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        rule = rule_create_custom(**rule_input(request, creating=True))
        return Response({"data": rule_resource(rule)}, status=201)


class RuleDetailView(DatadogView):
    # GET is mapped so a GET here answers 405 (no such operation), not 403.
    required_permissions = {"GET": VIEW_SCORECARDS, "PUT": EDIT_SCORECARDS, "DELETE": EDIT_SCORECARDS}

    @extend_schema(
        tags=TAGS,
        operation_id="UpdateScorecardRule",
        summary="Update an existing rule (full replacement)",
        request=_RULE_BODY,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, rule_id: str):
        rule = rule_update(rule_id=rule_id, **rule_input(request, creating=False))
        return Response({"data": rule_resource(rule)})

    @extend_schema(tags=TAGS, operation_id="DeleteScorecardRule", summary="Delete a rule", responses={204: None})
    def delete(self, request, rule_id: str):
        rule_delete(rule_id=rule_id)
        return Response(status=204)
