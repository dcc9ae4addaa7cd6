"""`manage.py test_rule --entity TAG 'EXPRESSION'`: value, state, what it read, and errors with their column."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.catalog.models import Entity
from apps.catalog.services import custom_data_set, entity_apply_descriptor
from tests.integrations.helpers import make_repo

pytestmark = pytest.mark.django_db


def entity(tmp_path, *, git: bool = True) -> str:
    repo = make_repo(tmp_path / "payments", {"README.md": "# Payments\n"}) if git else None
    git_block = f"  x-cortex-git: {{url: {repo}}}\n" if repo else ""
    entity_apply_descriptor(
        text=(
            "openapi: 3.0.1\ninfo:\n  title: Payments\n  x-cortex-tag: payments\n  x-cortex-type: service\n"
            f"  x-cortex-groups: [tier-1]\n{git_block}"
        ),
        source="test",
    )
    return "payments"


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("test_rule", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_the_value_the_state_and_every_fact_read(tmp_path):
    tag = entity(tmp_path)
    custom_data_set(entity=Entity.objects.get(tag=tag), key="coverage", value=91)

    out, _ = run("--entity", tag, 'custom("coverage") >= 80 and git.fileExists("README.md") and custom("x") = null')

    assert out.splitlines() == [
        "entity: payments",
        "value: true (boolean)",
        "as a rule: pass",
        "read:",
        '  custom("coverage") = 91',
        "  git fileExists:README.md = true",
        '  custom("x") = null',
    ]


def test_a_non_boolean_value_is_shown_and_is_an_error_as_a_rule(tmp_path):
    assert entity(tmp_path) == "payments"

    out, _ = run("--entity", "PAYMENTS", "entity.groups().map(g => g.toUpperCase())")

    assert 'value: ["TIER-1"] (list)' in out.splitlines()
    assert "as a rule: error (a rule must give true or false, but this one gave list)" in out.splitlines()


def test_an_integration_that_is_not_configured_says_so(tmp_path):
    tag = entity(tmp_path, git=False)

    out, _ = run("--entity", tag, "jira.numOfIssues() == 0")

    assert "value: none (integration not configured: jira)" in out.splitlines()
    assert "as a rule: not_configured (integration not configured: jira)" in out.splitlines()


def test_a_runtime_error_names_its_column(tmp_path):
    tag = entity(tmp_path, git=False)

    out, _ = run("--entity", tag, "entity.tag() < 3")

    assert "as a rule: error (cannot compare string with number using < (at column 14))" in out.splitlines()


def test_a_syntax_error_points_at_its_column(tmp_path):
    tag = entity(tmp_path, git=False)

    with pytest.raises(CommandError) as raised:
        out, err = StringIO(), StringIO()
        call_command("test_rule", "--entity", tag, "custom('a') >> 1", stdout=out, stderr=err)

    assert str(raised.value).startswith("does not compile: line 1, column 14: unexpected '>'")
    assert err.getvalue().splitlines() == ["custom('a') >> 1", " " * 13 + "^"]


def test_an_unknown_entity_is_refused():
    with pytest.raises(CommandError, match="no entity with the tag 'nope'"):
        run("--entity", "nope", "true")
