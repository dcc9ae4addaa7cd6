"""Middleware shared by every page and both APIs."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse


class RejectNulCharactersMiddleware:
    """A NUL character in the path or the query string answers 400 Bad Request.

    PostgreSQL text cannot hold NUL, so `?q=%00` or `/scorecards/a%00b/` reaching a query would fail in the
    database (a 500) on whichever page reads it first. No tag, search or filter contains one, so the request is
    refused here, once for every page and API. Form and serializer fields already refuse NUL in bodies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            raise BadRequest("NUL characters are not allowed in URLs.")
        return self.get_response(request)
