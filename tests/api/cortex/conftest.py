"""Data for the Cortex v1 API tests: a Bronze/Silver/Gold scorecard applied from its descriptor, and
entities applied from theirs, scored by the real evaluation service.

`GOOD` passes every rule (Gold, 6/6 = 1.0). `BAD` has no owner, so it fails the Bronze rule
"Has an owner" (weight 3): no level, 3/6 = 0.5.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass

import pytest
from django.core.cache import cache

from apps.catalog.models import Entity
from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.services import scorecard_evaluate
from apps.scorecards.models import Rule, Scorecard
from apps.scorecards.services import scorecard_apply_descriptor

TAG = "api-test-scorecard"
NAME = "API Test Scorecard"
DESCRIPTION = "Checks the services of the API tests."
GOOD, BAD = "good-svc", "bad-svc"
OWNER_RULE, DESCRIPTION_RULE, TIER_SET_RULE, TIER_ONE_RULE = "Has an owner", "Has a description", "Tier set", "Tier one"


def scorecard_yaml(
    tag: str = TAG, name: str = NAME, *, draft: bool = False, auto_approve: bool = False, exemptions: bool = True
) -> str:
    return textwrap.dedent(
        f"""\
        tag: {tag}
        name: {name}
        description: {DESCRIPTION}
        draft: {"true" if draft else "false"}
        notifications:
          enabled: false
        exemptions:
          enabled: {"true" if exemptions else "false"}
          autoApprove: {"true" if auto_approve else "false"}
        evaluation:
          window: 4
        ladder:
          name: Default Ladder
          levels:
            - name: Bronze
              rank: 1
            - name: Silver
              rank: 2
            - name: Gold
              rank: 3
        rules:
          - title: {OWNER_RULE}
            expression: ownership.allOwners().length > 0
            weight: 3
            level: Bronze
            failureMessage: Add x-cortex-owners to the descriptor.
          - title: {DESCRIPTION_RULE}
            expression: entity.description().length > 5
            weight: 1
            level: Bronze
          - title: {TIER_SET_RULE}
            expression: custom("tier") != null
            weight: 1
            level: Silver
          - title: {TIER_ONE_RULE}
            expression: custom("tier") = 1
            weight: 1
            level: Gold
        """
    )


def entity_yaml(tag: str, *, owned: bool = True, tier: int | None = 1, groups: tuple[str, ...] = ("payments",)) -> str:
    owners = "  x-cortex-owners:\n    - type: email\n      email: owner@example.com\n" if owned else ""
    metadata = f"  x-cortex-custom-metadata:\n    tier: {tier}\n" if tier is not None else ""
    group_lines = "".join(f"    - {g}\n" for g in groups)
    return (
        "openapi: 3.0.1\n"
        "info:\n"
        f"  title: {tag.replace('-', ' ').title()}\n"
        "  description: Charges cards for the shop.\n"
        f"  x-cortex-tag: {tag}\n"
        "  x-cortex-type: service\n"
        f"  x-cortex-groups:\n{group_lines}"
        f"{owners}{metadata}"
    )


def make_entity(tag: str, **kwargs) -> Entity:
    entity, _, _ = entity_apply_descriptor(text=entity_yaml(tag, **kwargs), source="test")
    return entity


def make_scorecard(tag: str = TAG, name: str = NAME, **kwargs) -> Scorecard:
    return scorecard_apply_descriptor(text=scorecard_yaml(tag, name, **kwargs), source="test").scorecard


def rule_of(scorecard: Scorecard, title: str) -> Rule:
    return Rule.objects.get(scorecard=scorecard, title=title)


@dataclass
class World:
    scorecard: Scorecard
    good: Entity
    bad: Entity

    def rule(self, title: str) -> Rule:
        return rule_of(self.scorecard, title)


@pytest.fixture(autouse=True)
def _fresh_throttle_cache():
    """Rate-limit counters live in the cache; no test may inherit another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db) -> World:
    scorecard = make_scorecard()
    good = make_entity(GOOD, owned=True)
    bad = make_entity(BAD, owned=False)
    scorecard_evaluate(scorecard=scorecard)
    return World(scorecard=scorecard, good=good, bad=bad)


def assert_cortex_error(response, status: int, type_: str, *, details_contains: str = "") -> dict:
    """The Cortex error body, as JSON (never HTML), with the given status: `application/problem+json` for a 429
    (as Cortex's reference says), `application/json` otherwise. No empty `violations`, which the CLI would
    print as a bare "Validation failed"."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    media_type = "application/problem+json" if status == 429 else "application/json"
    assert response["Content-Type"].startswith(media_type), response["Content-Type"]
    body = json.loads(response.content)
    assert body.get("violations", ["absent"]), body
    assert body["type"] == type_
    assert body["httpStatus"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], str) and body["details"]
    assert isinstance(body["requestId"], str) and len(body["requestId"]) == 32
    assert details_contains in body["details"], body["details"]
    return body
