"""JSON bodies as both APIs read them, bounded before any view sees them (issue 13).

DRF's JSONParser reads the whole stream whatever its size, and Python's JSON decoder recurses once per level
(1,000 levels raise RecursionError: a 500). So a body is refused, in the API's own error shape:
- larger than DATA_UPLOAD_MAX_MEMORY_SIZE: RequestDataTooBig, a 413 (as Django refuses `request.body`);
- nested deeper than MAX_JSON_DEPTH: a 400 (the decoder's RecursionError included);
- holding a NUL character (`\\u0000`) in any string or key: a 400 naming where, since PostgreSQL text and jsonb
  cannot store one.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

MAX_JSON_DEPTH = 64  # as YAML documents (apps.core.yamlio.MAX_YAML_DEPTH)


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded JSON value nests arrays and objects more than `limit` deep (`[]` is 1). Iterative, and
    linear in the containers. The text is not scanned instead: skipping strings with a regular expression is
    quadratic on unterminated ones (`"\\"\\"...`)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def read_bounded(stream) -> bytes:
    """The whole stream, or RequestDataTooBig (answered 413) as soon as it passes DATA_UPLOAD_MAX_MEMORY_SIZE,
    without reading the rest: a body without a Content-Length is bounded too."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return stream.read()
    chunks, size = [], 0
    while chunk := stream.read(min(64 * 1024, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise RequestDataTooBig("The request body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE.")
    return b"".join(chunks)


def nul_path(value: Any) -> str | None:
    """Where the first NUL character is in a decoded JSON value, keys included (`data.attributes.name`,
    `values[2]`; `(body)` for a bare string), or None. Iterative: depth is already bounded, but need not be."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or "(body)"
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                where = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    return where.replace("\x00", "\\u0000")
                stack.append((where, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{index}]", child) for index, child in reversed(list(enumerate(item))))
    return None


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser with the bounds above."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = read_bounded(stream)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        too_deep = exceptions.ParseError(f"The JSON body nests more than {MAX_JSON_DEPTH} levels deep.")
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as exc:  # a syntax error, or a number of more than 4,300 digits
            raise exceptions.ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:  # the decoder recurses once a level: ~1,000 levels end here, at once
            raise too_deep from None
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH and json_depth_exceeds(data):
            raise too_deep
        if "\\u0000" in text and (where := nul_path(data)) is not None:
            # Keyed by the top-level field, as the fields' own checks are (`customData: ...`), saying where within.
            field = where.split(".", 1)[0].split("[", 1)[0]
            within = f" (at {where!r})" if where != field else ""
            raise exceptions.ValidationError({field: f"must not hold a NUL character{within}"})
        return data


class BoundedJsonApiParser(BoundedJSONParser):
    media_type = "application/vnd.api+json"
