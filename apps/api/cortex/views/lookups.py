"""Lookups and shapes shared by the Cortex v1 views: each raises NotFoundError for what is missing."""

from __future__ import annotations

import uuid
from collections import defaultdict

from rest_framework import exceptions

from apps.api.cortex import representations as rep
from apps.catalog.models import Entity, EntityQuerySet
from apps.core.errors import NotFoundError
from apps.scorecards.models import Level, Rule, Scorecard

TAG = ["Cortex v1"]
VIEW_SCORECARDS = "scorecards.view_scorecard"
EDIT_SCORECARDS = "scorecards.change_scorecard"


def scorecard_for(request, tag: str) -> Scorecard:
    scorecard = Scorecard.objects.visible_to(request.user).filter(tag=tag).first()
    if scorecard is None:
        raise NotFoundError(f"scorecard {tag!r} does not exist")
    return scorecard


def entity_for(tag_or_id: str, queryset: EntityQuerySet | None = None) -> Entity:
    entity = (queryset if queryset is not None else Entity.objects.all()).by_tag_or_id(tag_or_id).first()
    if entity is None:
        raise NotFoundError(f"entity {tag_or_id!r} does not exist")
    return entity


def rule_for(scorecard: Scorecard, identifier: str) -> Rule:
    """By identifier; the title works too, since that is what people see."""
    rules = Rule.objects.filter(scorecard=scorecard)
    try:
        rule = rules.filter(identifier=uuid.UUID(identifier)).first()
    except ValueError:
        rule = None
    rule = rule or rules.filter(title=identifier).first()
    if rule is None:
        raise NotFoundError(f"scorecard {scorecard.tag!r} has no rule {identifier!r}")
    return rule


def text_body(request) -> str:
    try:
        return request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise exceptions.ParseError("The body is not UTF-8 text.") from None


def scorecard_rows(scorecards: list[Scorecard]) -> tuple[dict[int, list[Level]], dict[int, list[Rule]]]:
    ids = [s.pk for s in scorecards]
    levels: dict[int, list[Level]] = defaultdict(list)
    for level in Level.objects.filter(scorecard_id__in=ids).order_by("rank"):
        levels[level.scorecard_id].append(level)
    rules: dict[int, list[Rule]] = defaultdict(list)
    for rule in Rule.objects.filter(scorecard_id__in=ids).select_related("level").order_by("position", "id"):
        rules[rule.scorecard_id].append(rule)
    return levels, rules


def scorecard_body(scorecard: Scorecard) -> dict:
    levels, rules = scorecard_rows([scorecard])
    return rep.scorecard_of(scorecard, levels[scorecard.pk], rules[scorecard.pk])


YAML_BODY = {"application/yaml": {"type": "string"}}


def endpoint_of(method: str | None, path: str | None) -> tuple[str, str]:
    """A dependency's endpoint from query parameters or a body: ("", "") for the whole entity, or an HTTP
    method (any case) with a path; one without the other is a 400 naming the missing one."""
    from apps.catalog.models import DEPENDENCY_PATH_MAX, HTTP_METHODS

    method = (method or "").strip().upper()
    path = path or ""
    if method and method not in HTTP_METHODS:
        raise exceptions.ValidationError({"method": f"must be one of {', '.join(HTTP_METHODS)}, not {method!r}"})
    if len(path) > DEPENDENCY_PATH_MAX:
        raise exceptions.ValidationError({"path": f"must be at most {DEPENDENCY_PATH_MAX} characters"})
    if "\x00" in path:
        raise exceptions.ValidationError({"path": "must not hold NUL characters"})
    if method and not path:
        raise exceptions.ValidationError({"path": "is required when a method is given"})
    if path and not method:
        raise exceptions.ValidationError({"method": "is required when a path is given"})
    return method, path
