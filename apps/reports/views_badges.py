"""Public badges: no sign-in, cached for five minutes, conditional GET by ETag / Last-Modified."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_safe

from apps.reports.selectors import badge_get

BADGE_MAX_AGE = 300


def _badge_response(request: HttpRequest, scorecard_tag: str, entity_tag: str, *, kind: str) -> HttpResponse:
    badge, evaluated_at = badge_get(scorecard_tag=scorecard_tag, entity_tag=entity_tag)
    stamp = evaluated_at.isoformat() if evaluated_at else "-"
    etag = quote_etag(f"{kind}-{badge.etag}-{stamp}")
    last_modified = int(evaluated_at.timestamp()) if evaluated_at else None
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        if kind == "svg":
            response = HttpResponse(badge.as_svg(), content_type="image/svg+xml; charset=utf-8")
        else:
            response = HttpResponse(json.dumps(badge.as_json()), content_type="application/json")
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
