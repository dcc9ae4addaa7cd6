"""Concurrent creates of the same new thing, over real HTTP (the live server answers each request on its own
thread and database connection): the losers answer what they would had they come second, never a 500.

Descriptor applies are idempotent, so every racer answers 200 and one row results; a second create of a
rule name, campaign key or relationship type is a conflict, so one racer answers 201 (or 200) and the others
409 in the vendor's error shape."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import requests

from apps.campaigns.models import Campaign
from apps.campaigns.services import owner_uuid_for
from apps.catalog.models import Entity, RelationshipType
from apps.scorecards.models import Level, Rule, Scorecard
from tests.api.cortex.conftest import entity_yaml, scorecard_yaml
from tests.api.cortex.test_relations import TYPE
from tests.campaigns.world import build_world
from tests.concurrency import race_same

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.timeout(120)]
RACERS = 6


def post(live_server, holder, path: str, body: str | dict, *, content_type: str = "application/json", method="POST"):
    def call() -> requests.Response:
        data = body if isinstance(body, str) else json.dumps(body)
        headers = {"Authorization": f"Bearer {holder.key}", "Content-Type": content_type}
        return requests.request(method, live_server.url + path, data=data.encode(), headers=headers, timeout=60)

    return call


def statuses(outcomes) -> Counter:
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    return Counter(o.value.status_code for o in outcomes)


def test_racing_scorecard_descriptor_applies_all_answer_200(live_server, editor):
    call = post(
        live_server, editor, "/api/v1/scorecards/descriptor", scorecard_yaml("raced"), content_type="application/yaml"
    )
    outcomes = race_same(call, RACERS)
    assert statuses(outcomes) == {200: RACERS}, [o.value.text for o in outcomes]
    assert {o.value.json()["scorecard"]["tag"] for o in outcomes} == {"raced"}
    scorecard = Scorecard.objects.get(tag="raced")
    assert (scorecard.version, Level.objects.filter(scorecard=scorecard).count()) == (1, 3)
    assert Rule.objects.filter(scorecard=scorecard).count() == 4


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_racing_entity_descriptor_applies_all_answer_200(live_server, editor, method):
    text = entity_yaml("Raced-Svc")
    outcomes = race_same(
        post(live_server, editor, "/api/v1/open-api", text, content_type="application/openapi", method=method), RACERS
    )
    assert statuses(outcomes) == {200: RACERS}, [o.value.text for o in outcomes]
    assert list(Entity.objects.values_list("tag", flat=True)) == ["raced-svc"]


def test_racing_entity_patches_each_merge_into_the_winner(live_server, editor):
    base = "openapi: 3.0.1\ninfo:\n  title: Cart\n  x-cortex-tag: cart\n"
    calls = [
        post(
            live_server,
            editor,
            "/api/v1/open-api?appendArrays=true",
            base + f"  x-cortex-groups:\n    - g{n}\n",
            content_type="application/openapi",
            method="PATCH",
        )
        for n in range(RACERS)
    ]
    from tests.concurrency import race

    outcomes = race(*calls)
    assert statuses(outcomes) == {200: RACERS}, [o.value.text for o in outcomes]
    assert sorted(Entity.objects.get(tag="cart").groups) == [f"g{n}" for n in range(RACERS)]


def test_racing_relationship_type_creates_answer_one_200_and_409s(live_server, editor):
    outcomes = race_same(post(live_server, editor, "/api/v1/relationship-types", TYPE), RACERS)
    assert statuses(outcomes) == {200: 1, 409: RACERS - 1}, [o.value.text for o in outcomes]
    for outcome in outcomes:
        if outcome.value.status_code == 409:
            assert outcome.value.json()["type"] == "CONFLICT"
    assert RelationshipType.objects.filter(tag=TYPE["tag"]).count() == 1


def test_racing_datadog_rule_creates_answer_one_201_and_409s(live_server, editor):
    body = {"data": {"type": "rule", "attributes": {"name": "Raced", "scorecard_name": "Raced Scorecard"}}}
    outcomes = race_same(post(live_server, editor, "/api/v2/scorecard/rules", body), RACERS)
    assert statuses(outcomes) == {201: 1, 409: RACERS - 1}, [o.value.text for o in outcomes]
    for outcome in outcomes:
        if outcome.value.status_code == 409:
            assert "already exists" in outcome.value.json()["errors"][0]
    assert list(Rule.objects.values_list("title", flat=True)) == ["Raced"]
    assert Scorecard.objects.filter(name="Raced Scorecard").count() == 1


def test_racing_datadog_campaign_creates_answer_one_201_and_409s(live_server, admin):
    world = build_world()
    attributes = {
        "key": "raced", "name": "Raced", "owner_id": str(owner_uuid_for(user=admin.user)),
        "rule_ids": [str(world.r1.identifier)], "start_date": "2024-01-01T00:00:00+00:00",
    }  # fmt: skip
    body = {"data": {"type": "campaign", "attributes": attributes}}
    outcomes = race_same(post(live_server, admin, "/api/v2/scorecard/campaigns", body), RACERS)
    assert statuses(outcomes) == {201: 1, 409: RACERS - 1}, [o.value.text for o in outcomes]
    assert Campaign.objects.filter(key="raced").count() == 1
