"""Every example of the vendor documents (seeds 000–003) replayed against both APIs.

Each operation of a seed is one case per example request body (Datadog seeds show two: the Request
example and the curl body, counted once when equal), or one case when the operation has none. The
request goes out as the seed writes it, after the seed's placeholder ids are swapped for the ids of
the data the fixtures made (the seed's rule `q8MQxk8TCqrHnWkx`, campaign `c10ODp0VCrrIpXmz`, path
`rule_id="CHANGE_ME"`, Cortex `ruleIdentifier: "text"`); names, tags, keys and owner UUIDs the examples
use are made to exist as the examples name them. The answer must have the documented success status
(Datadog) or a 2xx (Cortex), and every key of the seed's example response, with the same JSON type:

- extra keys are fine; a null in the seed matches anything, and so does a null of ours where the seed
  shows a value: the key came back, with no value to give (a rule that raised no error, a pending
  exemption nobody handled yet). The fixtures make the values the examples show where the data allows;
- lists: the first element of the seed's list against the first element of ours, recursively (the
  fixtures make every such list non-empty, so an empty one is reported, not skipped);
- int and float are one type, "number"; Datadog writes some numbers as the strings "integer" and
  "number" (`"denominator": "integer"`): those mean a number;
- Cortex's generator wrote `[Circular Reference]` where its schema recursed, once as a string
  (matches anything) and once spread into keys "0".."19": those keys are not fields and are dropped.

Two examples reveal the query behind them, and that query is sent: a `links.next` in an example
response is the next page of a paged request (sent as its first page, with data for more than one
page), and `GET /scorecard/scores/{aggregation}` documents relationships "depending on the
aggregation type" in one example, so every aggregation is requested and their rows are merged.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.core.cache import cache

from apps.accounts.roles import EDITOR
from apps.campaigns.models import OwnerRef
from apps.campaigns.services import campaign_create
from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.services import OutcomeInput, outcomes_push, scorecard_evaluate
from apps.exemptions.services import exemption_approve, exemption_request
from apps.scorecards.models import Rule
from apps.scorecards.services import rule_create_custom, scorecard_apply_descriptor
from tests.api.seeds import NO_CONTENT, SEED_NUMBERS, SEEDS, TEXT, Operation, parse_seed

pytestmark = pytest.mark.django_db

# What the parser must find per seed: (operations, example request bodies, operations with a JSON example response).
EXPECTED = {"000": (13, 4, 11), "001": (13, 4, 11), "002": (1, 0, 1), "003": (13, 8, 10)}


def require_seeds():
    if not SEEDS.is_dir():
        reason = f"the seed documents are not at {SEEDS} (set SEEDS_DIR)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _operations() -> dict[str, list[Operation]]:
    if not SEEDS.is_dir():
        return {}
    return {number: parse_seed(number) for number in SEED_NUMBERS}


OPERATIONS = _operations()


@dataclass(frozen=True)
class Case:
    operation: Operation
    label: str  # "request" / "curl" (which example body), "" without one, or a query variant
    body: object = None
    query: dict = field(default_factory=dict)


def _cases() -> list:
    if not OPERATIONS:
        # No seeds: one case that skips (or fails under CI) with the reason, instead of none at all.
        return [pytest.param(None, id="seeds-missing")]
    cases = []
    for number, operations in OPERATIONS.items():
        for operation in operations:
            examples = operation.requests or [("", None)]
            for label, body in examples:
                name = f"{number}-{operation.name}" + (f"-{label}" if len(examples) > 1 else "")
                cases.append(pytest.param(Case(operation, label, body), id=name))
            # "include: Include related data (for example, scores)": the seed's own example of `include`.
            include = operation.query_strings.get("include", "")
            found = re.search(r"for example, (\w+)", include)
            if found and operation.method == "GET" and "{" in operation.path:
                query = {"include": found.group(1)}
                cases.append(
                    pytest.param(
                        Case(operation, f"include={found.group(1)}", None, query),
                        id=f"{number}-{operation.name}-include-{found.group(1)}",
                    )
                )
    return cases


# --- the parser found everything -------------------------------------------------------------------


@pytest.mark.parametrize("number", SEED_NUMBERS)
def test_the_parser_finds_every_operation_and_example(number):
    require_seeds()
    operations = OPERATIONS[number]
    found = (
        len(operations),
        sum(len(op.requests) for op in operations),
        sum(isinstance(op.response, (dict, list)) for op in operations),
    )
    assert found == EXPECTED[number], [(op.method, op.path, op.requests, type(op.response)) for op in operations]
    assert len({(op.method, op.path) for op in operations}) == len(operations), "an operation parsed twice"
    for op in operations:
        assert op.path.startswith("/api/v"), op.path
        if op.method in ("POST", "PUT") and op.response is not NO_CONTENT:
            assert op.requests or "descriptor" in op.path, f"{op.name}: its example request body was not found"


def test_the_seeds_of_both_vendors_show_the_same_cortex_operations():
    require_seeds()
    assert {(op.method, op.path) for op in OPERATIONS["000"]} == {(op.method, op.path) for op in OPERATIONS["001"]}


# --- comparing an answer with the seed's example ----------------------------------------------------

_CIRCULAR = "[Circular Reference]"
_NUMBER_WORDS = ("integer", "number")


def kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _without_generator_artifacts(example: dict) -> dict:
    digits = sorted((k for k in example if k.isdigit()), key=int)
    if digits and "".join(str(example[k]) for k in digits) == _CIRCULAR:
        return {k: v for k, v in example.items() if k not in digits}
    return example


def mismatches(example, ours, where: str = "$") -> list[str]:
    """What of the seed's `example` our answer lacks: missing keys and wrong JSON types, one line each."""
    if example is None or example == _CIRCULAR or ours is None:
        return []
    expected = "number" if example in _NUMBER_WORDS else kind(example)
    if kind(ours) != expected:
        return [f"{where}: {kind(ours)} {str(ours)[:60]!r}, the seed has {expected}"]
    if isinstance(example, dict):
        problems = []
        for key, value in _without_generator_artifacts(example).items():
            if key not in ours:
                problems.append(f"{where}.{key}: missing")
            else:
                problems.extend(mismatches(value, ours[key], f"{where}.{key}"))
        return problems
    if isinstance(example, list) and example:
        if not ours:
            return [f"{where}: empty list, the seed's has an element to compare"]
        return mismatches(example[0], ours[0], f"{where}[0]")
    return []


def merge(first, second):
    """One document with the keys of both (first elements of lists merged): rows of several aggregations."""
    if isinstance(first, dict) and isinstance(second, dict):
        merged = dict(first)
        for key, value in second.items():
            merged[key] = merge(first[key], value) if key in first else value
        return merged
    if isinstance(first, list) and isinstance(second, list) and first and second:
        return [merge(first[0], second[0]), *first[1:]]
    return first if first not in (None, []) else second


def test_the_comparison_itself():
    seed = {"a": 1, "b": "integer", "c": [{"d": True}], "e": None, "f": {"type": "text"}, "g": "x"}
    ours = {"a": 1.5, "b": 3, "c": [{"d": False, "x": 1}], "e": [], "f": {"type": "x"}, "g": None}
    assert mismatches(seed, ours) == []
    assert mismatches(seed, {"a": "1", "b": "3", "c": [], "f": {}}) == [
        "$.a: string '1', the seed has number",
        "$.b: string '3', the seed has number",
        "$.c: empty list, the seed's has an element to compare",
        "$.e: missing",
        "$.f.type: missing",
        "$.g: missing",
    ]
    assert mismatches([{"a": {"b": [1]}}], [{"a": {"b": ["1"]}}]) == ["$[0].a.b[0]: string '1', the seed has number"]
    artifact = {str(i): ch for i, ch in enumerate(_CIRCULAR)} | {"type": "text"}
    assert mismatches({"by": artifact, "h": _CIRCULAR}, {"by": {"type": "user"}, "h": {"name": "x"}}) == []


# --- the data the examples name ----------------------------------------------------------------------

CORTEX_SCORECARD = "my-production-readiness-checklist"  # the seed's example tag
CORTEX_ENTITY = "my-favorite-entity"  # the entity of the seed's scores example
TIER_SET = "Tier set"  # the rule the entity fails, so it has a next level and an exemption to ask for

CORTEX_DESCRIPTOR = f"""\
tag: {CORTEX_SCORECARD}
name: Production Readiness Scorecard
description: Production readiness, as the seed's example.
draft: false
evaluation: {{window: 4}}
exemptions: {{enabled: true, autoApprove: false}}
notifications: {{enabled: true, scoreDropNotificationsEnabled: true}}
ladder:
  name: Default Ladder
  levels:
    - {{name: Bronze, rank: 1}}
    - {{name: Silver, rank: 2}}
    - {{name: Gold, rank: 3}}
filter:
  types: {{include: [service], exclude: [library]}}
  groups: {{include: [payments], exclude: [deprecated]}}
  query: entity.description() != null
rules:
  - title: Has an owner
    description: This rule is very important because you must pass it
    expression: ownership.allOwners().length > 0
    weight: 1
    level: Bronze
    failureMessage: To fix this rule, add x-cortex-owners.
    effectiveFrom: "2024-01-01T00:00:00Z"
    filter:
      types: {{include: [service], exclude: [library]}}
      groups: {{include: [payments], exclude: [deprecated]}}
      query: entity.description() != null
  - title: {TIER_SET}
    description: A tier is declared.
    expression: custom("tier") != null
    weight: 1
    level: Silver
    failureMessage: Set tier in x-cortex-custom-metadata.
"""


def cortex_entity(tag: str, *, kind: str = "service", owners: str = "") -> str:
    return (
        "openapi: 3.0.1\n"
        "info:\n"
        f"  title: {tag}\n"
        "  description: An entity of the seed examples.\n"
        f"  x-cortex-tag: {tag}\n"
        f"  x-cortex-type: {kind}\n"
        "  x-cortex-groups:\n    - payments\n"
        f"{owners}"
    )


OWNERS = (
    "  x-cortex-owners:\n"
    "    - type: email\n      email: owner@example.com\n      description: The owner.\n"
    "    - type: group\n      name: platform\n"
)


@dataclass
class World:
    ids: dict[str, str]  # the seed's placeholder ids -> ours
    keys: dict[str, str] = field(default_factory=dict)  # body keys whose "text" placeholder names a thing of ours


def cortex_world(operation: Operation, admin, requester) -> World:
    entity_apply_descriptor(text=cortex_entity("platform", kind="team"), source="seed-examples")
    entity, _, _ = entity_apply_descriptor(text=cortex_entity(CORTEX_ENTITY, owners=OWNERS), source="seed-examples")
    scorecard = scorecard_apply_descriptor(text=CORTEX_DESCRIPTOR, source="seed-examples").scorecard
    scorecard_evaluate(scorecard=scorecard)
    rule = Rule.objects.get(scorecard=scorecard, title=TIER_SET)
    path = operation.path
    exemption = None
    if path.endswith("/scores") or path.endswith(("/revoke", "/approve", "/deny")):
        exemption = exemption_request(
            scorecard=scorecard, entity=entity, rule=rule, reason="No tier yet.", days=30, by=requester
        )
    if exemption is not None and (path.endswith("/scores") or path.endswith("/revoke")):
        exemption_approve(exemption_id=exemption.pk, by=admin, reason="Fine for now.")
        scorecard_evaluate(scorecard=scorecard)
    return World(ids={}, keys={"ruleIdentifier": str(rule.identifier)})


DD_RULE, DD_OTHER_RULE, DD_CAMPAIGN = "q8MQxk8TCqrHnWkx", "r9NRyl9UDrsIoXly", "c10ODp0VCrrIpXmz"
DD_OWNER = "550e8400-e29b-41d4-a716-446655440000"


def datadog_world(operation: Operation, admin) -> World:
    # The rule of the seed's outcome example: "Team Defined" of "Observability Best Practices".
    rule = rule_create_custom(name="Team Defined", scorecard_name="Observability Best Practices", level=2)
    other = rule_create_custom(name="Has a runbook", scorecard_name="Observability Best Practices", level=1)
    rule_create_custom(name="Deploys by train", scorecard_name="Deployments automated via Deployment Trains")
    ids = {DD_RULE: str(rule.identifier), DD_OTHER_RULE: str(other.identifier), "CHANGE_ME": str(rule.identifier)}
    entity_apply_descriptor(text=cortex_entity("platform", kind="team"), source="seed-examples")
    services = ["my-service", "checkout", "ledger"]
    if operation.name == "list-all-rule-outcomes":
        services += [f"svc-{n:03d}" for n in range(100)]  # more than the example's page of 100
    for tag in services[:3]:
        entity_apply_descriptor(text=cortex_entity(tag, owners=OWNERS), source="seed-examples")
    outcomes_push(
        results=[
            OutcomeInput(str(rule.identifier), "service", tag, "pass", "See: <a href='x'>it</a>") for tag in services
        ]
        + [OutcomeInput(str(other.identifier), "service", tag, "fail") for tag in services[:3]]
    )
    scorecard_evaluate(scorecard=rule.scorecard)
    # The campaign owner of the examples is a user here, with the examples' owner UUID.
    OwnerRef.objects.create(user=admin.user, uuid=uuid.UUID(DD_OWNER))
    if operation.name != "create-a-new-campaign":
        campaign = campaign_create(
            key="q1-security-2024",
            name="Q1 Security Campaign",
            owner=admin.user,
            rule_ids=[str(rule.identifier), str(other.identifier)],
            start_date=datetime.fromisoformat("2024-01-01T00:00:00+00:00"),
            due_date=datetime.fromisoformat("2024-03-31T23:59:59+00:00"),
            status="in_progress",
            description="Campaign to improve security posture for Q1 2024.",
            guidance="Please ensure all services pass the security requirements.",
        )
        ids[DD_CAMPAIGN] = str(campaign.pk)
    return World(ids=ids)


def substitute(value, world: World, key: str = ""):
    if isinstance(value, dict):
        return {k: substitute(v, world, k) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, world, key) for v in value]
    if isinstance(value, str):
        if key in world.keys:
            return world.keys[key]
        return world.ids.get(value, value)
    return value


def path_for(operation: Operation, world: World) -> str:
    cortex = {"tag": CORTEX_SCORECARD, "scorecardTag": CORTEX_SCORECARD, "tagOrId": CORTEX_ENTITY,
              "entityTag": CORTEX_ENTITY}  # fmt: skip

    def value(match) -> str:
        name = match.group(1)
        if name in operation.path_examples:
            return world.ids.get(operation.path_examples[name], operation.path_examples[name])
        return cortex[name]

    return re.sub(r"\{(\w+)\}", value, operation.path)


def query_for(operation: Operation) -> dict:
    """The first page of the paged request whose next page the example's `links.next` shows."""
    response = operation.response
    links = response.get("links") if isinstance(response, dict) else None
    if not isinstance(links, dict) or not isinstance(links.get("next"), str):
        return {}
    query = dict(parse_qsl(urlsplit(links["next"]).query))
    query["page[offset]"] = "0"
    return query


# --- the replay ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    cache.clear()
    yield
    cache.clear()


def send(client, method: str, path: str, query: dict, body, content_type: str | None = None):
    url = f"{path}?{urlencode(query)}" if query else path
    if body is None and method in ("GET", "DELETE"):
        return getattr(client, method.lower())(url)
    if content_type:
        return getattr(client, method.lower())(url, body, content_type=content_type)
    return getattr(client, method.lower())(url, body, format="json")


def _answer(response):
    try:
        return response.json()
    except ValueError:
        return None


@pytest.mark.parametrize("case", _cases())
def test_the_seed_example_comes_back_with_every_key(case, admin, key_for, bearer):
    require_seeds()
    operation = case.operation
    client = bearer(admin)
    if operation.path.startswith("/api/v1/"):
        world = cortex_world(operation, admin.user, key_for(EDITOR, "requester").user)
    else:
        world = datadog_world(operation, admin)
    path = path_for(operation, world)
    query = {**query_for(operation), **case.query}
    if operation.path.endswith("/next-steps"):
        query.setdefault("entityTag", CORTEX_ENTITY)  # a required parameter (seed 001: "entityTagstringRequired")
    body = substitute(case.body, world)
    expected, content_type = operation.status, None
    if "yaml" in operation.content_type:
        # The seed shows no YAML body, only its content type: a new scorecard's descriptor is sent.
        body, content_type = CORTEX_DESCRIPTOR.replace(CORTEX_SCORECARD, "new-scorecard"), operation.content_type

    if "{aggregation}" in operation.path:
        # One example of every aggregation's relationships: ask for each and merge their rows.
        allowed = re.search(r"Allowed enum values: `(by-[^`]+)`", operation.text).group(1).split(",")
        first = operation.path_examples["aggregation"]
        answers = []
        for aggregation in [first, *(a for a in allowed if a != first)]:
            response = send(client, "GET", operation.path.replace("{aggregation}", aggregation), query, None)
            assert response.status_code == expected, (aggregation, response.status_code, _answer(response))
            answers.append(response.json())
        ours = answers[0]
        for other in answers[1:]:
            ours = merge(ours, other)
        assert not mismatches(operation.response, ours), mismatches(operation.response, ours)
        return

    response = send(client, operation.method, path, query, body, content_type)
    if expected is not None:
        assert response.status_code == expected, (
            response.status_code,
            _answer(response) or response.content[:300],
        )
    else:
        assert 200 <= response.status_code < 300, (response.status_code, _answer(response) or response.content[:300])

    if operation.response is NO_CONTENT:
        return
    if operation.response is TEXT:
        answer = _answer(response) if response["Content-Type"].startswith("application/json") else None
        text = answer if isinstance(answer, str) else response.content.decode()
        assert text.strip(), "the seed's example is a string; ours is empty"
        return
    problems = mismatches(operation.response, response.json())
    assert not problems, problems
