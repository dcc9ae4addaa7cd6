"""Hostile input to the Datadog v2 API answers 4xx in the operation's error shape (a list of strings, or JSON:API
error objects), naming the field, fast, and writes nothing (issue 13): NUL characters in a path, a query
parameter or a body, page offsets and sizes past 64 bits, negative or not numbers, a 5 MB body, JSON nested
1,000 deep, 20,000 `not`s and a 5,000-digit literal in a rule's `scope_query` or a campaign's `entity_scope`."""

from __future__ import annotations

import json
import time

import pytest

from apps.campaigns.models import Campaign
from apps.campaigns.services import owner_uuid_for
from apps.catalog.models import Entity
from apps.evaluations.models import RuleOutcome
from apps.scorecards.models import Rule, Scorecard
from tests.campaigns.world import build_world

pytestmark = pytest.mark.django_db

FAST = 5.0  # seconds; each answer takes milliseconds, the slack is for a loaded CI machine
PAST_64_BITS = str(2**64)
FIVE_MB = 5 * 1024 * 1024
DEEP_JSON = "[" * 1_000 + "]" * 1_000
NOTS = "not " * 20_000 + "true"
DIGITS = "1" * 5_000 + " > 1"
STRINGS, OBJECTS = "strings", "objects"

RULES, OUTCOMES, SCORECARDS = "/api/v2/scorecard/rules", "/api/v2/scorecard/outcomes", "/api/v2/scorecard/scorecards"
CAMPAIGNS, SCORES = "/api/v2/scorecard/campaigns", "/api/v2/scorecard/scores/by-entity"


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Scorecard, Rule, Entity, Campaign, RuleOutcome)}


def rule(**changes) -> dict:
    return {"data": {"type": "rule", "attributes": {"name": "New rule", "scorecard_name": "New card", **changes}}}


def outcome(**changes) -> dict:
    result = {"rule_id": "{r3}", "entity_reference": "service:svc-1", "state": "pass", **changes}
    return {"data": {"type": "batched-outcome", "attributes": {"results": [result]}}}


def campaign(**changes) -> dict:
    attributes = {
        "key": "new-campaign", "name": "New campaign", "owner_id": "{owner}", "rule_ids": ["{r1}"],
        "start_date": "2024-01-01T00:00:00Z", **changes,
    }  # fmt: skip
    return {"data": {"type": "campaign", "attributes": attributes}}


# (method, url, body, status, shape, what the error must name). "{r1}", "{r3}" and "{owner}" are filled in.
CASES = {
    # NUL characters: in a path, a query parameter's value or name, a body field, a key, a nested value.
    "nul-in-rule-path": ("put", RULES + "/a%00", rule(), 400, STRINGS, "the path"),
    "nul-in-campaign-path": ("get", CAMPAIGNS + "/a%00", None, 400, OBJECTS, "the path"),
    "nul-in-rule-filter": ("get", RULES + "?filter%5Brule%5D%5Bname%5D=%00", None, 400, STRINGS, "filter[rule][name]"),
    "nul-in-scorecard-filter": (
        "get", SCORECARDS + "?filter%5Bscorecard%5D%5Bname%5D=a%00", None, 400, OBJECTS, "filter[scorecard][name]"
    ),
    "nul-in-campaign-filter": (
        "get", CAMPAIGNS + "?filter%5Bcampaign%5D%5Bname%5D=%00", None, 400, OBJECTS, "filter[campaign][name]"
    ),
    "nul-in-parameter-name": ("get", SCORES + "?so%00rt=x", None, 400, STRINGS, "query parameter"),
    "nul-in-rule-name": ("post", RULES, rule(name="a\x00b"), 400, STRINGS, "data.attributes.name"),
    "nul-in-scope-query": ("post", RULES, rule(scope_query="custom(\x00)"), 400, STRINGS, "scope_query"),
    "nul-in-outcome-remarks": ("post", OUTCOMES, outcome(remarks="\x00"), 400, STRINGS, "results[0].remarks"),
    "nul-in-unknown-key": ("post", OUTCOMES, {"da\x00ta": 1}, 400, STRINGS, "da\\u0000ta"),
    "nul-in-campaign-name": ("post", CAMPAIGNS, campaign(name="\x00"), 400, OBJECTS, "data.attributes.name"),
    "nul-in-campaign-guidance": (
        "put", CAMPAIGNS + "/{campaign}", campaign(status="in_progress", guidance="**\x00**"), 400, OBJECTS,
        "data.attributes.guidance",
    ),
    # Page offsets and sizes: past 64 bits, negative, not a number.
    "offset-past-64-bits": ("get", RULES + f"?page%5Boffset%5D={PAST_64_BITS}", None, 400, STRINGS, "page[offset]"),
    "offset-5000-digits": ("get", OUTCOMES + "?page%5Boffset%5D=" + "9" * 5_000, None, 400, STRINGS, "page[offset]"),
    "offset-negative": ("get", SCORECARDS + "?page%5Boffset%5D=-1", None, 400, OBJECTS, "page[offset]"),
    "offset-not-a-number": ("get", CAMPAIGNS + "?page%5Boffset%5D=ten", None, 400, OBJECTS, "page[offset]"),
    "size-past-64-bits": ("get", RULES + f"?page%5Bsize%5D={PAST_64_BITS}", None, 400, STRINGS, "page[size]"),
    "size-negative": ("get", OUTCOMES + "?page%5Bsize%5D=-10", None, 400, STRINGS, "page[size]"),
    "limit-past-64-bits": ("get", SCORES + f"?page%5Blimit%5D={PAST_64_BITS}", None, 400, STRINGS, "page[limit]"),
    "limit-not-a-number": ("get", CAMPAIGNS + "?page%5Blimit%5D=0x10", None, 400, OBJECTS, "page[limit]"),
    "scores-offset-past-64-bits": (
        "get", SCORES + f"?page%5Boffset%5D={PAST_64_BITS}", None, 400, STRINGS, "page[offset]"
    ),
    # A 5 MB body.
    "5mb-rule": ("post", RULES, b'"' + b"x" * FIVE_MB + b'"', 413, STRINGS, "body"),
    "5mb-outcomes": ("post", OUTCOMES + "/batch", b"[" + b"1," * (FIVE_MB // 2) + b"1]", 413, STRINGS, "body"),
    "5mb-campaign": ("post", CAMPAIGNS, b'"' + b"x" * FIVE_MB + b'"', 413, OBJECTS, "body"),
    # Nested 1,000 deep: the whole body, or one attribute.
    "deep-rule": ("post", RULES, DEEP_JSON, 400, STRINGS, "nests more than 64 levels"),
    "deep-rule-attribute": (
        "put", RULES + "/{r3}", '{"data": {"type": "rule", "attributes": ' + DEEP_JSON + "}}", 400, STRINGS,
        "nests more than 64 levels",
    ),
    "65-deep": ("post", RULES, "[" * 65 + "]" * 65, 400, STRINGS, "nests more than 64 levels"),
    "unterminated-escapes": (
        "post", RULES, "[" * 70 + '"' + '\\"' * 500_000, 400, STRINGS, "JSON parse error - Unterminated string"
    ),
    "deep-outcomes": ("post", OUTCOMES, DEEP_JSON, 400, STRINGS, "nests more than 64 levels"),
    "deep-campaign": ("post", CAMPAIGNS, '{"data": ' + DEEP_JSON + "}", 400, OBJECTS, "nests more than 64 levels"),
    # Rule expressions: a rule's scope_query, a campaign's entity_scope, with the column. Scopes are bounded at
    # 2,000 characters (apps.scorecards.catalog_query.MAX_LENGTH), so both are refused at column 2,001.
    "20000-nots-in-scope-query": (
        "post", RULES, rule(scope_query=NOTS), 400, STRINGS,
        "data.attributes.scope_query: line 1, column 2001: the query is longer than 2000 characters",
    ),
    "5000-digits-in-scope-query": (
        "post", RULES, rule(scope_query=DIGITS), 400, STRINGS,
        "data.attributes.scope_query: line 1, column 2001: the query is longer than 2000 characters",
    ),
    "150-digits-in-scope-query": (
        "post", RULES, rule(scope_query="1" * 150 + " > 1"), 400, STRINGS,
        "data.attributes.scope_query: line 1, column 1: a number may have at most 100 digits",
    ),
    "20000-nots-in-an-updated-scope-query": (
        "put", RULES + "/{r3}", rule(scope_query=NOTS), 400, STRINGS, "data.attributes.scope_query: line 1, column 2001"
    ),
    "20000-nots-in-entity-scope": (
        "post", CAMPAIGNS, campaign(entity_scope=NOTS), 400, OBJECTS,
        "/data/attributes/entity_scope line 1, column 2001: line 1:2001 data.attributes.entity_scope: the query is",
    ),
    "5000-digits-in-entity-scope": (
        "post", CAMPAIGNS, campaign(entity_scope=DIGITS), 400, OBJECTS,
        "/data/attributes/entity_scope line 1, column 2001: line 1:2001 data.attributes.entity_scope: the query is",
    ),
    "150-digits-in-entity-scope": (
        "post", CAMPAIGNS, campaign(entity_scope="1" * 150 + " > 1"), 400, OBJECTS,
        "/data/attributes/entity_scope line 1, column 1:",
    ),
    "5000-digits-in-an-updated-entity-scope": (
        "put", CAMPAIGNS + "/{campaign}", campaign(status="in_progress", entity_scope=DIGITS), 400, OBJECTS,
        "/data/attributes/entity_scope line 1, column 2001",
    ),
}  # fmt: skip


def error_text(body: dict, shape: str) -> str:
    """The errors in one line: each string, or each object's pointer, line and column, and detail."""
    errors = body["errors"]
    assert isinstance(errors, list) and errors, body
    if shape == STRINGS:
        assert all(isinstance(error, str) for error in errors), body
        return " | ".join(errors)
    lines = []
    for error in errors:
        assert isinstance(error, dict) and error["title"] and error["detail"], body
        pointer = error.get("source", {}).get("pointer", "")
        meta = error.get("meta")
        where = f" line {meta['line']}, column {meta['column']}" if meta else ""
        lines.append(f"{pointer}{where}: {error['detail']}")
    return " | ".join(lines)


@pytest.fixture
def world(db, admin):
    from apps.campaigns.services import campaign_create

    made = build_world()
    owner = owner_uuid_for(user=admin.user)
    from django.utils import timezone

    existing = campaign_create(
        key="existing", name="Existing", owner=owner, rule_ids=[str(made.r1.identifier)], start_date=timezone.now()
    )
    return {"r1": str(made.r1.identifier), "r3": str(made.r3.identifier), "owner": str(owner), "campaign": existing.pk}


@pytest.mark.parametrize(("method", "url", "body", "status", "shape", "names"), CASES.values(), ids=CASES.keys())
def test_hostile_input_answers_4xx_in_the_operations_shape_fast_and_writes_nothing(
    world, bearer, admin, method, url, body, status, shape, names
):
    client = bearer(admin)
    url = url.replace("{r3}", world["r3"]).replace("{campaign}", str(world["campaign"]))
    if isinstance(body, dict):
        body = json.dumps(body)
        for name, value in world.items():
            body = body.replace("{" + name + "}", str(value))
    before = counts()
    started = time.monotonic()
    if body is None:
        response = getattr(client, method)(url)
    else:
        response = getattr(client, method)(url, data=body, content_type="application/json")
    elapsed = time.monotonic() - started
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    if shape == OBJECTS:
        assert {error["status"] for error in body["errors"]} == {str(status)}, body
    assert names in error_text(body, shape), body
    assert elapsed < FAST, elapsed
    assert counts() == before


def test_a_jsonapi_body_is_bounded_too(world, bearer, admin):
    before = counts()
    response = bearer(admin).post(RULES, data=DEEP_JSON, content_type="application/vnd.api+json")
    assert response.status_code == 400
    assert "nests more than 64 levels" in response.json()["errors"][0]
    assert counts() == before


def test_a_page_offset_within_64_bits_answers_an_empty_page(world, bearer, admin):
    client = bearer(admin)
    for url in (RULES, SCORECARDS, OUTCOMES):
        response = client.get(url + f"?page%5Boffset%5D={2**63 - 1}")
        assert response.status_code == 200, response.content[:300]
        assert response.json()["data"] == []
    for url in (CAMPAIGNS, SCORES):
        response = client.get(url + f"?page%5Boffset%5D={2**63 - 1}&page%5Blimit%5D=100")
        assert response.status_code == 200, response.content[:300]
        assert response.json()["data"] == []
