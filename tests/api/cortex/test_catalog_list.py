"""Cortex v1 catalog: `catalog list` (GET /catalog), `catalog descriptor` (GET /catalog/{tag}/openapi) and
`catalog archive` / `unarchive` (PUT /catalog/{tag}/archive, /unarchive)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.catalog.models import CustomData, CustomDataSource, Entity, EntityOwner, OwnerKind
from apps.catalog.services import entity_apply_descriptor
from apps.core.yamlio import load_yaml, plain
from apps.evaluations.models import EntityScore, RuleResult
from apps.evaluations.services import entities_to_evaluate, scorecard_evaluate
from tests.api.cortex.conftest import BAD, GOOD, assert_cortex_error

pytestmark = pytest.mark.django_db

LIST = "/api/v1/catalog"


def get(client, path, params=None):
    # As the CLI: a Content-Type even on GET, list parameters repeated (requests' encoding of a list).
    return client.get(path, params or {}, CONTENT_TYPE="application/yaml")


def put(client, path):
    return client.put(path, data="{}", content_type="application/json")


def descriptor(
    tag: str,
    *,
    entity_type: str = "service",
    groups: tuple[str, ...] = (),
    team: str | None = None,
    email: str | None = None,
    github: str | None = None,
    gitlab: str | None = None,
    link: str | None = None,
    tier: int | None = None,
    archived: bool = False,
) -> str:
    lines = [
        "openapi: 3.0.1",
        "info:",
        f"  title: {tag.replace('-', ' ').title()}",
        f"  x-cortex-tag: {tag}",
        f"  x-cortex-type: {entity_type}",
    ]
    if groups:
        lines += ["  x-cortex-groups:", *(f"    - {g}" for g in groups)]
    if team or email:
        lines.append("  x-cortex-owners:")
        if team:
            lines += ["    - type: group", f"      name: {team}"]
        if email:
            lines += ["    - type: email", f"      email: {email}", "      description: On call lead"]
    if github or gitlab:
        lines.append("  x-cortex-git:")
        if github:
            lines += ["    github:", f"      repository: {github}"]
        if gitlab:
            lines += ["    gitlab:", f"      repository: {gitlab}"]
    if link:
        lines += ["  x-cortex-link:", "    - name: Runbook", "      type: runbook", f"      url: {link}"]
    if tier is not None:
        lines += ["  x-cortex-custom-metadata:", f"    tier: {tier}"]
    if archived:
        lines.append("  x-cortex-archived: true")
    return "\n".join(lines) + "\n"


def apply(text: str) -> Entity:
    return entity_apply_descriptor(text=text, source="test")[0]


@pytest.fixture
def catalog(world):
    """GOOD and BAD (group payments) plus a team, a domain, three more services, one of them archived."""
    made = {
        "team-core": apply(descriptor("team-core", entity_type="team")),
        "shop": apply(descriptor("shop", entity_type="domain", groups=("commerce",))),
        "checkout": apply(
            descriptor(
                "checkout",
                groups=("commerce", "payments-edge"),
                team="team-core",
                email="lead@example.com",
                github="acme/checkout",
                link="https://runbooks.example.com/checkout",
                tier=2,
            )
        ),
        "ledger": apply(descriptor("ledger", groups=("finance",), team="team-core", gitlab="acme/ledger")),
        "old-svc": apply(descriptor("old-svc", groups=("commerce",), team="team-core", archived=True)),
    }
    return world, made


def tags(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [e["tag"] for e in response.json()["entities"]]


# --- list ------------------------------------------------------------------------------------------------


class TestList:
    def test_default_lists_active_entities_by_tag_with_the_summary_only(self, catalog, viewer, bearer):
        response = get(bearer(viewer), LIST)
        assert tags(response) == [BAD, "checkout", GOOD, "ledger", "shop", "team-core"]
        body = response.json()
        assert (body["page"], body["total"], body["totalPages"]) == (0, 6, 1)
        # Exactly one top-level list: the CLI's pager guesses the data key from it.
        assert [k for k, v in body.items() if isinstance(v, list)] == ["entities"]
        checkout = Entity.objects.get(tag="checkout")
        [summary] = [e for e in body["entities"] if e["tag"] == "checkout"]
        assert summary == {
            "id": checkout.public_id,
            "tag": "checkout",
            "name": "Checkout",
            "type": "service",
            "description": None,
            "groups": ["commerce", "payments-edge"],
            "isArchived": False,
            "lastUpdated": summary["lastUpdated"],
            "git": {"provider": "github", "repository": "acme/checkout"},
        }
        assert summary["lastUpdated"].endswith("Z")
        [good] = [e for e in body["entities"] if e["tag"] == GOOD]
        assert (good["description"], good["git"]) == ("Charges cards for the shop.", None)

    def test_include_archived(self, catalog, viewer, bearer):
        client = bearer(viewer)
        assert "old-svc" not in tags(get(client, LIST, {"includeArchived": "False"}))
        listed = get(client, LIST, {"includeArchived": "True"})
        assert tags(listed) == [BAD, "checkout", GOOD, "ledger", "old-svc", "shop", "team-core"]
        [old] = [e for e in listed.json()["entities"] if e["tag"] == "old-svc"]
        assert old["isArchived"] is True
        assert listed.json()["total"] == 7

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"groups": "payments"}, [BAD, GOOD]),
            ({"groups": "PAYMENTS"}, [BAD, GOOD]),  # Cortex matches groups case-insensitively
            ({"groups": "pay"}, []),  # a whole group, not a part of one
            ({"groups": "payments-edge"}, ["checkout"]),
            ({"groups": "finance,commerce"}, ["checkout", "ledger", "shop"]),
            ({"groups": ["finance", "commerce"]}, ["checkout", "ledger", "shop"]),  # repeated, as the CLI sends
            ({"owners": "team-core"}, ["checkout", "ledger"]),
            ({"owners": "team-none"}, []),
            ({"types": "domain,team"}, ["shop", "team-core"]),
            ({"types": "SERVICE"}, [BAD, "checkout", GOOD, "ledger"]),
            ({"gitRepositories": "acme/checkout"}, ["checkout"]),
            ({"gitRepositories": "acme/ledger"}, []),  # unprefixed means GitHub
            ({"gitRepositories": "gitlab:acme/ledger,github:acme/checkout"}, ["checkout", "ledger"]),
            ({"groups": "commerce", "types": "service"}, ["checkout"]),
            ({"owners": "team-core", "includeArchived": "true"}, ["checkout", "ledger", "old-svc"]),
            ({"groups": "commerce", "owners": "team-core", "gitRepositories": "acme/checkout"}, ["checkout"]),
        ],
    )
    def test_filters(self, catalog, viewer, bearer, params, expected):
        response = get(bearer(viewer), LIST, params)
        assert tags(response) == expected
        assert response.json()["total"] == len(expected)
        assert response.json()["totalPages"] == (1 if expected else 0)

    def test_toggles_add_owners_links_and_metadata(self, catalog, viewer, bearer):
        client = bearer(viewer)
        params = {"types": "service", "groups": "commerce"}
        [plain_entity] = get(client, LIST, params).json()["entities"]
        assert not {"owners", "links", "metadata"} & set(plain_entity)
        CustomData.objects.create(
            entity=Entity.objects.get(tag="checkout"),
            key="ci",
            value={"system": "jenkins"},
            source=CustomDataSource.API,
        )
        full = get(
            client, LIST, {**params, "includeOwners": "True", "includeLinks": "true", "includeMetadata": "1"}
        ).json()["entities"][0]
        assert full["owners"] == {
            "teams": [{"tag": "team-core", "name": "Team Core", "isArchived": False}],
            "individuals": [{"email": "lead@example.com", "description": "On call lead"}],
        }
        assert full["links"] == [{"name": "Runbook", "type": "runbook", "url": "https://runbooks.example.com/checkout"}]
        assert full["metadata"] == [{"key": "ci", "value": {"system": "jenkins"}}, {"key": "tier", "value": 2}]
        only_links = get(client, LIST, {**params, "includeLinks": "True"}).json()["entities"][0]
        assert "links" in only_links and not {"owners", "metadata"} & set(only_links)

    def test_paging(self, catalog, viewer, bearer):
        client = bearer(viewer)
        everything = tags(get(client, LIST))
        pages = [get(client, LIST, {"page": n, "pageSize": 4}).json() for n in (0, 1)]
        assert [e["tag"] for p in pages for e in p["entities"]] == everything
        assert [(p["page"], p["total"], p["totalPages"], len(p["entities"])) for p in pages] == [
            (0, 6, 2, 4),
            (1, 6, 2, 2),
        ]
        one = get(client, LIST, {"page": 2, "pageSize": 1}).json()
        assert ([e["tag"] for e in one["entities"]], one["total"], one["totalPages"]) == ([GOOD], 6, 6)
        past = get(client, LIST, {"page": 9, "pageSize": 4}).json()
        assert past == {"entities": [], "page": 9, "total": 6, "totalPages": 2}
        exact = get(client, LIST, {"pageSize": 1000}).json()
        assert (len(exact["entities"]), exact["totalPages"]) == (6, 1)

    def test_empty_catalog(self, db, viewer, bearer):
        assert get(bearer(viewer), LIST).json() == {"entities": [], "page": 0, "total": 0, "totalPages": 0}

    @pytest.mark.parametrize(
        ("params", "detail"),
        [
            ({"pageSize": 0}, "pageSize"),
            ({"pageSize": 1001}, "pageSize"),
            ({"page": -1}, "page"),
            ({"page": "two"}, "page"),
            ({"includeArchived": "maybe"}, "includeArchived"),
            ({"includeOwners": "sure"}, "includeOwners"),
        ],
    )
    def test_bad_parameters_are_400(self, catalog, viewer, bearer, params, detail):
        assert_cortex_error(get(bearer(viewer), LIST, params), 400, "BAD_REQUEST", details_contains=detail)

    def test_no_key_is_401_and_no_role_is_403(self, catalog, key_for, bearer):
        assert_cortex_error(get(APIClient(), LIST), 401, "UNAUTHORIZED")
        assert_cortex_error(get(bearer(key_for(None)), LIST), 403, "FORBIDDEN", details_contains="lacks the permission")

    def test_query_count_does_not_grow_with_entities(self, db, viewer, bearer):
        client = bearer(viewer)
        apply(descriptor("team-core", entity_type="team"))
        all_toggles = {"includeOwners": "true", "includeLinks": "true", "includeMetadata": "true"}

        def count(params) -> tuple[int, int]:
            with CaptureQueriesContext(connection) as queries:
                response = get(client, LIST, params)
            assert response.status_code == 200
            return len(queries), len(response.json()["entities"])

        def grow_to(n: int) -> None:
            for i in range(Entity.objects.filter(type="service").count(), n):
                apply(
                    descriptor(
                        f"svc-{i:02}",
                        groups=("g",),
                        team="team-core",
                        email=f"o{i}@example.com",
                        link=f"https://example.com/{i}",
                        tier=i,
                    )
                )

        grow_to(2)
        get(client, LIST)  # the key's first use of the minute records it; later calls do not
        small = {name: count(params) for name, params in (("bare", {}), ("all", all_toggles))}
        grow_to(12)
        large = {name: count(params) for name, params in (("bare", {}), ("all", all_toggles))}
        assert [n for _, n in small.values()] == [3, 3] and [n for _, n in large.values()] == [13, 13]
        assert {name: q for name, (q, _) in small.items()} == {name: q for name, (q, _) in large.items()}
        # Each toggle costs one query, and only when asked for.
        assert large["all"][0] == large["bare"][0] + 3


# --- descriptor ------------------------------------------------------------------------------------------


class TestDescriptor:
    def test_json_is_the_descriptor_last_applied(self, catalog, viewer, bearer):
        response = get(bearer(viewer), "/api/v1/catalog/checkout/openapi", {"yaml": "false"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        assert body == Entity.objects.get(tag="checkout").descriptor
        assert body["info"]["x-cortex-tag"] == "checkout"
        assert body["info"]["x-cortex-owners"] == [
            {"type": "group", "name": "team-core"},
            {"type": "email", "email": "lead@example.com", "description": "On call lead"},
        ]
        assert body["info"]["x-cortex-custom-metadata"] == {"tier": 2}

    def test_yaml_text_and_by_id(self, catalog, viewer, bearer):
        entity = Entity.objects.get(tag="checkout")
        response = get(bearer(viewer), f"/api/v1/catalog/{entity.public_id}/openapi", {"yaml": "true"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/yaml")
        text = response.content.decode()
        assert text.startswith("openapi: 3.0.1\ninfo:\n  title: Checkout\n")
        assert "[" not in text  # block style: rich (the CLI prints YAML through it) eats [..] as markup
        assert plain(load_yaml(text)) == entity.descriptor

    def test_yaml_applies_back_unchanged(self, catalog, viewer, bearer):
        text = get(bearer(viewer), f"/api/v1/catalog/{GOOD}/openapi", {"yaml": "true"}).content.decode()
        assert entity_apply_descriptor(text=text, source="round trip")[1] == "unchanged"

    def test_entity_never_applied_from_a_descriptor_gets_one_built(self, db, viewer, bearer):
        entity = Entity.objects.create(tag="pushed-svc", name="Pushed Svc", type="service", groups=["ops"])
        EntityOwner.objects.create(entity=entity, kind=OwnerKind.GROUP, name="team-ops")
        body = get(bearer(viewer), "/api/v1/catalog/pushed-svc/openapi").json()
        assert body == {
            "openapi": "3.0.1",
            "info": {
                "title": "Pushed Svc",
                "x-cortex-tag": "pushed-svc",
                "x-cortex-type": "service",
                "x-cortex-groups": ["ops"],
                "x-cortex-owners": [{"type": "group", "name": "team-ops"}],
            },
        }

    def test_archived_state_is_the_entitys_own(self, catalog, editor, bearer):
        client = bearer(editor)
        assert put(client, f"/api/v1/catalog/{GOOD}/archive").status_code == 200
        text = get(client, f"/api/v1/catalog/{GOOD}/openapi", {"yaml": "true"}).content.decode()
        assert "x-cortex-archived: true" in text
        apply(text)
        assert Entity.objects.get(tag=GOOD).archived is True  # applying the answer back keeps the archive
        old = get(client, "/api/v1/catalog/old-svc/openapi").json()
        assert old["info"]["x-cortex-archived"] is True
        put(client, "/api/v1/catalog/old-svc/unarchive")
        assert get(client, "/api/v1/catalog/old-svc/openapi").json()["info"]["x-cortex-archived"] is False

    def test_unknown_entity_is_404_and_no_role_403(self, catalog, key_for, viewer, bearer):
        response = get(bearer(viewer), "/api/v1/catalog/no-such-svc/openapi", {"yaml": "true"})
        assert_cortex_error(response, 404, "NOT_FOUND", details_contains="no-such-svc")
        assert_cortex_error(get(bearer(key_for(None)), f"/api/v1/catalog/{GOOD}/openapi"), 403, "FORBIDDEN")


# --- archive / unarchive ---------------------------------------------------------------------------------


class TestArchive:
    def test_archive_removes_the_entity_from_scorecards_and_evaluation(
        self, catalog, editor, viewer, bearer, django_capture_on_commit_callbacks, tasks_run
    ):
        world, _ = catalog
        assert EntityScore.objects.filter(entity=world.good).count() == 1
        assert RuleResult.objects.filter(entity=world.good).exists()
        with django_capture_on_commit_callbacks(execute=True):  # as a real request's commit does
            response = put(bearer(editor), f"/api/v1/catalog/{GOOD}/archive")
        assert response.status_code == 200
        body = response.json()
        assert (body["tag"], body["id"], body["isArchived"]) == (GOOD, world.good.public_id, True)
        assert body["metadata"] == [{"key": "tier", "value": 1}]  # the details body
        assert Entity.objects.get(tag=GOOD).archived is True
        assert tasks_run[0] == ("rescore_flush", ())  # and its scores were gone before the flush
        assert not EntityScore.objects.filter(entity=world.good).exists()
        assert not RuleResult.objects.filter(entity=world.good).exists()
        assert world.good.pk not in entities_to_evaluate()
        scorecard_evaluate(scorecard=world.scorecard)  # a full run does not bring it back
        assert not EntityScore.objects.filter(entity=world.good).exists()
        scores = get(bearer(viewer), f"/api/v1/scorecards/{world.scorecard.tag}/scores").json()
        assert [s["service"]["tag"] for s in scores["serviceScores"]] == [
            BAD,
            "checkout",
            "ledger",
            "shop",
            "team-core",
        ]
        assert GOOD not in tags(get(bearer(viewer), LIST))

    def test_archive_twice_answers_the_same_and_writes_once(self, catalog, editor, bearer):
        client = bearer(editor)
        first = put(client, f"/api/v1/catalog/{GOOD}/archive").json()
        second = put(client, f"/api/v1/catalog/{GOOD}/archive")
        assert second.status_code == 200
        assert second.json() == first  # lastUpdated too: nothing was written
        again = put(client, f"/api/v1/catalog/{BAD}/unarchive")  # never archived
        assert again.status_code == 200 and again.json()["isArchived"] is False

    def test_unarchive_evaluates_again_after_the_commit(
        self, catalog, editor, bearer, django_capture_on_commit_callbacks
    ):
        world, _ = catalog
        client = bearer(editor)
        put(client, f"/api/v1/catalog/{GOOD}/archive")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = put(client, f"/api/v1/catalog/{world.good.public_id}/unarchive")
        assert response.status_code == 200
        assert response.json()["isArchived"] is False
        score = EntityScore.objects.get(scorecard=world.scorecard, entity=world.good)
        assert (score.score, score.total_possible, score.level.name) == (6, 6, "Gold")
        assert world.good.pk in entities_to_evaluate()
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert put(client, f"/api/v1/catalog/{GOOD}/unarchive").status_code == 200
        assert callbacks == []  # nothing changed, nothing to evaluate

    def test_viewer_is_403_and_unknown_is_404(self, catalog, editor, viewer, bearer):
        for action in ("archive", "unarchive"):
            response = put(bearer(viewer), f"/api/v1/catalog/{GOOD}/{action}")
            assert_cortex_error(response, 403, "FORBIDDEN", details_contains="lacks the permission")
            assert_cortex_error(put(bearer(editor), f"/api/v1/catalog/nope/{action}"), 404, "NOT_FOUND")
        assert Entity.objects.get(tag=GOOD).archived is False
