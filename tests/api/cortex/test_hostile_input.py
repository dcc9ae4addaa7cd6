"""Hostile input to the Cortex v1 API answers 4xx in Cortex's error shape, naming the field, fast, and writes
nothing (issue 13): NUL characters in a path, a query parameter or a body, page numbers past 64 bits, negative or
not numbers, a 5 MB body, JSON or YAML nested 1,000 deep, 20,000 `not`s and a 5,000-digit literal in a rule."""

from __future__ import annotations

import json
import time

import pytest

from apps.campaigns.models import Campaign
from apps.catalog.models import Entity
from apps.evaluations.models import RuleOutcome
from apps.scorecards.models import Rule, Scorecard
from tests.api.cortex.conftest import GOOD, TAG, assert_cortex_error, scorecard_yaml

pytestmark = pytest.mark.django_db

FAST = 5.0  # seconds; each answer takes milliseconds, the slack is for a loaded CI machine
PAST_64_BITS = str(2**64)
FIVE_MB = 5 * 1024 * 1024
DEEP_JSON = "[" * 1_000 + "]" * 1_000
DEEP_YAML = "a: " + "[" * 1_000 + "]" * 1_000 + "\n"
NOTS = "not " * 20_000 + "true"
DIGITS = "1" * 5_000 + " > 1"


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Scorecard, Rule, Entity, Campaign, RuleOutcome)}


def with_rule(expression: str) -> str:
    """The test scorecard's descriptor with its first rule's expression replaced."""
    return scorecard_yaml().replace("expression: ownership.allOwners().length > 0", f"expression: {expression}")


def with_filter(query: str) -> str:
    return scorecard_yaml().replace("evaluation:\n", f"filter:\n  query: {query}\nevaluation:\n")


JSON, YAML = "application/json", "application/yaml"
CUSTOM_DATA = f"/api/v1/catalog/{GOOD}/custom-data"
EXEMPTION = f"/api/v1/scorecards/{TAG}/entity/{GOOD}/exemption"

# (method, url, body, content type, status, Cortex type, what `details` must name)
CASES = {
    # NUL characters: in a path, a query parameter's value or name, a JSON field, a key, a nested value, a YAML body.
    "nul-in-path": ("get", f"/api/v1/scorecards/{TAG}%00", None, None, 400, "BAD_REQUEST", "the path"),
    "nul-in-entity-path": ("get", "/api/v1/catalog/a%00b/scorecards", None, None, 400, "BAD_REQUEST", "the path"),
    "nul-in-badge-path": (
        "get", f"/api/v1/scorecards/{TAG}/entity/a%00/badge", None, None, 400, "BAD_REQUEST", "the path"
    ),
    "nul-in-filter": ("get", "/api/v1/catalog?groups=a%00", None, None, 400, "BAD_REQUEST", "groups"),
    "nul-in-parameter-name": ("get", "/api/v1/catalog?gr%00ups=a", None, None, 400, "BAD_REQUEST", "query parameter"),
    "nul-in-entity-tag": (
        "get", f"/api/v1/scorecards/{TAG}/scores?entityTag=%00", None, None, 400, "BAD_REQUEST", "entityTag"
    ),
    "nul-in-json-field": (
        "post", CUSTOM_DATA, {"key": "k\x00", "value": 1}, JSON, 400, "BAD_REQUEST", "key"
    ),
    "nul-in-json-value": (
        "post", CUSTOM_DATA, {"key": "k", "value": {"a": ["x\x00"]}}, JSON, 400, "BAD_REQUEST", "value.a[0]"
    ),
    "nul-in-json-key": ("post", CUSTOM_DATA, {"key": "k", "value": {"a\x00": 1}}, JSON, 400, "BAD_REQUEST", "value"),
    "nul-in-exemption-reason": (
        "post", EXEMPTION, {"ruleIdentifier": "Has an owner", "reason": "\x00"}, JSON, 400, "BAD_REQUEST", "reason"
    ),
    "nul-in-scorecard-yaml": (
        "post", "/api/v1/scorecards/descriptor", with_rule('custom("a\x00")'), YAML, 400, "BAD_REQUEST", "NUL"
    ),
    "nul-in-entity-yaml": ("post", "/api/v1/open-api", "openapi: 3.0.1\x00\n", YAML, 400, "BAD_REQUEST", "NUL"),
    # Page numbers and sizes: past 64 bits, negative, not a number.
    "page-past-64-bits": ("get", f"/api/v1/scorecards?page={PAST_64_BITS}", None, None, 400, "BAD_REQUEST", "page"),
    "page-5000-digits": ("get", "/api/v1/catalog?page=" + "9" * 5_000, None, None, 400, "BAD_REQUEST", "page"),
    "page-negative": ("get", "/api/v1/catalog?page=-1", None, None, 400, "BAD_REQUEST", "page"),
    "page-not-a-number": ("get", "/api/v1/catalog?page=abc", None, None, 400, "BAD_REQUEST", "page"),
    "page-size-past-64-bits": (
        "get", f"/api/v1/scorecards/{TAG}/scores?pageSize={PAST_64_BITS}", None, None, 400, "BAD_REQUEST", "pageSize"
    ),
    "page-size-negative": ("get", f"{CUSTOM_DATA}?pageSize=-5", None, None, 400, "BAD_REQUEST", "pageSize"),
    "page-size-not-a-number": ("get", f"{CUSTOM_DATA}?pageSize=1e3", None, None, 400, "BAD_REQUEST", "pageSize"),
    # A 5 MB body, JSON or YAML.
    "5mb-json": ("post", CUSTOM_DATA, b'"' + b"x" * FIVE_MB + b'"', JSON, 413, "PAYLOAD_TOO_LARGE", "body"),
    "5mb-scorecard-yaml": (
        "post", "/api/v1/scorecards/descriptor", "#" * FIVE_MB, YAML, 413, "PAYLOAD_TOO_LARGE", "body"
    ),
    "5mb-entity-yaml": ("post", "/api/v1/open-api", "#" * FIVE_MB, YAML, 413, "PAYLOAD_TOO_LARGE", "body"),
    # Nested 1,000 deep.
    "deep-json-body": ("post", CUSTOM_DATA, DEEP_JSON, JSON, 400, "BAD_REQUEST", "nests more than"),
    "deep-json-value": (
        "post", CUSTOM_DATA, '{"key": "k", "value": ' + DEEP_JSON + "}", JSON, 400, "BAD_REQUEST", "nests more than"
    ),
    "deep-scorecard-yaml": ("post", "/api/v1/scorecards/descriptor", DEEP_YAML, YAML, 400, "BAD_REQUEST", "nests"),
    "deep-entity-yaml": ("post", "/api/v1/open-api", DEEP_YAML, YAML, 400, "BAD_REQUEST", "nests"),
    "deep-entity-yaml-patch": ("patch", "/api/v1/open-api", DEEP_YAML, YAML, 400, "BAD_REQUEST", "nests"),
    # Rule expressions: a rule's expression and the scorecard filter's query, with the column.
    "20000-nots-in-a-rule": (
        "post", "/api/v1/scorecards/descriptor", with_rule(NOTS), YAML, 400, "BAD_REQUEST",
        "descriptor:23:1 rules[0].expression: expression column 1: the expression is 80,004 characters long",
    ),
    "5000-digits-in-a-rule": (
        "post", "/api/v1/scorecards/descriptor", with_rule(DIGITS), YAML, 400, "BAD_REQUEST",
        "descriptor:23:1 rules[0].expression: expression column 1: a number may have at most 100 digits",
    ),
    "20000-nots-in-the-filter": (
        "post", "/api/v1/scorecards/descriptor", with_filter(NOTS), YAML, 400, "BAD_REQUEST",
        "descriptor:11:1 filter.query: expression column 1: the expression is 80,004 characters long",
    ),
    "5000-digits-in-the-filter": (
        "post", "/api/v1/scorecards/descriptor", with_filter(DIGITS), YAML, 400, "BAD_REQUEST",
        "descriptor:11:1 filter.query: expression column 1: a number may have at most 100 digits",
    ),
    "20000-nots-dry-run": (
        "post", "/api/v1/scorecards/descriptor?dryRun=true", with_rule(NOTS), YAML, 400, "BAD_REQUEST",
        "rules[0].expression",
    ),
}  # fmt: skip


@pytest.mark.parametrize(
    ("method", "url", "body", "content_type", "status", "type_", "names"), CASES.values(), ids=CASES.keys()
)
def test_hostile_input_answers_4xx_in_cortex_shape_fast_and_writes_nothing(
    world, bearer, admin, method, url, body, content_type, status, type_, names
):
    client = bearer(admin)
    if isinstance(body, dict):
        body = json.dumps(body)
    before = counts()
    started = time.monotonic()
    response = getattr(client, method)(url, data=body, content_type=content_type) if body else client.get(url)
    elapsed = time.monotonic() - started
    assert_cortex_error(response, status, type_, details_contains=names)
    assert elapsed < FAST, elapsed
    assert counts() == before
