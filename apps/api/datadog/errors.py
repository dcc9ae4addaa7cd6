"""JSON:API errors, `{"errors": [{status, title, detail}]}`, for every failure of the v2 API."""

from __future__ import annotations

from rest_framework.response import Response

from apps.api.errors import Failure, crash, failure_of


def datadog_body(failure: Failure) -> dict:
    if failure.problems:
        errors = []
        for problem in failure.problems:
            error: dict[str, str | dict[str, str]] = {
                "status": str(failure.status),
                "title": failure.title,
                "detail": str(problem),
            }
            if problem.path:
                error["source"] = {"pointer": "/" + problem.path.replace(".", "/")}
            errors.append(error)
        return {"errors": errors}
    return {"errors": [{"status": str(failure.status), "title": failure.title, "detail": failure.detail}]}


def datadog_exception_handler(exc, context) -> Response:
    failure = failure_of(exc) or crash(exc, context["request"])
    if failure.status == 401:
        # Datadog answers bad or missing credentials with 403 (API_CONTRACT §4).
        failure.status = 403
    return Response(datadog_body(failure), status=failure.status, headers=failure.headers)
