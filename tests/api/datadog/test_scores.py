"""GET /api/v2/scorecard/scores/{aggregation}: numbers against the hand-built world (tests/campaigns/world.py).

score = Σweight(pass) / Σweight(pass, fail, error, no_data); fail counts error; skip counts exempt.
Weights: r1 = 2 (level rank 1, scorecard sc-a), r2 = 1 (sc-a), r3 = 1 (sc-b, pushed outcomes).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.catalog.models import Entity
from apps.evaluations.models import EntityScore, RuleResult
from apps.scorecards.models import Rule, Scorecard
from tests.campaigns.world import add_entities, build_world

pytestmark = pytest.mark.django_db
URL = "/api/v2/scorecard/scores/"


@pytest.fixture
def world(db):
    return build_world()


def fetch(client, aggregation, **params):
    response = client.get(URL + aggregation, params)
    assert response.status_code == 200, response.json()
    return response.json()


def numbers(document) -> dict:
    keys = ("numerator", "denominator", "total_entities", "total_pass", "total_fail", "total_skip", "total_no_data")
    return {d["id"]: tuple(d["attributes"][k] for k in keys) for d in document["data"]}


def scores(document) -> dict:
    return {d["id"]: round(d["attributes"]["score"], 4) for d in document["data"]}


def test_by_entity(world, viewer, bearer):
    document = fetch(bearer(viewer), "by-entity")
    e = {tag: world.entities[tag].public_id for tag in world.entities}
    assert numbers(document) == {
        e["lib-1"]: (1, 4, 1, 1, 1, 0, 1),
        e["svc-1"]: (4, 4, 1, 3, 0, 0, 0),
        e["svc-2"]: (0, 2, 1, 0, 1, 2, 0),
        e["svc-3"]: (2, 4, 1, 1, 1, 0, 1),
        e["svc-4"]: (2, 2, 1, 1, 0, 1, 0),
    }
    assert [d["id"] for d in document["data"]] == [e[t] for t in ("lib-1", "svc-1", "svc-2", "svc-3", "svc-4")]
    assert scores(document) == {e["lib-1"]: 0.25, e["svc-1"]: 1.0, e["svc-2"]: 0.0, e["svc-3"]: 0.5, e["svc-4"]: 1.0}
    svc1 = document["data"][1]
    assert svc1["type"] == "score" and svc1["attributes"]["aggregation"] == "by-entity"
    assert "level" not in svc1["attributes"]
    assert svc1["relationships"] == {
        "entity": {"data": {"id": e["svc-1"], "type": "entity"}},
        "service": {"data": {"id": "svc-1", "type": "service"}},
        "team": {"data": {"id": "alpha", "type": "team"}},
    }
    lib = document["data"][0]["relationships"]
    assert set(lib) == {"entity"}  # not a service, no team
    assert document["meta"] == {"count": 5, "limit": 100, "offset": 0, "total": 5}
    assert document["links"] == {}


def test_by_entity_on_one_scorecard_equals_the_entity_score(world, viewer, bearer):
    """The aggregate and DESIGN §6's stored percentage agree (the engine's EntityScore for the same results)."""
    document = fetch(bearer(viewer), "by-entity", **{"filter[rule][scorecard_id]": "sc-a"})
    svc3 = world.entities["svc-3"]
    # svc-3 on sc-a: r1 pass (2), r2 error (1) -> 2 / 3.
    assert scores(document)[svc3.public_id] == round(2 / 3, 4)
    EntityScore.objects.create(entity=svc3, scorecard=world.sc_a, score=2, total_possible=3, percentage=2 / 3,
                               evaluated_at=timezone.now())  # fmt: skip
    assert EntityScore.objects.get(entity=svc3).percentage == pytest.approx(
        next(d for d in document["data"] if d["id"] == svc3.public_id)["attributes"]["score"]
    )


def test_by_rule(world, viewer, bearer):
    document = fetch(bearer(viewer), "by-rule")
    r1, r2, r3 = (str(r.identifier) for r in (world.r1, world.r2, world.r3))
    assert numbers(document) == {
        r1: (6, 10, 5, 3, 1, 0, 1),
        r2: (2, 3, 5, 2, 1, 2, 0),
        r3: (1, 3, 4, 1, 1, 1, 1),
    }
    assert [d["id"] for d in document["data"]] == [r1, r2, r3]
    assert scores(document) == {r1: 0.6, r2: 0.6667, r3: 0.3333}
    first, second, _ = document["data"]
    assert first["attributes"]["level"] == 1 and "level" not in second["attributes"]
    assert first["relationships"] == {
        "rule": {"data": {"id": r1, "type": "rule"}},
        "scorecard": {"data": {"id": "sc-a", "type": "scorecard"}},
    }


def test_by_scorecard(world, viewer, bearer):
    document = fetch(bearer(viewer), "by-scorecard")
    assert numbers(document) == {"sc-a": (8, 13, 5, 5, 2, 2, 1), "sc-b": (1, 3, 4, 1, 1, 1, 1)}
    assert document["data"][0]["relationships"] == {"scorecard": {"data": {"id": "sc-a", "type": "scorecard"}}}


def test_by_team_uses_the_first_team_owner_and_leaves_teamless_out(world, viewer, bearer):
    document = fetch(bearer(viewer), "by-team")
    assert numbers(document) == {"alpha": (4, 6, 2, 3, 1, 2, 0), "beta": (2, 4, 1, 1, 1, 0, 1)}
    assert document["data"][0]["relationships"] == {"team": {"data": {"id": "alpha", "type": "team"}}}


def test_by_kind(world, viewer, bearer):
    document = fetch(bearer(viewer), "by-kind")
    assert numbers(document) == {"library": (1, 4, 1, 1, 1, 0, 1), "service": (8, 12, 4, 5, 2, 3, 1)}
    assert "relationships" not in document["data"][0]


def test_archived_entities_never_count(world, viewer, bearer):
    world.entities["svc-1"].archived = True
    world.entities["svc-1"].save()
    assert "svc-1" not in {d["relationships"].get("service", {}).get("data", {}).get("id")
                           for d in fetch(bearer(viewer), "by-entity")["data"]}  # fmt: skip


def test_drafts_count_only_for_editors(world, viewer, editor, bearer):
    draft = Scorecard.objects.create(tag="sc-draft", name="Draft", draft=True)
    rule = Rule.objects.create(scorecard=draft, title="Secret", expression="true")
    RuleResult.objects.create(entity=world.entities["svc-1"], scorecard=draft, rule=rule, state="pass",
                              raw_state="pass", changed_at=timezone.now())  # fmt: skip
    assert "sc-draft" not in scores(fetch(bearer(viewer), "by-scorecard"))
    assert "sc-draft" in scores(fetch(bearer(editor), "by-scorecard"))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"filter[rule][name]": "RUNBOOK"}, {"sc-a": (6, 10, 5, 3, 1, 0, 1)}),
        ({"filter[rule][level]": "1"}, {"sc-a": (6, 10, 5, 3, 1, 0, 1)}),
        ({"filter[rule][level]": "2,3"}, {}),
        ({"filter[rule][scorecard_id]": "sc-b,nope"}, {"sc-b": (1, 3, 4, 1, 1, 1, 1)}),
        ({"filter[rule][is_custom]": "true"}, {"sc-b": (1, 3, 4, 1, 1, 1, 1)}),
        ({"filter[rule][is_custom]": "false"}, {"sc-a": (8, 13, 5, 5, 2, 2, 1)}),
        ({"filter[rule][is_enabled]": "false"}, {}),
    ],
)
def test_rule_filters(world, viewer, bearer, params, expected):
    assert numbers(fetch(bearer(viewer), "by-scorecard", **params)) == expected


def test_filter_by_rule_ids_csv_and_enabled(world, viewer, bearer):
    ids = f"{world.r2.identifier},{world.r3.identifier}"
    assert set(numbers(fetch(bearer(viewer), "by-rule", **{"filter[rule][id]": ids}))) == {
        str(world.r2.identifier), str(world.r3.identifier)}  # fmt: skip
    world.r2.enabled = False
    world.r2.save()
    enabled = fetch(bearer(viewer), "by-rule", **{"filter[rule][is_enabled]": "true"})
    assert [d["id"] for d in enabled["data"]] == [str(world.r1.identifier), str(world.r3.identifier)]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("score", ["svc-2", "lib-1", "svc-3", "svc-1", "svc-4"]),
        ("-score", ["svc-1", "svc-4", "svc-3", "lib-1", "svc-2"]),
        ("-total_pass", ["svc-1", "lib-1", "svc-3", "svc-4", "svc-2"]),
        ("total_skip", ["lib-1", "svc-1", "svc-3", "svc-4", "svc-2"]),
        ("-denominator", ["lib-1", "svc-1", "svc-3", "svc-2", "svc-4"]),
        ("numerator", ["svc-2", "lib-1", "svc-3", "svc-4", "svc-1"]),
        ("-total_fail", ["lib-1", "svc-2", "svc-3", "svc-1", "svc-4"]),
        ("-total_no_data", ["lib-1", "svc-3", "svc-1", "svc-2", "svc-4"]),
    ],
)
def test_sort_then_by_tag(world, viewer, bearer, sort, expected):
    tags = {e.public_id: tag for tag, e in world.entities.items()}
    document = fetch(bearer(viewer), "by-entity", sort=sort)
    assert [tags[d["id"]] for d in document["data"]] == expected


def test_paging_meta_and_next_link(world, viewer, bearer):
    client = bearer(viewer)
    first = fetch(client, "by-entity", **{"page[limit]": 2, "sort": "-score", "filter[rule][is_enabled]": "true"})
    assert first["meta"] == {"count": 2, "limit": 2, "offset": 0, "total": 5}
    next_url = first["links"]["next"]
    assert next_url.startswith("/api/v2/scorecard/scores/by-entity?")
    second = client.get(next_url).json()
    assert second["meta"] == {"count": 2, "limit": 2, "offset": 2, "total": 5}
    third = client.get(second["links"]["next"]).json()
    assert third["meta"]["count"] == 1 and "next" not in third["links"]
    seen = [d["id"] for d in first["data"] + second["data"] + third["data"]]
    assert len(set(seen)) == 5
    past = fetch(client, "by-entity", **{"page[offset]": 5})
    assert past["data"] == [] and past["meta"] == {"count": 0, "limit": 100, "offset": 5, "total": 5}
    assert fetch(client, "by-rule", **{"page[limit]": 1000})["meta"]["limit"] == 1000


@pytest.mark.parametrize(
    ("aggregation", "params"),
    [
        ("by-nothing", {}),
        ("by-entity", {"page[limit]": 0}),
        ("by-entity", {"page[limit]": 1001}),
        ("by-entity", {"page[offset]": -1}),
        ("by-entity", {"sort": "name"}),
        ("by-entity", {"sort": "--score"}),
        ("by-entity", {"filter[rule][level]": "4"}),
        ("by-entity", {"filter[rule][level]": "gold"}),
        ("by-entity", {"filter[rule][id]": "nope"}),
        ("by-entity", {"filter[rule][is_custom]": "yes please"}),
    ],
)
def test_bad_parameters_are_400(world, viewer, bearer, aggregation, params):
    response = bearer(viewer).get(URL + aggregation, params)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert isinstance(error, str) and error


def test_needs_credentials_and_the_view_permission(world, key_for, bearer):
    assert bearer(None).get(URL + "by-entity").status_code == 403
    assert bearer(key_for(None)).get(URL + "by-entity").status_code == 403


@pytest.mark.parametrize("aggregation", ["by-entity", "by-rule", "by-scorecard", "by-team", "by-kind"])
def test_queries_do_not_grow_with_rows(world, viewer, bearer, aggregation):
    client = bearer(viewer)
    client.get(URL + aggregation)
    with CaptureQueriesContext(connection) as few:
        client.get(URL + aggregation)
    add_entities(world, 20, start=0)
    Entity.objects.create(tag="kind-x", type="widget")
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL + aggregation).status_code == 200
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)
