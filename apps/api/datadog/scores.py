"""Datadog v2 `GET /api/v2/scorecard/scores/{aggregation}` (seed 002, API_CONTRACT §3).

Numbers come from apps.evaluations.aggregates (GROUP BY in the database; see its docstring for what
score / numerator / denominator / totals mean). Decisions:
- An unknown aggregation answers 400 (a bad parameter value, like an unknown sort field), listing the valid ones.
- `page[limit]` 1..1000 (default 100), `page[offset]` >= 0; past the end `data` is empty and `meta` still right.
- `links.next` is present while more rows remain; it repeats the request's filters and sort.
- Wire ids: by-entity = entity `public_id` (relationships entity, service = entity tag when the entity is a
  service, team = first team owner tag); by-rule = rule identifier (relationships rule, scorecard = tag; `level`
  is the rule's ladder rank when it is 1..3, else omitted); by-scorecard = scorecard tag; by-team = team tag;
  by-kind = entity type. Drafts count only for users who may edit scorecards.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from apps.api.datadog.base import DatadogView, OffsetPage
from apps.api.params import query_bool, query_list
from apps.evaluations.aggregates import AGGREGATIONS, SORT_FIELDS, RuleFilter, score_page, teams_of_entities

TAG = ["Datadog v2"]
LIMIT_DEFAULT, LIMIT_MAX = 100, 1000


def rule_filter_from(request) -> RuleFilter:
    ids = query_list(request, "filter[rule][id]")
    rule_ids = None
    if ids is not None:
        try:
            rule_ids = tuple(uuid.UUID(value) for value in ids)
        except ValueError:
            raise exceptions.ValidationError({"filter[rule][id]": "rule ids are UUIDs, comma-separated"}) from None
    levels = query_list(request, "filter[rule][level]")
    level_numbers = None
    if levels is not None:
        if not all(value in ("1", "2", "3") for value in levels):
            raise exceptions.ValidationError({"filter[rule][level]": "levels are 1, 2 or 3, comma-separated"})
        level_numbers = tuple(int(value) for value in levels)
    scorecards = query_list(request, "filter[rule][scorecard_id]")
    return RuleFilter(
        ids=rule_ids,
        name=request.query_params.get("filter[rule][name]", "").strip(),
        levels=level_numbers,
        scorecard_tags=tuple(scorecards) if scorecards is not None else None,
        is_custom=query_bool(request, "filter[rule][is_custom]"),
        is_enabled=query_bool(request, "filter[rule][is_enabled]"),
    )


def _ref(kind: str, ident) -> dict:
    return {"data": {"id": str(ident), "type": kind}}


def score_resource(aggregation: str, row: dict, teams: dict[int, str]) -> dict:
    attributes = {
        "aggregation": aggregation,
        "score": float(row["score"]),
        "numerator": row["numerator"],
        "denominator": row["denominator"],
        "total_entities": row["total_entities"],
        "total_pass": row["total_pass"],
        "total_fail": row["total_fail"],
        "total_skip": row["total_skip"],
        "total_no_data": row["total_no_data"],
    }
    relationships: dict = {}
    ident = row["g_id"]
    if aggregation == "by-entity":
        relationships["entity"] = _ref("entity", ident)
        if row["g_type"] == "service":
            relationships["service"] = _ref("service", row["g_tag"])
        if row["g_entity"] in teams:
            relationships["team"] = _ref("team", teams[row["g_entity"]])
    elif aggregation == "by-rule":
        relationships["rule"] = _ref("rule", ident)
        relationships["scorecard"] = _ref("scorecard", row["g_scorecard"])
        if row["g_level"] in (1, 2, 3):
            attributes["level"] = row["g_level"]
    elif aggregation == "by-scorecard":
        relationships["scorecard"] = _ref("scorecard", ident)
    elif aggregation == "by-team":
        relationships["team"] = _ref("team", ident)
    resource = {"id": str(ident), "type": "score", "attributes": attributes}
    if relationships:
        resource["relationships"] = relationships
    return resource


class ScoreListView(DatadogView):
    required_permissions = {"GET": "evaluations.view_ruleresult"}

    @extend_schema(
        tags=TAG,
        operation_id="ListScorecardScores",
        summary="List all scores",
        parameters=[
            OpenApiParameter("filter[rule][id]", str),
            OpenApiParameter("filter[rule][name]", str),
            OpenApiParameter("filter[rule][level]", str),
            OpenApiParameter("filter[rule][scorecard_id]", str),
            OpenApiParameter("filter[rule][is_custom]", bool),
            OpenApiParameter("filter[rule][is_enabled]", bool),
            OpenApiParameter("sort", str),
            OpenApiParameter("page[limit]", int),
            OpenApiParameter("page[offset]", int),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, aggregation: str):
        if aggregation not in AGGREGATIONS:
            raise exceptions.ValidationError({"aggregation": f"must be one of {', '.join(AGGREGATIONS)}"})
        sort = request.query_params.get("sort", "").strip()
        if sort and sort.removeprefix("-") not in SORT_FIELDS:
            raise exceptions.ValidationError({"sort": f"must be [-] and one of {', '.join(SORT_FIELDS)}"})
        page = OffsetPage.from_request(request, size_param="page[limit]", default=LIMIT_DEFAULT, maximum=LIMIT_MAX)
        rows, total = score_page(
            aggregation=aggregation,
            rule_filter=rule_filter_from(request),
            sort=sort,
            include_drafts=request.user.has_perm("scorecards.change_scorecard"),
            offset=page.offset,
            limit=page.size,
        )
        teams = teams_of_entities(r["g_entity"] for r in rows) if aggregation == "by-entity" and rows else {}
        body: dict[str, Any] = {
            "data": [score_resource(aggregation, row, teams) for row in rows],
            "links": {},
            "meta": page.meta(total),
        }
        if page.offset + page.size < total:
            params = request.query_params.copy()
            params["page[offset]"] = str(page.offset + page.size)
            params["page[limit]"] = str(page.size)
            body["links"]["next"] = f"{request.path}?{urlencode(sorted(params.items()))}"
        return Response(body)
