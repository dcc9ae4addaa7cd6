"""Public badges: no sign-in, cached for five minutes, conditional GET by ETag / Last-Modified.

An unknown scorecard or entity answers 404 with a badge (SVG or shields.io JSON) that says "not found",
so a README shows a readable badge instead of a broken image.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_safe

from apps.reports.badges import Badge
from apps.reports.selectors import BadgeNotFound, badge_get

BADGE_MAX_AGE = 300
NOT_FOUND_MAX_AGE = 60  # a typo fixed, or an entity just imported, shows its real badge soon


def _badge_body(badge: Badge, kind: str, *, status: int = 200) -> HttpResponse:
    if kind == "svg":
        return HttpResponse(badge.as_svg(), content_type="image/svg+xml; charset=utf-8", status=status)
    return HttpResponse(json.dumps(badge.as_json()), content_type="application/json", status=status)


def _badge_response(request: HttpRequest, scorecard_tag: str, entity_tag: str, *, kind: str) -> HttpResponse:
    try:
        badge, evaluated_at = badge_get(scorecard_tag=scorecard_tag, entity_tag=entity_tag)
    except BadgeNotFound as missing:
        not_found = _badge_body(missing.badge, kind, status=404)
        patch_cache_control(not_found, max_age=NOT_FOUND_MAX_AGE, public=True)
        return not_found
    stamp = evaluated_at.isoformat() if evaluated_at else "-"
    etag = quote_etag(f"{kind}-{badge.etag}-{stamp}")
    last_modified = int(evaluated_at.timestamp()) if evaluated_at else None
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = _badge_body(badge, kind)
    response.headers["ETag"] = etag
    if last_modified is not None:
        response.headers["Last-Modified"] = http_date(last_modified)
    patch_cache_control(response, max_age=BADGE_MAX_AGE, public=True)
    return response


@require_safe
def badge_svg(request: HttpRequest, scorecard_tag: str, entity_tag: str) -> HttpResponse:
    return _badge_response(request, scorecard_tag, entity_tag, kind="svg")


@require_safe
def badge_json(request: HttpRequest, scorecard_tag: str, entity_tag: str) -> HttpResponse:
    return _badge_response(request, scorecard_tag, entity_tag, kind="json")
