"""Pure descriptor helpers of the catalog: merging a partial descriptor into a stored one."""

from __future__ import annotations

from apps.catalog.descriptors import merge_descriptor


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
