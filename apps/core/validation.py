"""Checking parsed YAML documents field by field, collecting every problem with its path and line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from apps.core.errors import Problem, ValidationFailed
from apps.core.yamlio import line_of

_TYPE_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "a mapping",
}


def describe(types: tuple[type, ...]) -> str:
    return " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)


def yaml_type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class Checker:
    """Collects problems for one document. Each check returns the value (or None) so code stays linear."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, message: str, path: str, line: int | None, column: int | None = None) -> None:
        self.errors.append(Problem(message, path=path, line=line, column=column, source=self.source))

    def warn(self, message: str, path: str, line: int | None) -> None:
        self.warnings.append(Problem(message, path=path, line=line, source=self.source, severity="warning"))

    def field(
        self,
        node: dict,
        key: str,
        types: tuple[type, ...],
        path: str,
        *,
        required: bool = False,
        default: Any = None,
    ) -> Any:
        """Return node[key] when it has one of `types`; record a problem (at the key's line) otherwise."""
        full = f"{path}.{key}" if path else key
        if not isinstance(node, dict) or key not in node or node[key] is None:
            if required:
                self.error(f"'{key}' is required", full, line_of(node))
            return default
        value = node[key]
        if bool not in types and isinstance(value, bool):
            self.error(f"must be {describe(types)}, not {yaml_type_name(value)}", full, line_of(node, key))
            return default
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            return value
        if not isinstance(value, types):
            self.error(f"must be {describe(types)}, not {yaml_type_name(value)}", full, line_of(node, key))
            return default
        if str in types and isinstance(value, str) and required and not value.strip():
            self.error(f"'{key}' must not be empty", full, line_of(node, key))
            return default
        return value

    def mapping(self, node: Any, path: str, line: int | None) -> dict | None:
        if not isinstance(node, dict):
            self.error(f"must be a mapping, not {yaml_type_name(node)}", path, line)
            return None
        return node

    def mappings(self, node: dict, key: str, path: str) -> Iterator[tuple[str, dict]]:
        """Yield (path, item) for each item of the list node[key] that is a mapping; report the others."""
        items = self.field(node, key, (list,), path, default=[])
        full = f"{path}.{key}" if path else key
        for index, item in enumerate(items):
            item_path = f"{full}[{index}]"
            if self.mapping(item, item_path, line_of(items, index)) is not None:
                yield item_path, item

    def string_list(self, node: dict, key: str, path: str) -> list[str]:
        values = self.field(node, key, (list,), path, default=[])
        full = f"{path}.{key}" if path else key
        result = []
        for index, item in enumerate(values):
            if not isinstance(item, str) or not item.strip():
                self.error(
                    f"must be a non-empty string, not {yaml_type_name(item)}",
                    f"{full}[{index}]",
                    line_of(values, index),
                )
            else:
                result.append(str(item))
        return result

    def unknown_keys(self, node: dict, known: set[str], path: str) -> None:
        for key in node:
            if key not in known:
                full = f"{path}.{key}" if path else str(key)
                self.warn(f"unknown field '{key}' is ignored", full, line_of(node, key))

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ValidationFailed(problems=list(self.errors), warnings=list(self.warnings))
