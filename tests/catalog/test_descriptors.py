"""Descriptor helpers of the catalog: merging a partial descriptor into a stored one, and refusing hostile ones."""

from __future__ import annotations

import time

import pytest

from apps.catalog.descriptors import merge_descriptor
from apps.core.errors import ValidationFailed


def test_merge_descriptor_merges_mappings_and_replaces_the_rest():
    base = {"info": {"title": "A", "x-cortex-groups": ["a", "b"], "x-cortex-custom-metadata": {"k": 1, "j": 2}}}
    patch = {"info": {"x-cortex-groups": ["c"], "x-cortex-custom-metadata": {"k": {"value": 3}}}}
    merged = merge_descriptor(base, patch)
    assert merged == {
        "info": {"title": "A", "x-cortex-groups": ["c"], "x-cortex-custom-metadata": {"k": {"value": 3}, "j": 2}}
    }
    assert base["info"]["x-cortex-groups"] == ["a", "b"]  # arguments untouched


def test_merge_descriptor_appends_without_duplicates_and_drops_marked_keys():
    base = {"info": {"x-cortex-groups": ["a", "b"], "x-cortex-owners": [{"type": "email", "email": "x@example.com"}]}}
    patch = {
        "info": {
            "x-cortex-groups": ["b", "c"],
            "x-cortex-owners": [{"type": "email", "email": "x@example.com"}, {"type": "group", "name": "t"}],
            "description": "__delete__",
        }
    }
    merged = merge_descriptor(base, patch, append_arrays=True, delete_marker="__delete__")
    assert merged["info"]["x-cortex-groups"] == ["a", "b", "c"]
    assert merged["info"]["x-cortex-owners"] == [
        {"type": "email", "email": "x@example.com"},
        {"type": "group", "name": "t"},
    ]
    assert "description" not in merged["info"]
    # Without a marker, the marker's text is just a value.
    assert merge_descriptor({}, patch)["info"]["description"] == "__delete__"


# --- hostile descriptors (issue 13): refused fast, naming where, writing nothing -----------------------------------

_ENTITY = "openapi: 3.0.1\ninfo:\n  title: Payments\n  x-cortex-tag: payments\n  x-cortex-type: service\n"

# (descriptor text, line of the problem, message)
HOSTILE = {
    "nul-in-a-value": (_ENTITY.replace("title: Payments", "title: Pay\x00ments"), 3, "holds a NUL character"),
    "nul-in-a-key": (_ENTITY + "  x-cortex-custom-metadata:\n    ti\x00er: 1\n", 7, "holds a NUL character"),
    "5mb": (_ENTITY + "#" * (5 << 20), None, "characters long; at most 1,048,576"),
    "nested-1000-deep": (_ENTITY + "  x-cortex-custom-metadata: " + "[" * 1_000 + "]" * 1_000, 6, "nests more than 64"),
    "nested-1000-deep-block": (
        _ENTITY + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(1_000)), 69, "nests more than 64"
    ),
    "alias-bomb": (
        _ENTITY + "x-a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"x-{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8)),
        10, "expands to more than",
    ),
}  # fmt: skip


def _row_counts() -> dict[str, int]:
    from apps.campaigns.models import Campaign
    from apps.catalog.models import Entity
    from apps.evaluations.models import RuleOutcome
    from apps.scorecards.models import Rule, Scorecard

    return {model.__name__: model.objects.count() for model in (Scorecard, Rule, Entity, Campaign, RuleOutcome)}


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["apply", "dry-run", "patch"])
@pytest.mark.parametrize(("text", "line", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_entity_descriptors_are_refused_fast_naming_the_line_and_write_nothing(text, line, message, how):
    from apps.catalog.services import entity_apply_descriptor, entity_patch_descriptor

    before = _row_counts()
    started = time.monotonic()
    with pytest.raises(ValidationFailed) as raised:
        if how == "patch":
            entity_patch_descriptor(text=text, source="hostile.yaml")
        else:
            entity_apply_descriptor(text=text, source="hostile.yaml", dry_run=how == "dry-run")
    elapsed = time.monotonic() - started
    problem = raised.value.problems[0]
    assert message in problem.message, raised.value.problems
    assert (problem.source, problem.line) == ("hostile.yaml", line), problem
    assert elapsed < 5.0, elapsed  # milliseconds; the slack is for a loaded CI machine
    assert _row_counts() == before
