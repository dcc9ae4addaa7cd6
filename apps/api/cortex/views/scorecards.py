"""Cortex v1 scorecard operations: list, get, descriptor (get and apply), delete, scores, badge, next steps,
evaluate now."""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

from django.db.models import Prefetch
from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.cortex import representations as rep
from apps.api.cortex.base import CortexView, Page
from apps.api.cortex.docs import EntityScorecardScoreDoc
from apps.api.cortex.errors import violation
from apps.api.cortex.views.lookups import (
    EDIT_SCORECARDS,
    TAG,
    VIEW_SCORECARDS,
    YAML_BODY,
    entity_for,
    scorecard_body,
    scorecard_for,
    scorecard_rows,
    text_body,
)
from apps.api.params import iso, query_bool, query_list
from apps.catalog.models import Entity, EntityOwner
from apps.evaluations.dashboard import rules_to_next_level
from apps.evaluations.models import EntityScore, RuleResult, RunTrigger
from apps.evaluations.runs import run_start
from apps.exemptions.models import ACTIVE_STATUSES, Exemption
from apps.scorecards.models import Level, Rule, Scorecard
from apps.scorecards.services import scorecard_apply_descriptor, scorecard_delete


class ScorecardListView(CortexView):
    required_permissions = {"GET": VIEW_SCORECARDS}

    @extend_schema(
        tags=TAG,
        operation_id="listScorecards",
        summary="List scorecards",
        parameters=[
            OpenApiParameter("showDrafts", bool),
            OpenApiParameter("groups", str, description="Comma-separated entity groups."),
            OpenApiParameter("entities", str, description="Comma-separated entity tags or ids."),
            OpenApiParameter("teams", str, description="Comma-separated team tags or ids."),
            OpenApiParameter("page", int, description="0-based page, default 0."),
            OpenApiParameter("pageSize", int, description="1..1000, default 250."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request):
        page = Page.from_request(request)
        scorecards = Scorecard.objects.visible_to(request.user).order_by("name", "id")
        if not query_bool(request, "showDrafts"):
            scorecards = scorecards.filter(draft=False)
        groups, entities, teams = (query_list(request, name) for name in ("groups", "entities", "teams"))
        if groups or entities or teams:
            # Search criteria match scorecards through their scores, so unevaluated ones are not found (as Cortex).
            matching = Entity.objects.all()
            if groups:
                matching = matching.in_any_group(groups)
            if entities:
                matching = matching.by_tags_or_ids(entities)
            if teams:
                matching = matching.owned_by_teams(Entity.objects.by_tags_or_ids(teams).values("tag"))
            scorecards = scorecards.filter(
                pk__in=EntityScore.objects.filter(entity__in=matching).values("scorecard_id")
            )
        total = scorecards.count()
        rows = list(page.slice(scorecards))
        levels, rules = scorecard_rows(rows)
        return Response(
            {
                "page": page.number,
                "total": total,
                "totalPages": page.total_pages(total),
                "scorecards": [rep.scorecard_of(s, levels[s.pk], rules[s.pk]) for s in rows],
            }
        )


class ScorecardDetailView(CortexView):
    required_permissions = {"GET": VIEW_SCORECARDS, "DELETE": "scorecards.delete_scorecard"}

    @extend_schema(
        tags=TAG, operation_id="getScorecard", summary="Retrieve a scorecard", responses={200: OpenApiTypes.OBJECT}
    )
    def get(self, request, tag: str):
        return Response({"scorecard": scorecard_body(scorecard_for(request, tag))})

    @extend_schema(
        tags=TAG, operation_id="deleteScorecard", summary="Delete a scorecard", request=None, responses={200: None}
    )
    def delete(self, request, tag: str):
        scorecard_delete(tag=scorecard_for(request, tag).tag)
        return HttpResponse(status=200)


class ScorecardDescriptorApplyView(ScorecardDetailView):
    """POST creates or updates from YAML. The path also names a scorecard tagged "descriptor" for GET/DELETE."""

    required_permissions = {**ScorecardDetailView.required_permissions, "POST": EDIT_SCORECARDS}

    @extend_schema(exclude=True)
    def get(self, request):
        return super().get(request, tag="descriptor")

    @extend_schema(exclude=True)
    def delete(self, request):
        return super().delete(request, tag="descriptor")

    @extend_schema(
        tags=TAG,
        operation_id="createOrUpdateScorecard",
        summary="Create or update a scorecard from its descriptor YAML",
        parameters=[OpenApiParameter("dryRun", bool, description="Validate only; write nothing.")],
        request=YAML_BODY,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        dry_run = bool(query_bool(request, "dryRun", default=False))
        result = scorecard_apply_descriptor(text=text_body(request), source="descriptor", dry_run=dry_run)
        body: dict = {"warnings": [violation(w) for w in result.warnings]}
        if dry_run:
            body["valid"] = True
            if result.scorecard is not None:
                body["scorecard"] = scorecard_body(result.scorecard)
            elif result.would_create is not None:
                body["scorecard"] = rep.scorecard_of(*result.would_create)
            return Response(body)
        scorecard = result.scorecard
        assert scorecard is not None  # set by every apply that did not raise
        body["scorecard"] = scorecard_body(scorecard)
        return Response(body)


class ScorecardDescriptorView(CortexView):
    required_permissions = {"GET": VIEW_SCORECARDS}

    def perform_content_negotiation(self, request, force=False):
        # The answer is YAML text whatever JSON renderer is chosen: `Accept: application/yaml` must not be a 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        tags=TAG,
        operation_id="getScorecardDescriptor",
        summary="Retrieve a scorecard's descriptor YAML",
        responses={(200, "application/yaml"): str},
    )
    def get(self, request, tag: str):
        from apps.scorecards.descriptors import scorecard_export

        return HttpResponse(
            scorecard_export(scorecard_for(request, tag)), content_type="application/yaml; charset=utf-8"
        )


class ScorecardScoresView(CortexView):
    required_permissions = {"GET": VIEW_SCORECARDS}

    @extend_schema(
        tags=TAG,
        operation_id="getScorecardScores",
        summary="Latest scores of every entity in a scorecard",
        parameters=[
            OpenApiParameter("entityTag", str),
            OpenApiParameter("page", int, description="0-based page, default 0."),
            OpenApiParameter("pageSize", int, description="1..1000, default 250."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag: str):
        scorecard = scorecard_for(request, tag)
        page = Page.from_request(request)
        scores = (
            EntityScore.objects.filter(scorecard=scorecard)
            .select_related("entity", "level")
            .prefetch_related(
                Prefetch("entity__owners", queryset=EntityOwner.objects.order_by("kind", "name", "email"))
            )
            .order_by("entity__tag")
        )
        entity_tag = request.query_params.get("entityTag")
        if entity_tag:
            scores = scores.filter(entity__in=Entity.objects.by_tag_or_id(entity_tag))
        total = scores.count()
        rows = list(page.slice(scores))
        entity_ids = [s.entity_id for s in rows]
        rules = {r.pk: r for r in Rule.objects.filter(scorecard=scorecard).order_by("position", "id")}
        order = {rule_id: index for index, rule_id in enumerate(rules)}
        results: dict[int, list[RuleResult]] = defaultdict(list)
        for result in RuleResult.objects.filter(scorecard=scorecard, entity_id__in=entity_ids).only(
            "entity_id", "rule_id", "state", "message"
        ):
            results[result.entity_id].append(result)
        exemptions: dict[int, list[Exemption]] = defaultdict(list)
        for exemption in (
            Exemption.objects.filter(scorecard=scorecard, entity_id__in=entity_ids, status__in=ACTIVE_STATUSES)
            .select_related("rule", "requested_by", "decided_by")
            .order_by("requested_at", "id")
        ):
            exemptions[exemption.entity_id].append(exemption)
        return Response(
            {
                "scorecardTag": scorecard.tag,
                "scorecardName": scorecard.name,
                "scorecardFilter": rep.filter_of(scorecard.filter),
                "page": page.number,
                "total": total,
                "totalPages": page.total_pages(total),
                "serviceScores": [
                    rep.service_score_of(
                        score,
                        rules,
                        sorted(results[score.entity_id], key=lambda r: order.get(r.rule_id, 0)),
                        exemptions[score.entity_id],
                    )
                    for score in rows
                ],
            }
        )


class EntityScorecardScoresView(CortexView):
    required_permissions = {"GET": VIEW_SCORECARDS}

    @extend_schema(
        tags=TAG,
        operation_id="getEntityScorecardScores",
        summary="Every scorecard score of one entity",
        responses={200: EntityScorecardScoreDoc(many=True)},
    )
    def get(self, request, tag_or_id: str):
        entity = entity_for(tag_or_id)
        scores = (
            EntityScore.objects.filter(entity=entity, scorecard__in=Scorecard.objects.visible_to(request.user))
            .select_related("scorecard", "level")
            .order_by("scorecard__name", "scorecard_id")
        )
        return Response(
            [
                {
                    "scorecardName": s.scorecard.name,
                    "scorecardTag": s.scorecard.tag,
                    "score": s.score,
                    "scorePercentage": s.percentage,
                    "totalPossibleScore": s.total_possible,
                    "ladderLevels": [rep.level_of(s.level)] if s.level_id else [],
                    "lastEvaluated": iso(s.evaluated_at),
                }
                for s in scores
            ]
        )


class BadgeView(CortexView):
    required_permissions = {"GET": VIEW_SCORECARDS}

    @extend_schema(
        tags=TAG,
        operation_id="getScorecardBadge",
        summary="A shields.io badge (Markdown) for an entity",
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag: str, tag_or_id: str):
        scorecard = scorecard_for(request, tag)
        entity = entity_for(tag_or_id)
        endpoint = request.build_absolute_uri(
            reverse("reports:badge_json", kwargs={"scorecard_tag": scorecard.tag, "entity_tag": entity.tag})
        )
        page = request.build_absolute_uri(reverse("evaluations:entity", kwargs={"tag": entity.tag}))
        image = f"https://img.shields.io/endpoint?url={quote(endpoint, safe='')}"
        return Response({"value": f"[![{scorecard.name}]({image})]({page})"})


class NextStepsView(CortexView):
    required_permissions = {"GET": VIEW_SCORECARDS}

    @extend_schema(
        tags=TAG,
        operation_id="getScorecardNextSteps",
        summary="Rules left for an entity to reach its next level",
        parameters=[OpenApiParameter("entityTag", str, required=True)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, tag: str):
        scorecard = scorecard_for(request, tag)
        entity_tag = request.query_params.get("entityTag", "").strip()
        if not entity_tag:
            raise exceptions.ValidationError({"entityTag": "is required"})
        entity = entity_for(entity_tag)
        score = EntityScore.objects.filter(scorecard=scorecard, entity=entity).select_related("level").first()
        if score is None:
            # Not evaluated yet: nothing is known about it, so nothing is claimed.
            return Response({"nextSteps": []})
        levels = {lv.rank: lv for lv in Level.objects.filter(scorecard=scorecard)}
        rules = list(Rule.objects.filter(scorecard=scorecard).select_related("level").order_by("position", "id"))
        states = dict(RuleResult.objects.filter(scorecard=scorecard, entity=entity).values_list("rule_id", "state"))
        target, todo = rules_to_next_level(
            rules, states, current=score.level.rank if score.level is not None else None, level_ranks=levels
        )
        if target is None:
            return Response({"nextSteps": []})
        return Response(
            {
                "nextSteps": [
                    {
                        "currentLevel": rep.level_of(score.level),
                        "nextLevel": rep.level_of(levels[target]),
                        "rulesToComplete": [
                            {
                                "identifier": str(r.identifier),
                                "title": r.title,
                                "expression": r.expression,
                                "description": r.description,
                                "failureMessage": r.failure_message,
                                "levelName": r.level.name if r.level is not None else None,
                            }
                            for r in todo
                        ],
                    }
                ]
            }
        )


class EvaluateEntityView(CortexView):
    required_permissions = {"POST": "scorecards.evaluate_scorecard"}

    @extend_schema(
        tags=TAG,
        operation_id="evaluateEntityScorecard",
        summary="Evaluate one entity against a scorecard now (409 while that scorecard is being evaluated)",
        request=None,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request, tag: str, entity_tag: str):
        scorecard = scorecard_for(request, tag)
        entity = entity_for(entity_tag)
        run = run_start(scorecard=scorecard, trigger=RunTrigger.API, by=request.user, entity_ids=[entity.pk])
        return Response({"runId": run.pk, "status": run.status, "entityTag": entity.tag, "scorecardTag": scorecard.tag})
