"""YAML reading that keeps line numbers, so every problem in a descriptor can name its line."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from apps.core.errors import Problem, ValidationFailed


def _loader() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def load_yaml(text: str, *, source: str = "") -> Any:
    """Parse YAML text; a syntax error becomes ValidationFailed naming source, line and column."""
    try:
        return _loader().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        message = f"invalid YAML: {exc.problem or exc.context}"
        raise ValidationFailed(problems=[Problem(message, line=line, column=column, source=source)]) from exc
    except YAMLError as exc:
        raise ValidationFailed(problems=[Problem(f"invalid YAML: {exc}", source=source)]) from exc


def line_of(node: Any, key: Any = None) -> int | None:
    """1-based line of `node` itself, or of `node[key]` when a key (or list index) is given."""
    try:
        if key is None:
            return node.lc.line + 1
        if isinstance(node, CommentedMap):
            return node.lc.key(key)[0] + 1
        if isinstance(node, CommentedSeq):
            return node.lc.item(key)[0] + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return None


def plain(value: Any) -> Any:
    """Convert ruamel's round-trip containers and scalars into plain Python values for storage."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def dump_yaml(data: Any) -> str:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
