"""`x-cortex-git.<provider>.basepath`: the folder of a monorepo an entity lives in."""

from __future__ import annotations

import pytest

from apps.catalog.descriptors import parse_entity_descriptor
from apps.core.errors import ValidationFailed


@pytest.mark.parametrize(
    ("basepath", "expected"),
    [("services/payments", "services/payments"), ("services/payments/", "services/payments"), (".", ""), ("", "")],
)
def test_git_basepath_is_the_monorepo_folder(basepath, expected):
    from apps.catalog.descriptors import git_basepath

    assert git_basepath({"gitlab": {"repository": "acme/mono", "basepath": basepath}}) == expected
    assert git_basepath(None) == ""


@pytest.mark.parametrize("basepath", ["../elsewhere", "/etc", "a/../../b"])
def test_a_basepath_outside_the_repository_is_refused_with_its_line(basepath):
    text = f"""openapi: 3.0.1
info:
  title: Payments
  x-cortex-tag: payments
  x-cortex-git:
    github:
      repository: acme/mono
      basepath: {basepath}
"""
    with pytest.raises(ValidationFailed) as refused:
        parse_entity_descriptor(text)
    (problem,) = refused.value.problems
    assert problem.path == "info.x-cortex-git.github.basepath"
    assert problem.line == 8
    assert "inside the repository" in problem.message
