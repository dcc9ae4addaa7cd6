"""Datadog v2 rules: create, list (filters, include, sparse fields, paging), update, delete."""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.scorecards.models import Level, Rule, Scorecard

pytestmark = pytest.mark.django_db

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RULES = "/api/v2/scorecard/rules"


def dd(holder) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_DD_API_KEY=holder.key, HTTP_DD_APPLICATION_KEY=holder.key)
    return client


def body(**attributes) -> dict:
    return {"data": {"type": "rule", "attributes": attributes}}


def make_rules(count: int, scorecard_name: str = "Bulk") -> list[Rule]:
    from apps.scorecards.services import rule_create_custom

    return [rule_create_custom(name=f"rule {i:03d}", scorecard_name=scorecard_name) for i in range(count)]


# --- create --------------------------------------------------------------------------------------


def test_create_rule_with_new_scorecard_answers_201_with_the_full_shape(editor):
    response = dd(editor).post(
        RULES,
        body(
            name="Has runbook",
            scorecard_name="Observability Best Practices",
            enabled=True,
            level=2,
            owner="Datadog",
            description="Every service links a runbook.",
            scope_query='entity.type() = "service"',
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    rule = Rule.objects.select_related("scorecard", "level").get()
    assert data["id"] == str(rule.identifier)
    assert data["type"] == "rule"
    assert data["relationships"] == {"scorecard": {"data": {"id": rule.scorecard.tag, "type": "scorecard"}}}
    attributes = data["attributes"]
    assert {k: v for k, v in attributes.items() if k not in ("created_at", "modified_at")} == {
        "name": "Has runbook",
        "scorecard_name": "Observability Best Practices",
        "category": "Observability Best Practices",
        "enabled": True,
        "level": 2,
        "owner": "Datadog",
        "description": "Every service links a runbook.",
        "scope_query": 'entity.type() = "service"',
        "custom": True,
    }
    assert ISO_Z.match(attributes["created_at"]) and ISO_Z.match(attributes["modified_at"])
    scorecard = rule.scorecard
    assert scorecard.tag == "observability-best-practices"
    assert list(scorecard.levels.values_list("name", "rank")) == [("Bronze", 1), ("Silver", 2), ("Gold", 3)]
    assert rule.level.rank == 2 and rule.expression == "" and rule.filter == {"query": 'entity.type() = "service"'}


def test_create_rule_in_existing_scorecard_defaults_level_3_and_enabled(editor):
    scorecard = Scorecard.objects.create(tag="prod", name="Production")
    for name, rank in (("One", 1), ("Two", 2), ("Three", 3)):
        Level.objects.create(scorecard=scorecard, name=name, rank=rank)
    response = dd(editor).post(RULES, body(name="Pushed", scorecard_name="Production"), format="json")
    assert response.status_code == 201
    attributes = response.json()["data"]["attributes"]
    assert (attributes["level"], attributes["enabled"], attributes["owner"], attributes["scope_query"]) == (
        3,
        True,
        "",
        "",
    )
    assert Scorecard.objects.count() == 1
    assert Rule.objects.get().level.name == "Three"
    scorecard.refresh_from_db()
    assert scorecard.version == 2  # definition changed


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (body(enabled=True, level=2, name="Team Defined", scorecard_id="NOT.FOUND"), "failed scorecard lookup"),
        (body(name="x"), 'failed scorecard lookup: attribute "scorecard_name" is required'),
        (body(name="x", scorecard_name="S", level=4), "data.attributes.level"),
        (body(name="x", scorecard_name="S", level=0), "data.attributes.level"),
        (body(name="x", scorecard_name="S", level="high"), "data.attributes.level"),
        (body(name="x", scorecard_name="S", enabled="maybe"), "data.attributes.enabled"),
        (body(name="x", scorecard_name="S", colour="red"), "data.attributes.colour: unknown attribute"),
        (body(name="", scorecard_name="S"), "data.attributes.name"),
        (body(scorecard_name="S"), "data.attributes.name"),
        (body(name="x", scorecard_name="S", scope_query="entity.type( ="), "data.attributes.scope_query"),
        ({"data": {"type": "campaign", "attributes": {"name": "x", "scorecard_name": "S"}}}, "data.type"),
        ({"rule": {}}, "data"),
        ([1, 2], "Invalid data"),
    ],
)
def test_create_rule_refuses_bad_bodies_with_one_json_api_error(editor, payload, fragment):
    response = dd(editor).post(RULES, payload, format="json")
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert len(errors) == 1
    assert isinstance(errors[0], str)  # seed 003: a list of strings
    assert fragment in errors[0]
    assert not Rule.objects.exists() and not Scorecard.objects.exists()


def test_create_rule_at_a_level_the_ladder_lacks_is_400(editor):
    scorecard = Scorecard.objects.create(tag="short", name="Short")
    Level.objects.create(scorecard=scorecard, name="Only", rank=1)
    response = dd(editor).post(RULES, body(name="x", scorecard_name="Short", level=3), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == ["level: scorecard 'Short' has no level of rank 3"]


def test_create_duplicate_rule_name_is_409(editor):
    client = dd(editor)
    assert client.post(RULES, body(name="Dup", scorecard_name="S"), format="json").status_code == 201
    response = client.post(RULES, body(name="Dup", scorecard_name="S"), format="json")
    assert response.status_code == 409
    assert response.json() == {"errors": ["a rule named 'Dup' already exists in scorecard 'S'"]}
    assert Rule.objects.count() == 1


def test_scorecard_tag_avoids_an_existing_tag_of_another_name(editor):
    Scorecard.objects.create(tag="observability", name="Something else")
    response = dd(editor).post(RULES, body(name="r", scorecard_name="Observability"), format="json")
    assert response.status_code == 201
    assert response.json()["data"]["relationships"]["scorecard"]["data"]["id"] == "observability-2"


@pytest.mark.parametrize("method", ["post", "get"])
def test_rules_need_credentials(bearer, method):
    response = getattr(bearer(None), method)(RULES, body(name="x", scorecard_name="S"), format="json")
    assert response.status_code == 403
    assert isinstance(response.json()["errors"][0], str)


def test_bad_dd_keys_are_403(editor):
    client = APIClient()
    client.credentials(HTTP_DD_API_KEY=editor.key, HTTP_DD_APPLICATION_KEY="nope")
    response = client.get(RULES)
    assert response.status_code == 403
    assert isinstance(response.json()["errors"][0], str)


def test_viewer_cannot_create_update_or_delete(viewer):
    rule = make_rules(1)[0]
    client = dd(viewer)
    assert client.post(RULES, body(name="x", scorecard_name="S"), format="json").status_code == 403
    assert client.put(f"{RULES}/{rule.identifier}", body(name="y"), format="json").status_code == 403
    assert client.delete(f"{RULES}/{rule.identifier}").status_code == 403
    assert client.get(RULES).status_code == 200
    assert Rule.objects.get().title == "rule 000"


def test_bearer_key_works_too(bearer, editor):
    response = bearer(editor).post(RULES, body(name="x", scorecard_name="S"), format="json")
    assert response.status_code == 201


# --- list ----------------------------------------------------------------------------------------


def test_list_rules_shape_and_order(viewer):
    rules = make_rules(3)
    response = dd(viewer).get(RULES)
    assert response.status_code == 200
    payload = response.json()
    assert [item["id"] for item in payload["data"]] == [str(r.identifier) for r in rules]
    assert payload["links"] == {}
    first = payload["data"][0]
    assert first["type"] == "rule"
    assert set(first["attributes"]) == {
        "name", "scorecard_name", "category", "enabled", "level", "owner", "description", "scope_query", "custom",
        "created_at", "modified_at",
    }  # fmt: skip
    assert first["relationships"]["scorecard"]["data"] == {"id": "bulk", "type": "scorecard"}


def test_list_rules_filters(viewer, rule_factory):
    from apps.scorecards.services import rule_create_custom

    a = rule_create_custom(name="Runbook linked", scorecard_name="Ops", description="Has a runbook link")
    b = rule_create_custom(name="On-call set", scorecard_name="Ops", enabled=False, description="Pager")
    coded = rule_factory(title="Has owner", expression="true", scorecard=a.scorecard, description="owners")
    client = dd(viewer)

    def ids(params):
        response = client.get(RULES, params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["data"]]

    assert ids({"filter[rule][id]": str(b.identifier)}) == [str(b.identifier)]
    assert ids({"filter[rule][id]": f"{a.identifier},{b.identifier}"}) == [str(a.identifier), str(b.identifier)]
    assert ids({"filter[rule][id]": "NOT-A-UUID"}) == []
    assert ids({"filter[rule][enabled]": "false"}) == [str(b.identifier)]
    assert set(ids({"filter[rule][enabled]": "true"})) == {str(a.identifier), str(coded.identifier)}
    assert set(ids({"filter[rule][custom]": "true"})) == {str(a.identifier), str(b.identifier)}
    assert ids({"filter[rule][custom]": "false"}) == [str(coded.identifier)]
    assert ids({"filter[rule][name]": "RUNBOOK"}) == [str(a.identifier)]
    assert ids({"filter[rule][description]": "pager"}) == [str(b.identifier)]
    response = client.get(RULES, {"filter[rule][enabled]": "maybe"})
    assert response.status_code == 400
    assert "filter[rule][enabled]" in response.json()["errors"][0]


def test_list_rules_include_scorecard_and_sparse_fields(viewer):
    rule = make_rules(2, scorecard_name="Docs")[0]
    response = dd(viewer).get(
        RULES, {"include": "scorecard", "fields[rule]": "name,level", "fields[scorecard]": "name"}
    )
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"][0]["attributes"] == {"name": "rule 000", "level": 3}
    assert payload["data"][0]["relationships"]["scorecard"]["data"]["id"] == rule.scorecard.tag
    assert payload["included"] == [{"id": "docs", "type": "scorecard", "attributes": {"name": "Docs"}}]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"fields[rule]": "nope"}, "fields[rule]"),
        ({"fields[scorecard]": "level"}, "fields[scorecard]"),
        ({"include": "campaign"}, "include"),
        ({"page[size]": "0"}, "page[size]"),
        ({"page[size]": "101"}, "page[size]"),
        ({"page[size]": "ten"}, "page[size]"),
        ({"page[offset]": "-1"}, "page[offset]"),
    ],
)
def test_list_rules_bad_params_are_400(viewer, params, name):
    response = dd(viewer).get(RULES, params)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert len(errors) == 1 and name in errors[0]


def test_list_rules_paging(viewer):
    rules = make_rules(5)
    client = dd(viewer)
    first = client.get(RULES, {"page[size]": "2"}).json()
    assert [d["id"] for d in first["data"]] == [str(r.identifier) for r in rules[:2]]
    assert first["links"]["next"] == "/api/v2/scorecard/rules?page%5Boffset%5D=2&page%5Bsize%5D=2"
    last = client.get(RULES, {"page[size]": "2", "page[offset]": "4"}).json()
    assert [d["id"] for d in last["data"]] == [str(rules[4].identifier)]
    assert last["links"] == {}
    exact = client.get(RULES, {"page[size]": "5"}).json()
    assert len(exact["data"]) == 5 and exact["links"] == {}
    past = client.get(RULES, {"page[size]": "2", "page[offset]": "50"})
    assert past.status_code == 200 and past.json()["data"] == []
    huge = client.get(RULES, {"page[offset]": str(2**62)})
    assert huge.status_code == 200 and huge.json()["data"] == []
    # Past 64 bits no offset is meant (issue 13): a 400 naming the parameter.
    past_64_bits = client.get(RULES, {"page[offset]": str(2**70)})
    assert past_64_bits.status_code == 400
    assert past_64_bits.json()["errors"][0].startswith("page[offset]: must be 0 or more, at most")


def test_list_rules_default_page_is_100(viewer):
    make_rules(101)
    payload = dd(viewer).get(RULES).json()
    assert len(payload["data"]) == 100
    assert "page%5Boffset%5D=100" in payload["links"]["next"]


def test_list_rules_hides_draft_scorecards_from_viewers(viewer, editor):
    rule = make_rules(1)[0]
    Scorecard.objects.filter(pk=rule.scorecard_id).update(draft=True)
    assert dd(viewer).get(RULES).json()["data"] == []
    assert len(dd(editor).get(RULES).json()["data"]) == 1


def test_list_rules_query_count_is_constant(viewer):
    client = dd(viewer)
    make_rules(3, scorecard_name="A")
    client.get(RULES)  # warm-up: the first request of a key records its last use
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(RULES, {"include": "scorecard"}).json()["data"]) == 3
    make_rules(27, scorecard_name="B")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(RULES, {"include": "scorecard"}).json()["data"]) == 30
    assert len(many) == len(few)


# --- update --------------------------------------------------------------------------------------


def test_update_rule_replaces_attributes(editor):
    rule = make_rules(1, scorecard_name="Ops")[0]
    Rule.objects.filter(pk=rule.pk).update(
        owner="old", filter={"types": {"include": ["service"]}, "query": "true"}, failure_message="keep"
    )
    response = dd(editor).put(
        f"{RULES}/{rule.identifier}",
        body(name="Renamed", scorecard_name="Ops", description="Updated description via test", level=1, enabled=False),
        format="json",
    )
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["id"] == str(rule.identifier)
    assert data["attributes"]["name"] == "Renamed"
    assert data["attributes"]["description"] == "Updated description via test"
    assert (data["attributes"]["level"], data["attributes"]["enabled"]) == (1, False)
    assert (data["attributes"]["owner"], data["attributes"]["scope_query"]) == ("", "")
    rule.refresh_from_db()
    assert rule.title == "Renamed" and rule.owner == "" and rule.failure_message == "keep"
    assert rule.filter == {"types": {"include": ["service"]}}
    assert rule.updated_at > rule.created_at


def test_update_unknown_rule_is_404(editor):
    for rule_id in ("REPLACE.ME", str(uuid.uuid4())):
        response = dd(editor).put(f"{RULES}/{rule_id}", body(name="x", scorecard_name="S"), format="json")
        assert response.status_code == 404
        assert response.json()["errors"] == [f"rule not found: {rule_id}"]


def test_update_with_scorecard_id_is_400(editor):
    rule = make_rules(1)[0]
    response = dd(editor).put(
        f"{RULES}/{rule.identifier}", body(enabled=True, level=2, name="n", scorecard_id="NOT.FOUND"), format="json"
    )
    assert response.status_code == 400
    assert "failed scorecard lookup" in response.json()["errors"][0]


def test_update_with_another_scorecard_name_moves_the_rule(editor):
    first, second = make_rules(2, scorecard_name="Ops")
    client = dd(editor)
    # Seed 003's own update example, verbatim.
    seed_example = {
        "data": {
            "type": "rule",
            "attributes": {
                "enabled": True,
                "name": "Team Defined",
                "scorecard_name": "Deployments automated via Deployment Trains",
                "description": "Updated description via test",
            },
        }
    }
    moved = client.put(f"{RULES}/{first.identifier}", seed_example, format="json")
    assert moved.status_code == 200, moved.content
    data = moved.json()["data"]
    target = Scorecard.objects.get(name="Deployments automated via Deployment Trains")
    assert data["id"] == str(first.identifier)
    assert data["attributes"]["scorecard_name"] == target.name
    assert data["relationships"]["scorecard"]["data"] == {"id": target.tag, "type": "scorecard"}
    assert Rule.objects.get(pk=first.pk).scorecard == target
    listed = client.get(RULES, {"filter[rule][id]": str(first.identifier)}).json()["data"]
    assert [r["attributes"]["scorecard_name"] for r in listed] == [target.name]


def test_update_cannot_duplicate_a_name(editor):
    first, second = make_rules(2, scorecard_name="Ops")
    duplicate = dd(editor).put(f"{RULES}/{first.identifier}", body(name=second.title), format="json")
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"] == [f"a rule named {second.title!r} already exists in scorecard 'Ops'"]


# --- delete --------------------------------------------------------------------------------------


def test_delete_rule_answers_204_empty(editor):
    rule = make_rules(1)[0]
    response = dd(editor).delete(f"{RULES}/{rule.identifier}")
    assert response.status_code == 204
    assert response.content == b""
    assert not Rule.objects.exists()


def test_delete_unknown_rule_is_404_with_the_real_servers_words(editor):
    rule_id = "2a4f524e-168a-429d-bb75-7b1ffeab0cbb"
    response = dd(editor).delete(f"{RULES}/{rule_id}")
    assert response.status_code == 404
    assert response.json() == {"errors": [f"rule not found: {rule_id}"]}
    assert dd(editor).delete(f"{RULES}/NOT-A-UUID").status_code == 404


def test_get_on_a_rule_is_405(viewer):
    rule = make_rules(1)[0]
    response = dd(viewer).get(f"{RULES}/{rule.identifier}")
    assert response.status_code == 405
    assert "GET" in response.json()["errors"][0]


# --- identifiers shared across scorecards (unique per scorecard only) -------------------------------


def shared_pair() -> tuple[Rule, Rule]:
    """Two rules in two scorecards with one identifier, as Cortex's tenant exports have."""
    from apps.scorecards.services import rule_create_custom

    first = rule_create_custom(name="Shared", scorecard_name="Alpha")
    second = rule_create_custom(name="Shared", scorecard_name="Beta")
    Rule.objects.filter(pk=second.pk).update(identifier=first.identifier)
    return first, Rule.objects.get(pk=second.pk)


def test_update_or_delete_of_an_ambiguous_rule_id_is_409_and_changes_nothing(editor):
    first, second = shared_pair()
    client = dd(editor)
    put = client.put(f"{RULES}/{first.identifier}", body(name="Renamed", scorecard_name="Alpha"), format="json")
    assert put.status_code == 409, put.content
    (error,) = put.json()["errors"]
    assert f"rule id {first.identifier} is in scorecards alpha, beta" in error
    delete = client.delete(f"{RULES}/{first.identifier}")
    assert delete.status_code == 409
    assert sorted(Rule.objects.filter(identifier=first.identifier).values_list("title", flat=True)) == [
        "Shared",
        "Shared",
    ]


def test_a_rule_id_unique_again_resolves(editor):
    first, second = shared_pair()
    Rule.objects.filter(pk=second.pk).delete()
    response = dd(editor).put(
        f"{RULES}/{first.identifier}", body(name="Renamed", scorecard_name="Alpha"), format="json"
    )
    assert response.status_code == 200, response.content
    assert Rule.objects.get(pk=first.pk).title == "Renamed"
    assert dd(editor).delete(f"{RULES}/{first.identifier}").status_code == 204
    assert not Rule.objects.filter(pk=first.pk).exists()


def test_rules_created_through_the_api_get_a_fresh_identifier(editor):
    first, _ = shared_pair()
    response = dd(editor).post(RULES, body(name="New", scorecard_name="Alpha"), format="json")
    assert response.status_code == 201
    new_id = response.json()["data"]["id"]
    assert new_id != str(first.identifier)
    assert Rule.objects.filter(identifier=new_id).count() == 1


# --- scope_query: Datadog's catalog query syntax ----------------------------------------------------


def test_seed_create_example_with_a_catalog_scope_query_is_stored_and_returned_verbatim(editor):
    query = 'kind:service AND (team:platform OR tags:"env:prod") -lifecycle:deprecated'
    created = dd(editor).post(
        RULES, body(enabled=True, name="Team Defined", scorecard_name="Deployments", scope_query=query), format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["data"]["attributes"]["scope_query"] == query
    listed = dd(editor).get(RULES).json()["data"]
    assert [r["attributes"]["scope_query"] for r in listed] == [query]
    updated = dd(editor).put(
        f"{RULES}/{created.json()['data']['id']}", body(name="Team Defined", scope_query="kind:service"), format="json"
    )
    assert updated.json()["data"]["attributes"]["scope_query"] == "kind:service"


def test_the_rule_language_stays_accepted_as_a_scope_query(editor):
    created = dd(editor).post(
        RULES, body(name="x", scorecard_name="S", scope_query='entity.type() = "service"'), format="json"
    )
    assert created.status_code == 201, created.content


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("kind:service AND", "column 17: the query ends too early"),
        ("kind:service colour:red", "column 14: unknown key 'colour'"),
        ("kind: service", "column 7: a value must follow 'kind:' without a space"),
        ("(kind:service", "column 14: the query ends too early; expected ')'"),
        ('tags:"open', "column 6: this quoted value is never closed"),
        ("entity.type() = ", "line 1, column"),
        ("(" * 40 + "kind:service" + ")" * 40, "nests deeper than 32 levels"),
        ("NOT " * 200 + "kind:service", "nests deeper than 32 levels"),
        ("!" * 1500 + "true", "nests more than 200 levels deep"),  # the rule language's own bound
        ("kind:service OR " * 200 + "kind:x", "longer than 2000 characters"),
        ("[" * 1000, "nests deeper than 32 levels"),
    ],
)
def test_a_bad_or_hostile_scope_query_is_a_400_naming_the_column(editor, query, error):
    response = dd(editor).post(RULES, body(name="x", scorecard_name="S", scope_query=query), format="json")
    assert response.status_code == 400, response.content
    (message,) = response.json()["errors"]
    assert message.startswith("data.attributes.scope_query: line 1, column ")
    assert error in message
    assert not Rule.objects.exists()
