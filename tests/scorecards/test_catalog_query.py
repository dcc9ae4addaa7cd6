"""Datadog's catalog query syntax (apps.scorecards.catalog_query) and how filters tell it from the rule language."""

from __future__ import annotations

import pytest

from apps.scorecards.catalog_query import CatalogQuery, CatalogQuerySyntaxError, compile_catalog_query
from apps.scorecards.filters import compile_filter, compile_scope
from apps.scorecards.language import EntityFacts, RuleSyntaxError

PAYMENTS = EntityFacts(
    tag="payments-api", name="Payments API", type="service", groups=("tier-1", "env:prod"),
    owners=[{"type": "group", "name": "platform", "tag": "platform"}, {"type": "email", "email": "a@example.com"}],
    custom={"lifecycle": "production", "languages": ["python", "go"]},
)  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind:service", True),
        ("kind:service AND team:platform", True),
        ("kind:service team:sre", False),  # side by side = AND
        ("team:sre OR kind:service", True),
        ("-kind:service", False),
        ("NOT kind:domain", True),
        ("(tier:1 OR tier:2) -lifecycle:deprecated", True),
        ("tier:2", False),
        ('tags:"env:prod"', True),
        ("tags:env:*", True),
        ("tag:tier-1", True),
        ("name:pay*", True),
        ("name:*API", True),
        ('name:"Payments API"', True),
        ('name:"pay*"', False),  # quoted: `*` is a plain character
        ("language:Go", True),
        ("KIND:SERVICE", True),
        ("kind:service AND NOT (team:x OR team:platform)", False),
        ("team:a@example.com", False),  # only team owners
    ],
)
def test_catalog_queries_match_as_datadog_reads_them(query, expected):
    assert compile_catalog_query(query).check(PAYMENTS) is expected


def test_an_empty_custom_tier_falls_back_to_a_tier_group_and_a_custom_tier_wins():
    assert compile_catalog_query("tier:3").check(EntityFacts(tag="x", custom={"tier": 3}, groups=("tier-1",)))
    assert not compile_catalog_query("tier:1").check(EntityFacts(tag="x", custom={"tier": 3}, groups=("tier-1",)))


def test_scopes_tell_the_two_languages_apart():
    assert isinstance(compile_scope("kind:service AND team:platform"), CatalogQuery)
    assert not isinstance(compile_scope('entity.hasGroup("tier-1")'), CatalogQuery)
    assert compile_scope('entity.hasGroup("tier-1")').check(PAYMENTS)
    assert compile_filter({"query": "kind:service team:platform"}).matches(PAYMENTS)
    assert not compile_filter({"query": "kind:domain"}).matches(PAYMENTS)
    with pytest.raises(CatalogQuerySyntaxError, match="column 12: the query ends too early"):
        compile_scope("kind:svc OR")  # starts like a catalog query: the catalog parser's error
    with pytest.raises(RuleSyntaxError) as caught:
        compile_scope("entity.type( =")
    assert not isinstance(caught.value, CatalogQuerySyntaxError)


def test_leading_spaces_count_in_the_column():
    with pytest.raises(CatalogQuerySyntaxError) as caught:
        compile_scope("   kind:service colour:red")
    assert (caught.value.line, caught.value.column) == (1, 17)


def test_many_wildcards_cannot_backtrack():
    """`a*a*...*b` against a long name is polynomial for a backtracking engine; RE2 answers at once."""
    from apps.scorecards.catalog_query import compile_catalog_query
    from apps.scorecards.language import EntityFacts

    query = compile_catalog_query("name:" + "a*" * 30 + "b")
    assert query.check(EntityFacts(tag="a" * 200, name="a" * 200)) is False
    assert query.check(EntityFacts(tag="a" * 40 + "b", name="x")) is True
