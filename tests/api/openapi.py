"""The OpenAPI schema both APIs publish, and checks of real answers against it (for test_schema and
test_schemathesis)."""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def api_schema() -> dict:
    """The schema as /api/schema serves it (generated once per test process: it needs no database)."""
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str, dict]]:
    """(path, method, operation) for every operation of both APIs."""
    return [
        (path, method, operation)
        for path, item in api_schema()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's schema dialect as JSON Schema: `nullable: true` becomes a "null" type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        elif "$ref" in out or "allOf" in out or "oneOf" in out:
            out = {"anyOf": [out, {"type": "null"}]}
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def find_operation(method: str, url_path: str) -> tuple[str, dict]:
    """The documented (template, operation) a concrete path answers for."""
    candidates = []
    for path, item in api_schema()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"
        if re.match(pattern, url_path) and method.lower() in item:
            # Fixed segments win over parameters, as the URLconf orders them.
            candidates.append((path.count("{"), path, item[method.lower()]))
    assert candidates, f"{method} {url_path} is not in the schema"
    _, path, operation = min(candidates)
    return path, operation


def assert_conforms(response, method: str, url_path: str) -> None:
    """The status is documented for the operation, with the answer's content type, and the body validates
    against the documented schema."""
    path, operation = find_operation(method, url_path)
    status = str(response.status_code)
    documented = operation["responses"]
    assert status in documented, f"{method} {path} answered {status}; documented: {sorted(documented)}"
    content = documented[status].get("content")
    if not content:
        assert not response.content, f"{method} {path} {status} documents no body but sent {response.content[:200]!r}"
        return
    media_type = response["Content-Type"].split(";")[0].strip()
    assert media_type in content, f"{method} {path} {status}: {media_type} not in {sorted(content)}"
    if media_type.endswith("json"):
        body = response.json()
    else:
        body = response.content.decode()
    schema = {**_json_schema(content[media_type]["schema"]), "components": _json_schema(api_schema()["components"])}
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"
