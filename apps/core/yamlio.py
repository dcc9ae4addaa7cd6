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


# Bounds on what one YAML document may become. Aliases (`*name`) are allowed, but each one repeats its
# anchor's whole node: ten nested aliases of ten make ten billion nodes from a few hundred bytes (an
# "alias bomb"). So the nodes a document expands to are counted, aliases included, before building it.
MAX_YAML_BYTES = 1 << 20
MAX_YAML_NODES = 100_000
MAX_YAML_DEPTH = 64


def _refuse(message: str, *, line: int | None = None, source: str = "") -> ValidationFailed:
    return ValidationFailed(problems=[Problem(message, line=line, source=source)])


def _check_bounds(text: str, source: str) -> None:
    """Count the nodes the document expands to (aliases counted at their anchor's size) and its depth,
    from the parser's events, without building anything."""
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    if len(text) > MAX_YAML_BYTES:
        raise _refuse(f"the document is {len(text):,} characters long; at most {MAX_YAML_BYTES:,}", source=source)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise _refuse("the document holds a NUL character", line=line, source=source)
    sizes: dict[str, int] = {}
    open_nodes: list[list] = []  # [anchor, size so far] of each collection not yet closed
    total = 0
    for event in YAML(typ="rt").parse(text):
        if isinstance(event, AliasEvent):
            size = sizes.get(event.anchor, 1)
        elif isinstance(event, NodeEvent):
            size = 1
        elif isinstance(event, CollectionEndEvent):
            anchor, size = open_nodes.pop()
            if anchor:
                sizes[anchor] = size
            if open_nodes:
                open_nodes[-1][1] += size
            continue
        else:
            continue
        total += size
        if total > MAX_YAML_NODES:
            raise _refuse(
                f"the document expands to more than {MAX_YAML_NODES:,} values (aliases count each time they are used)",
                line=event.start_mark.line + 1,
                source=source,
            )
        if isinstance(event, CollectionStartEvent):
            open_nodes.append([event.anchor, 1])
            if len(open_nodes) > MAX_YAML_DEPTH:
                raise _refuse(
                    f"the document nests more than {MAX_YAML_DEPTH} levels deep",
                    line=event.start_mark.line + 1,
                    source=source,
                )
        elif isinstance(event, NodeEvent) and open_nodes:
            if isinstance(event, AliasEvent) or event.anchor is None:
                open_nodes[-1][1] += size
            else:
                sizes[event.anchor] = 1
                open_nodes[-1][1] += 1


def load_yaml(text: str, *, source: str = "") -> Any:
    """Parse YAML text; a syntax error becomes ValidationFailed naming source, line and column. Documents
    past the bounds above (size, expanded values, depth, a NUL) are refused the same way."""
    try:
        _check_bounds(text, source)
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
