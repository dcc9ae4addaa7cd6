"""Datadog v2 `GET /api/v2/scorecard/scorecards`, and the JSON:API helpers the rules and outcomes views share.

Ids on the wire (API_CONTRACT §3, §4): a scorecard's id is its `tag`, a rule's id its `identifier`
(UUID), an outcome's id `<rule id>\\<service name>` as the real server writes it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from apps.api.datadog.base import DatadogView, OffsetPage
from apps.api.datadog.errors import OBJECTS
from apps.api.params import iso, query_list
from apps.scorecards.models import Scorecard
from apps.scorecards.selectors import scorecard_list

TAGS = ["Datadog v2"]
VIEW_SCORECARDS = "scorecards.view_scorecard"
EDIT_SCORECARDS = "scorecards.change_scorecard"
# Pushing outcomes feeds evaluation: Editors (and Admins) may, Viewers and Approvers may not.
PUSH_OUTCOMES = "scorecards.evaluate_scorecard"

PAGE_DEFAULT = 100  # what the real server uses (its `links.next` examples); the SDK helpers send 10
PAGE_MAX = 100  # "The maximum allowed value is 100" (seed 003)
_OFFSET_MAX = 2**62  # beyond any table; keeps the SQL OFFSET an integer the database accepts

SCORECARD_FIELDS = ("name", "description", "created_at", "modified_at")


# --- shared JSON:API helpers ---------------------------------------------------------------------


def sparse_fields(request, resource: str, allowed: tuple[str, ...]) -> tuple[str, ...] | None:
    """`fields[<resource>]=a,b`: the attributes to keep, in the order given; unknown names are a 400."""
    name = f"fields[{resource}]"
    wanted = query_list(request, name)
    if wanted is None:
        return None
    unknown = [field for field in wanted if field not in allowed]
    if unknown:
        raise exceptions.ValidationError(
            {name: f"unknown field {', '.join(unknown)}; choose from {', '.join(allowed)}"}
        )
    return tuple(wanted)


def keep(attributes: dict, fields: tuple[str, ...] | None) -> dict:
    return attributes if fields is None else {key: attributes[key] for key in fields}


def includes(request, allowed: tuple[str, ...]) -> set[str]:
    wanted = query_list(request, "include") or []
    unknown = [value for value in wanted if value not in allowed]
    if unknown:
        raise exceptions.ValidationError(
            {"include": f"cannot include {', '.join(unknown)}; choose from {', '.join(allowed)}"}
        )
    return set(wanted)


def page_of(request, queryset) -> tuple[list, dict]:
    """`page[offset]` + `page[size]` (1..100): exactly `size` rows while more remain, `[]` past the end,
    and `links.next` when another page exists (one row more is fetched to know, no COUNT query)."""
    page = OffsetPage.from_request(request, size_param="page[size]", default=PAGE_DEFAULT, maximum=PAGE_MAX)
    if page.offset >= _OFFSET_MAX:
        return [], {}
    rows = list(queryset[page.offset : page.offset + page.size + 1])
    links = {}
    if len(rows) > page.size:
        rows = rows[: page.size]
        params = {k: v for k, v in request.query_params.items() if k not in ("page[offset]", "page[size]")}
        params["page[offset]"] = page.offset + page.size
        params["page[size]"] = page.size
        links["next"] = f"{request.path}?{urlencode(params)}"
    return rows, links


# --- scorecards ----------------------------------------------------------------------------------


def scorecard_attributes(scorecard: Scorecard) -> dict:
    return {
        "name": scorecard.name,
        "description": scorecard.description,
        "created_at": iso(scorecard.created_at),
        "modified_at": iso(scorecard.updated_at),
    }


def scorecard_resource(scorecard: Scorecard, fields: tuple[str, ...] | None = None) -> dict:
    return {"id": scorecard.tag, "type": "scorecard", "attributes": keep(scorecard_attributes(scorecard), fields)}


class ScorecardListView(DatadogView):
    error_shape = OBJECTS  # seed 003: JSON:API error objects (its 429 stays a list of strings)
    required_permissions = {"GET": VIEW_SCORECARDS}

    @extend_schema(
        tags=TAGS,
        operation_id="ListScorecards",
        summary="List all scorecards",
        parameters=[
            OpenApiParameter("page[offset]", int, description="0 or more; past the end the page is empty."),
            OpenApiParameter("page[size]", int, description=f"1..{PAGE_MAX}, default {PAGE_DEFAULT}."),
            OpenApiParameter("filter[scorecard][id]", str, description="Scorecard tag(s), comma-separated."),
            OpenApiParameter("filter[scorecard][name]", str, description="Partial, case-insensitive."),
            OpenApiParameter("filter[scorecard][description]", str, description="Partial, case-insensitive."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        scorecards = scorecard_list(
            user=request.user,
            tags=query_list(request, "filter[scorecard][id]"),
            name=request.query_params.get("filter[scorecard][name]"),
            description=request.query_params.get("filter[scorecard][description]"),
        )
        rows, links = page_of(request, scorecards)
        return Response({"data": [scorecard_resource(s) for s in rows], "links": links})
