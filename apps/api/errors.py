"""One translation of failures into (status, title, detail) that each protocol renders in its own shape.

Both APIs answer every failure in their vendor's JSON shape, never an HTML page: DRF exceptions,
service refusals (ApplicationError), unknown paths (handler404) and crashes (handler500).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions

from apps.core.errors import ApplicationError, Problem, ValidationFailed

logger = logging.getLogger(__name__)

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
}
_CODE_STATUS = {"not_found": 404, "permission_denied": 403, "conflict": 409}


@dataclass
class Failure:
    status: int
    detail: str
    problems: list[Problem] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES.get(self.status, "Error")


def _flatten(detail, prefix: str = "") -> list[str]:
    """DRF error details (nested dicts and lists) as 'field: message' lines."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            lines.extend(_flatten(value, "" if key == "non_field_errors" else name))
        return lines
    if isinstance(detail, list):
        return [line for item in detail for line in _flatten(item, prefix)]
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def failure_of(exc: BaseException) -> Failure | None:
    """The failure an exception stands for, or None for an unexpected crash (logged, answered 500)."""
    if isinstance(exc, ValidationFailed):
        return Failure(400, "; ".join(str(p) for p in exc.problems) or exc.message, problems=list(exc.problems))
    if isinstance(exc, ApplicationError):
        return Failure(_CODE_STATUS.get(exc.code, 400), exc.message)
    if isinstance(exc, Http404):
        return Failure(404, str(exc) or "Not found.")
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Failure(413, f"The request body is larger than the {limit} bytes this server accepts.")
    if isinstance(exc, PermissionDenied):
        return Failure(403, str(exc) or "You do not have permission to perform this action.")
    if isinstance(exc, exceptions.APIException):
        headers = {}
        wait = getattr(exc, "wait", None)  # Throttled's seconds to wait
        if wait:
            headers["Retry-After"] = str(int(wait + 0.999))
        detail = exc.detail
        text = "; ".join(_flatten(detail)) if isinstance(detail, dict | list) else str(detail)
        return Failure(exc.status_code, text, headers=headers)
    return None


def crash(exc: BaseException, request) -> Failure:
    logger.error("API request %s %s failed", request.method, request.path, exc_info=exc)
    return Failure(500, "The server failed to handle this request; the error was logged.")


# --- Django-level handlers, for paths no API view matched and crashes outside DRF -----------------


def _render(request: HttpRequest, failure: Failure, *, view_shape: bool = False) -> JsonResponse | None:
    from apps.api.cortex.errors import cortex_body
    from apps.api.datadog.errors import OBJECTS, datadog_body

    if request.path.startswith("/api/v1/"):
        return JsonResponse(cortex_body(failure), status=failure.status)
    if request.path.startswith("/api/v2/"):
        shape = _error_shape(request) if view_shape else OBJECTS
        return JsonResponse(datadog_body(failure, shape), status=failure.status)
    return None


def render_failure(request: HttpRequest, failure: Failure) -> JsonResponse | None:
    """A failure found before any view (middleware), in the shape of the API at the request's path; None for
    a page."""
    return _render(request, failure, view_shape=True)


def _error_shape(request: HttpRequest):
    """The error shape of the Datadog operation at the request's path (its view's `error_shape`), so input refused
    before its view (a NUL in the URL, a body too large) answers in that operation's shape, as the view would."""
    from django.urls import Resolver404, resolve

    from apps.api.datadog.errors import OBJECTS

    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return OBJECTS
    return getattr(getattr(view, "view_class", None), "error_shape", OBJECTS)


def page_not_found(request: HttpRequest, exception=None):
    from django.views import defaults

    response = _render(request, Failure(404, f"No API operation at {request.path}."))
    return response or defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception=None):
    """A request refused before any view (e.g. NUL characters in the URL). A SuspiciousOperation's own text
    (say, about ALLOWED_HOSTS) is for the log, not the client."""
    from django.core.exceptions import BadRequest
    from django.views import defaults

    if isinstance(exception, RequestDataTooBig):
        failure = failure_of(exception) or Failure(413, "The request body is too large.")
        # Pages answer 413 too (a form posted from the dashboard), in plain text: nothing else can be read.
        return _render(request, failure, view_shape=True) or HttpResponse(
            failure.detail, status=413, content_type="text/plain"
        )
    message = str(exception) if isinstance(exception, BadRequest) and str(exception) else "Bad request."
    response = _render(request, Failure(400, message), view_shape=True)
    return response or defaults.bad_request(request, exception)


def server_error(request: HttpRequest):
    from django.views import defaults

    response = _render(request, Failure(500, "The server failed to handle this request; the error was logged."))
    return response or defaults.server_error(request)
