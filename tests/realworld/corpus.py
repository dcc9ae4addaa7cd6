"""The real-world corpus: scorecards and CQL written by Cortex's users, read from ../shared/realworld/.

It is data kept beside the repository, never copied into it (see its README). A clone on its own
skips these tests with the reason; under CI (`CI=true`) a missing corpus fails them, so the numbers
they hold are always checked there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPUS = Path(os.environ.get("REALWORLD_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "realworld"))
NOT_DESCRIPTORS = {"LICENSE", "README.md", "cql-expressions.tsv"}


def require_corpus() -> Path:
    if not CORPUS.is_dir():
        reason = f"the real-world corpus is not at {CORPUS} (set REALWORLD_DIR)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return CORPUS


def descriptor_files() -> list[Path]:
    """Every scorecard descriptor of the corpus: YAML files, and the one exported without an extension."""
    if not CORPUS.is_dir():
        return []
    return sorted(
        path
        for path in CORPUS.rglob("*")
        if path.is_file() and path.name not in NOT_DESCRIPTORS and path.suffix not in (".md", ".tsv")
    )


def expressions() -> list[str]:
    """The distinct expressions of cql-expressions.tsv, in file order (newlines are written `\\n` there)."""
    if not CORPUS.is_dir():
        return []
    seen: dict[str, None] = {}
    lines = (CORPUS / "cql-expressions.tsv").read_text().splitlines()[1:]
    for line in lines:
        expression = line.split("\t", 1)[0].replace("\\n", "\n")
        seen.setdefault(expression, None)
    return list(seen)


def relative(path: Path) -> str:
    return str(path.relative_to(CORPUS))
