"""Middleware shared by every page and both APIs."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse


class RejectNulCharactersMiddleware:
    """A NUL character in the path or the query string answers 400 Bad Request.

    PostgreSQL text cannot hold NUL, so `?q=%00` or `/scorecards/a%00b/` reaching a query would fail in the
    database (a 500) on whichever page reads it first. No tag, search or filter contains one, so the request is
    refused here, once for every page and API, naming where it was (the path, or which query parameter). JSON
    bodies are refused by the APIs' parser (apps.api.parsers), YAML bodies by apps.core.yamlio, and form fields
    by Django's own validators.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = nul_in_url(request)
        if where:
            raise BadRequest(f"NUL characters are not allowed in URLs: {where} holds one.")
        return self.get_response(request)


def nul_in_url(request: HttpRequest) -> str:
    """Where a NUL character is in the request's URL ("the path", "the query parameter 'q'"), or ""."""
    if "\x00" in request.path:
        return "the path"
    for key, values in request.GET.lists():
        if "\x00" in key:
            return f"the name of the query parameter {key.replace(chr(0), '%00')!r}"
        if any("\x00" in value for value in values):
            return f"the query parameter {key!r}"
    return ""
