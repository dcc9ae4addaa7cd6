"""Every YAML document the product reads is bounded before it is built (issue #13): alias bombs, deep
nesting, NUL characters and oversized documents are refused with a line, fast, and nothing is written."""

from __future__ import annotations

import pytest

from apps.core.errors import ValidationFailed
from apps.core.yamlio import MAX_YAML_DEPTH, MAX_YAML_NODES, load_yaml

# The "billion laughs": each level repeats the one before ten times; 9 levels make 10^9 values.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8)
)


def refusal(text: str):
    with pytest.raises(ValidationFailed) as raised:
        load_yaml(text, source="bomb.yaml")
    (problem,) = raised.value.problems
    return problem


def test_an_alias_bomb_is_refused_at_the_line_that_passes_the_bound():
    assert len(ALIAS_BOMB) < 700
    problem = refusal(ALIAS_BOMB)
    assert problem.message == (
        f"the document expands to more than {MAX_YAML_NODES:,} values (aliases count each time they are used)"
    )
    assert (problem.source, problem.line) == ("bomb.yaml", 5)  # e: ten of d, 10^5 values


def test_a_few_aliases_still_load():
    assert load_yaml("base: &b {tier: 1, lang: go}\nsvc: *b\nmerged: {<<: *b, tier: 2}\n") == {
        "base": {"tier": 1, "lang": "go"},
        "svc": {"tier": 1, "lang": "go"},
        "merged": {"tier": 2, "lang": "go"},
    }


def test_deep_nesting_is_refused():
    problem = refusal("a: " + "[" * 1_000 + "]" * 1_000 + "\n")
    assert problem.message == f"the document nests more than {MAX_YAML_DEPTH} levels deep"
    problem = refusal("".join("  " * i + f"k{i}:\n" for i in range(200)))
    assert problem.message == f"the document nests more than {MAX_YAML_DEPTH} levels deep"
    assert problem.line == MAX_YAML_DEPTH + 1


def test_a_nul_character_and_an_oversized_document_are_refused():
    assert refusal("a: 1\nb: x\x00y\n").message == "the document holds a NUL character"
    assert refusal("a: 1\nb: x\x00y\n").line == 2
    assert "at most 1,048,576" in refusal("a: " + "x" * (1 << 20) + "\n").message


@pytest.mark.django_db
def test_an_entity_descriptor_with_an_alias_bomb_answers_400_and_writes_nothing(client):
    from rest_framework.test import APIClient

    from apps.accounts.roles import EDITOR
    from apps.accounts.services import api_key_create, user_create_with_role
    from apps.catalog.models import Entity

    _, key = api_key_create(user=user_create_with_role(username="ed", role=EDITOR), name="k")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    text = "openapi: 3.0.1\ninfo:\n  title: Bomb\n  x-cortex-tag: bomb\n  x-cortex-custom-metadata:\n" + "".join(
        "    " + line + "\n" for line in ALIAS_BOMB.splitlines()
    )
    response = api.post("/api/v1/open-api", data=text, content_type="application/openapi;charset=utf-8")
    assert response.status_code == 400
    assert "expands to more than" in response.content.decode()
    assert not Entity.objects.filter(tag="bomb").exists()
