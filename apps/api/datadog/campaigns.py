"""Datadog v2 campaign operations (API_CONTRACT §3, seed 003): `/api/v2/scorecard/campaigns[/{id or key}]`.

Thin: parse the JSON:API document, call apps.campaigns services/selectors, shape the answer. Decisions:
- `owner_id` / `owner` is an owner UUID: a user's `uuid` (shown on their profile page), or any other UUID (a
  Datadog user's, as a migration script sends it), kept as an external owner an Admin links to a user later.
- A key already in use answers 409; every bad attribute answers 400 with a pointer `/data/attributes/<name>`.
- PUT replaces the required attributes; optional ones it leaves out keep their stored value.
- GET one: `include=rules` adds `relationships.rules` and `included` rule resources; `include=scores` (seed 003's
  example) adds `relationships.scores` and `included` score resources, one per in-scope entity, shaped as seed
  002's by-entity scores over the campaign's rules; `include_meta=true` adds top-level
  `meta{rule_count, entity_count, entities_passing, progress}`. Other `include` values answer 400.
- List: `page[limit]` 1..100 (default 10), `page[offset]` >= 0; past the end `data` is empty.
"""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from apps.api.datadog.base import DatadogView, OffsetPage
from apps.api.datadog.errors import OBJECTS
from apps.api.params import iso, query_bool
from apps.campaigns.models import Campaign, CampaignStatus
from apps.campaigns.selectors import (
    campaign_entity_scores,
    campaign_get,
    campaign_list,
    campaign_progress,
    campaign_progress_rows,
    parse_uuid,
)
from apps.campaigns.services import UNSET, campaign_create, campaign_delete, campaign_update
from apps.core.errors import Problem, ValidationFailed

TAG = ["Datadog v2"]
LIST_DEFAULT, LIST_MAX = 10, 100
INCLUDES = {"rules", "scores"}


def _owner_uuid(campaign: Campaign) -> str:
    value = campaign.owner_uuid
    return str(value) if value is not None else ""


def campaign_resource(campaign: Campaign) -> dict:
    return {
        "id": str(campaign.pk),
        "type": "campaign",
        "attributes": {
            "key": campaign.key,
            "name": campaign.name,
            "owner": _owner_uuid(campaign),
            "status": campaign.status,
            "start_date": iso(campaign.start_date),
            "due_date": iso(campaign.due_date),
            "description": campaign.description,
            "entity_scope": campaign.entity_scope,
            "guidance": campaign.guidance,
            "created_at": iso(campaign.created_at),
            "modified_at": iso(campaign.modified_at),
        },
    }


def _score_resource(row: dict) -> dict:
    """One entity's score over the campaign's rules, as seed 002's by-entity score resource."""
    denominator = row["denominator"]
    relationships = {"entity": {"data": {"id": row["entity__public_id"], "type": "entity"}}}
    if row["entity__type"] == "service":
        relationships["service"] = {"data": {"id": row["entity__tag"], "type": "service"}}
    return {
        "id": row["entity__public_id"],
        "type": "score",
        "attributes": {
            "aggregation": "by-entity",
            "score": row["numerator"] / denominator if denominator else 0.0,
            "numerator": row["numerator"],
            "denominator": denominator,
            "total_entities": 1,
            "total_pass": row["total_pass"],
            "total_fail": row["total_fail"],
            "total_skip": row["total_skip"],
            "total_no_data": row["total_no_data"],
        },
        "relationships": relationships,
    }


# --- input -----------------------------------------------------------------------------------------


class DateTimeOnly(serializers.DateTimeField):
    """ISO-8601 date-times only: a date alone is refused, as the SDK refuses one in a date-time field."""

    def to_internal_value(self, value):
        if isinstance(value, str) and "T" not in value.upper():
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]")
        return super().to_internal_value(value)


class CampaignAttributesInput(serializers.Serializer):
    """`data.attributes` of a create request (seed 003: key, name, owner_id, rule_ids, start_date required)."""

    key = serializers.CharField(max_length=255)
    name = serializers.CharField(max_length=255)
    owner_id = serializers.CharField()
    rule_ids = serializers.ListField(child=serializers.CharField())
    start_date = DateTimeOnly()
    due_date = DateTimeOnly(required=False, allow_null=True)
    status = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)
    entity_scope = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)
    guidance = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)


class CampaignUpdateAttributesInput(CampaignAttributesInput):
    """PUT: name, owner_id, rule_ids, start_date and status required; key optional (seed 003)."""

    key = serializers.CharField(max_length=255, required=False)
    status = serializers.CharField()


def _problems(errors, prefix: str = "data.attributes") -> list[Problem]:
    found = []
    for field, value in errors.items():
        path = f"{prefix}.{field}"
        if isinstance(value, dict):
            found.extend(_problems(value, path))
        else:
            found.extend(Problem(str(message), path=path) for message in value)
    return found


def _attributes(request, serializer_class) -> dict:
    body = request.data
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ValidationFailed(problems=[Problem("a JSON:API document with a data object is required", path="data")])
    if data.get("type") != "campaign":
        raise ValidationFailed(problems=[Problem(f"must be 'campaign', not {data.get('type')!r}", path="data.type")])
    attributes = data.get("attributes")
    if not isinstance(attributes, dict):
        raise ValidationFailed(problems=[Problem("an attributes object is required", path="data.attributes")])
    serializer = serializer_class(data=attributes)
    if not serializer.is_valid():
        raise ValidationFailed(problems=_problems(serializer.errors))
    return dict(serializer.validated_data)


def _under_attributes(exc: ValidationFailed) -> ValidationFailed:
    """Service problems name model fields; the API points at them inside the document."""
    return ValidationFailed(
        problems=[
            Problem(p.message, path=f"data.attributes.{p.path}" if p.path else "", line=p.line, column=p.column)
            for p in exc.problems
        ]
    )


def _owner(value: str) -> uuid.UUID:
    try:
        return parse_uuid(value, path="owner_id")
    except ValidationFailed as exc:
        raise _under_attributes(exc) from None


def _text(value) -> str:
    return value or ""


# --- views -----------------------------------------------------------------------------------------


class CampaignListView(DatadogView):
    error_shape = OBJECTS  # seed 003: JSON:API error objects (its 429 stays a list of strings)
    required_permissions = {"GET": "campaigns.view_campaign", "POST": "campaigns.add_campaign"}

    @extend_schema(
        tags=TAG,
        operation_id="ListScorecardCampaigns",
        summary="List all campaigns",
        parameters=[
            OpenApiParameter("page[limit]", int),
            OpenApiParameter("page[offset]", int),
            OpenApiParameter("filter[campaign][name]", str),
            OpenApiParameter("filter[campaign][status]", str, enum=CampaignStatus.values),
            OpenApiParameter("filter[campaign][owner]", str),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        page = OffsetPage.from_request(request, size_param="page[limit]", default=LIST_DEFAULT, maximum=LIST_MAX)
        params = request.query_params
        try:
            queryset = campaign_list(
                name=params.get("filter[campaign][name]", ""),
                status=params.get("filter[campaign][status]", ""),
                owner=params.get("filter[campaign][owner]", ""),
            )
        except ValidationFailed as exc:
            raise ValidationFailed(
                problems=[Problem(p.message, path=f"filter[campaign][{p.path}]") for p in exc.problems]
            ) from None
        total = queryset.count()
        rows = list(page.slice(queryset)) if page.offset < total else []
        return Response({"data": [campaign_resource(c) for c in rows], "meta": page.meta(total)})

    @extend_schema(
        tags=TAG,
        operation_id="CreateScorecardCampaign",
        summary="Create a new campaign",
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request):
        attrs = _attributes(request, CampaignAttributesInput)
        owner = _owner(attrs["owner_id"])
        try:
            campaign = campaign_create(
                key=attrs["key"], name=attrs["name"], owner=owner, rule_ids=attrs["rule_ids"],
                start_date=attrs["start_date"], due_date=attrs.get("due_date"),
                status=attrs.get("status") or CampaignStatus.NOT_STARTED,
                description=_text(attrs.get("description")), entity_scope=_text(attrs.get("entity_scope")),
                guidance=_text(attrs.get("guidance")),
            )  # fmt: skip
        except ValidationFailed as exc:
            raise _under_attributes(exc) from None
        return Response({"data": campaign_resource(campaign)}, status=status.HTTP_201_CREATED)


class CampaignDetailView(DatadogView):
    error_shape = OBJECTS  # seed 003: JSON:API error objects (its 429 stays a list of strings)
    required_permissions = {
        "GET": "campaigns.view_campaign",
        "PUT": "campaigns.change_campaign",
        "DELETE": "campaigns.delete_campaign",
    }

    @extend_schema(
        tags=TAG,
        operation_id="GetScorecardCampaign",
        summary="Get a campaign",
        parameters=[OpenApiParameter("include", str), OpenApiParameter("include_meta", bool)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, campaign_id: str):
        includes = {part.strip() for part in request.query_params.get("include", "").split(",") if part.strip()}
        unknown = sorted(includes - INCLUDES)
        if unknown:
            raise exceptions.ValidationError({"include": f"only {', '.join(sorted(INCLUDES))}, not {unknown}"})
        include_meta = query_bool(request, "include_meta")
        campaign = campaign_get(id_or_key=campaign_id)
        body: dict = {"data": campaign_resource(campaign)}
        if "rules" in includes or include_meta:
            rules = list(campaign.rules.select_related("scorecard", "level").order_by("scorecard__name", "position"))
        if includes:
            body["data"]["relationships"] = {}
            body["included"] = []
        if "rules" in includes:
            body["data"]["relationships"]["rules"] = {
                "data": [{"id": str(r.identifier), "type": "rule"} for r in rules]
            }
            body["included"] += [
                {
                    "id": str(r.identifier),
                    "type": "rule",
                    "attributes": {"name": r.title, "scorecard_name": r.scorecard.name, "enabled": r.enabled},
                }
                for r in rules
            ]
        if "scores" in includes:
            in_scope = [row[0] for row in campaign_progress_rows(campaign=campaign)]
            scores = [_score_resource(row) for row in campaign_entity_scores(campaign=campaign, entity_ids=in_scope)]
            body["data"]["relationships"]["scores"] = {"data": [{"id": s["id"], "type": "score"} for s in scores]}
            body["included"] += scores
        if include_meta:
            progress = campaign_progress(campaign=campaign)
            body["meta"] = {
                "rule_count": len(rules),
                "entity_count": progress.total,
                "entities_passing": progress.passing,
                "progress": progress.fraction,
            }
        return Response(body)

    @extend_schema(
        tags=TAG,
        operation_id="UpdateScorecardCampaign",
        summary="Update a campaign",
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiTypes.OBJECT},
    )
    def put(self, request, campaign_id: str):
        campaign = campaign_get(id_or_key=campaign_id)
        attrs = _attributes(request, CampaignUpdateAttributesInput)
        owner = _owner(attrs["owner_id"])
        optional = {name: attrs.get(name, UNSET) for name in ("key", "description", "due_date", "entity_scope",
                                                              "guidance")}  # fmt: skip
        for name in ("description", "entity_scope", "guidance"):
            if optional[name] is None:
                optional[name] = ""
        try:
            campaign = campaign_update(
                campaign=campaign, name=attrs["name"], owner=owner, rule_ids=attrs["rule_ids"],
                start_date=attrs["start_date"], status=attrs["status"], **optional,
            )  # fmt: skip
        except ValidationFailed as exc:
            raise _under_attributes(exc) from None
        return Response({"data": campaign_resource(campaign)})

    @extend_schema(
        tags=TAG,
        operation_id="DeleteScorecardCampaign",
        summary="Delete a campaign",
        request=None,
        responses={204: None},
    )
    def delete(self, request, campaign_id: str):
        campaign_delete(campaign=campaign_get(id_or_key=campaign_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
