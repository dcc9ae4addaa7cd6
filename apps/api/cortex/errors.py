"""Cortex's error body: {type, message, details, httpStatus, requestId}, plus `violations` for documents refused
with findings.

How cortexapps-cli prints a refusal decides the shape: a body with a `violations` list (even an empty one) is
printed as "Validation failed" and then only each violation's title and description, so `violations` is sent
only when there are findings, and each finding carries the whole reason. Any other body is printed as
"HTTP Error <status>: <message> - <details> (Request ID: ...)", so `details` always says why. A 429 is
`application/problem+json` (as Cortex's reference says), with RFC 9457's `title`, `status` and `detail` beside
Cortex's own fields.
"""

from __future__ import annotations

import uuid

from rest_framework.response import Response

from apps.api.errors import Failure, crash, failure_of

PROBLEM_JSON = "application/problem+json"

TYPES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
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
    # A finding in a document (it has a YAML line or a source) or in a request's fields.
    invalid = "Invalid descriptor" if problem.line is not None or problem.source else "Invalid request"
    return {
        "title": invalid if problem.severity == "error" else "Warning",
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
    if failure.status == 429:
        body.update(title=failure.title, status=failure.status, detail=failure.detail)
    return body


def cortex_exception_handler(exc, context) -> Response:
    failure = failure_of(exc) or crash(exc, context["request"])
    body = cortex_body(failure)
    headers = {**failure.headers, "X-Request-Id": body["requestId"]}
    if failure.status == 401 and getattr(exc, "auth_header", None):
        # As DRF's own handler does: a 401 names the scheme to use (RFC 9110 §11.6.1).
        headers["WWW-Authenticate"] = exc.auth_header
    content_type = PROBLEM_JSON if failure.status == 429 else None
    return Response(body, status=failure.status, headers=headers, content_type=content_type)
