"""Errors of the v2 API, in the shape seed 003 gives for each operation.

- `STRINGS`, `{"errors": ["..."]}`: rules, outcomes and scores (their 400/403/404/409), and every 429.
- `OBJECTS`, JSON:API error objects `{"errors": [{status, title, detail, source?, meta?}]}`: campaigns and the
  scorecard list (their 400/403/404), and paths with no operation at all.

A view says which with `error_shape`. In the strings shape each problem is one string, its place in front
(`data.attributes.scope_query: line 1, column 6: ...`); in the objects shape the place is `source.pointer` for
a place in the request document (paths from `data`) and `source.parameter` for a query parameter
(`filter[campaign][status]`, `page[limit]`, `include`), as seed 003's model has them; a line and column go in
`meta`.
"""

from __future__ import annotations

from typing import Literal

from rest_framework import exceptions
from rest_framework.response import Response

from apps.api.errors import Failure, _flatten, crash, failure_of
from apps.core.errors import Problem

ErrorShape = Literal["strings", "objects"]
STRINGS: ErrorShape = "strings"
OBJECTS: ErrorShape = "objects"


def error_strings(failure: Failure, lines: list[str] | None = None) -> list[str]:
    if failure.problems:
        return [_located(problem) for problem in failure.problems]
    return list(lines) if lines else [failure.detail]


def _located(problem) -> str:
    place = f"{problem.path}: " if problem.path else ""
    if problem.line is not None:
        place += f"line {problem.line}, column {problem.column}: " if problem.column else f"line {problem.line}: "
    return place + problem.message


def datadog_body(failure: Failure, shape: ErrorShape = OBJECTS, lines: list[str] | None = None) -> dict:
    if shape == STRINGS or failure.status == 429:
        return {"errors": error_strings(failure, lines)}
    if failure.problems:
        errors = []
        for problem in failure.problems:
            error: dict[str, str | dict] = {
                "status": str(failure.status),
                "title": failure.title,
                "detail": str(problem),
            }
            if problem.path:
                error["source"] = _source(problem.path)
            if problem.line is not None:
                error["meta"] = {"line": problem.line, "column": problem.column}
            errors.append(error)
        return {"errors": errors}
    return {"errors": [{"status": str(failure.status), "title": failure.title, "detail": failure.detail}]}


def _source(path: str) -> dict[str, str]:
    """Where a problem is: a JSON pointer into the request document (a JSON:API body starts at `data`), else the
    query parameter it names."""
    if path == "data" or path.startswith("data."):
        return {"pointer": "/" + path.replace(".", "/")}
    return {"parameter": path}


def _validation_problems(detail, path: str = "") -> list[Problem]:
    """A DRF validation error's nested details as located problems (the places `_flatten` writes in front)."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            name = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            found.extend(_validation_problems(value, name))
        return found
    if isinstance(detail, list):
        return [problem for item in detail for problem in _validation_problems(item, path)]
    return [Problem(str(detail), path=path)]


def datadog_failure(exc) -> tuple[Failure, list[str]]:
    """The failure an exception stands for, and (for a DRF validation error) one line per problem."""
    failure = failure_of(exc)
    if failure is None:
        return failure, []  # type: ignore[return-value]  # the handler turns None into a crash
    if failure.status == 401:
        # Datadog answers bad or missing credentials with 403 (API_CONTRACT §4).
        failure.status = 403
    lines = []
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict | list):
        lines = _flatten(exc.detail)
    return failure, lines


def datadog_exception_handler(exc, context) -> Response:
    failure, lines = datadog_failure(exc)
    if failure is None:
        failure = crash(exc, context["request"])
    shape = getattr(context.get("view"), "error_shape", OBJECTS)
    if shape == OBJECTS and not failure.problems and isinstance(exc, exceptions.ValidationError):
        # One error object per field, each with its `source`, rather than one object with the fields run together.
        failure.problems = _validation_problems(exc.detail)
    return Response(datadog_body(failure, shape, lines), status=failure.status, headers=failure.headers)
