"""Cortex's error body: {type, message, details, httpStatus, requestId} (the CLI prints message, details
and requestId), plus `violations` for documents refused with findings (the CLI prints each one)."""

from __future__ import annotations

import uuid

from rest_framework.response import Response

from apps.api.errors import Failure, crash, failure_of

TYPES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
}


def violation(problem) -> dict:
    """A finding as the CLI prints it: title, description, pointer (JSON pointer and YAML line), type."""
    pointer = "/" + problem.path.replace("[", ".").replace("]", "").replace(".", "/") if problem.path else ""
    if problem.line is not None:
        where = f"line {problem.line}" + (f", column {problem.column}" if problem.column is not None else "")
        pointer = f"{pointer} ({where})" if pointer else where
    return {
        "title": "Invalid descriptor" if problem.severity == "error" else "Warning",
        "description": problem.message,
        "pointer": pointer,
        "violationType": "ERROR" if problem.severity == "error" else "WARNING",
    }


def cortex_body(failure: Failure) -> dict:
    body = {
        "type": TYPES.get(failure.status, "ERROR"),
        "message": failure.title,
        "details": failure.detail,
        "httpStatus": failure.status,
        "requestId": uuid.uuid4().hex,
    }
    if failure.problems:
        body["violations"] = [violation(p) for p in failure.problems]
    return body


def cortex_exception_handler(exc, context) -> Response:
    failure = failure_of(exc) or crash(exc, context["request"])
    body = cortex_body(failure)
    headers = {**failure.headers, "X-Request-Id": body["requestId"]}
    if failure.status == 401 and getattr(exc, "auth_header", None):
        # As DRF's own handler does: a 401 names the scheme to use (RFC 9110 §11.6.1).
        headers["WWW-Authenticate"] = exc.auth_header
    return Response(body, status=failure.status, headers=headers)
