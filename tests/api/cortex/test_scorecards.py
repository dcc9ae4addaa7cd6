"""Cortex v1 scorecard operations: list, get, descriptor (get / apply), delete, next steps, badge and
evaluate-entity, as cortexapps-cli calls them (API_CONTRACT §2)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.roles import EDITOR
from apps.catalog.models import Entity
from apps.evaluations.models import EntityScore, EvaluationRun, RunStatus
from apps.scorecards.models import Level, Rule, Scorecard
from tests.api.cortex.conftest import (
    BAD,
    DESCRIPTION,
    DESCRIPTION_RULE,
    GOOD,
    NAME,
    OWNER_RULE,
    TAG,
    TIER_ONE_RULE,
    TIER_SET_RULE,
    assert_cortex_error,
    make_entity,
    make_scorecard,
    scorecard_yaml,
)

pytestmark = pytest.mark.django_db

YAML = "application/yaml;charset=UTF-8"
RULE_TITLES = [OWNER_RULE, DESCRIPTION_RULE, TIER_SET_RULE, TIER_ONE_RULE]


def cli_get(client, path, **params):
    """A GET as the CLI sends it: with `Content-Type: application/yaml` even though there is no body."""
    return client.get(path, params, CONTENT_TYPE="application/yaml")


def cli_delete(client, path):
    """A DELETE as the CLI sends it: a `{}` JSON body."""
    return client.delete(path, data="{}", content_type="application/json")


# --- list ------------------------------------------------------------------------------------------------


class TestList:
    def test_lists_published_scorecards_with_their_levels_and_rules(self, world, viewer, bearer):
        response = cli_get(bearer(viewer), "/api/v1/scorecards", showDrafts="False")
        assert response.status_code == 200
        body = response.json()
        assert (body["page"], body["total"], body["totalPages"]) == (0, 1, 1)
        [card] = body["scorecards"]
        assert card["tag"] == TAG
        assert card["name"] == NAME
        assert card["description"] == DESCRIPTION
        assert card["isDraft"] is False
        assert card["lastUpdated"].endswith("Z")
        assert card["evaluation"] == {"window": 4}
        assert card["exemptions"] == {"enabled": True, "autoApprove": False}
        assert card["notifications"] == {"enabled": False, "scoreDropNotificationsEnabled": False}
        assert card["filter"] == {}
        assert card["levels"] == [
            {"level": {"name": "Bronze", "number": 1}},
            {"level": {"name": "Silver", "number": 2}},
            {"level": {"name": "Gold", "number": 3}},
        ]
        assert [r["title"] for r in card["rules"]] == RULE_TITLES
        owner = card["rules"][0]
        assert owner == {
            "identifier": str(world.rule(OWNER_RULE).identifier),
            "title": OWNER_RULE,
            "description": "",
            "expression": "ownership.allOwners().length > 0",
            "failureMessage": "Add x-cortex-owners to the descriptor.",
            "levelName": "Bronze",
            "weight": 3,
            "effectiveFrom": None,
            "filter": {},
        }
        # Exactly one top-level list: the CLI's pager needs that.
        assert [k for k, v in body.items() if isinstance(v, list)] == ["scorecards"]

    def test_drafts_only_with_show_drafts_and_only_for_editors(self, world, viewer, editor, bearer):
        make_scorecard("draft-card", "A Draft", draft=True)
        as_editor = bearer(editor)
        without = cli_get(as_editor, "/api/v1/scorecards", showDrafts="False").json()
        assert [s["tag"] for s in without["scorecards"]] == [TAG]
        with_drafts = cli_get(as_editor, "/api/v1/scorecards", showDrafts="True").json()
        assert [s["tag"] for s in with_drafts["scorecards"]] == ["draft-card", TAG]
        assert with_drafts["total"] == 2
        assert with_drafts["scorecards"][0]["isDraft"] is True
        # A Viewer never sees drafts, even when asking for them.
        as_viewer = cli_get(bearer(viewer), "/api/v1/scorecards", showDrafts="true").json()
        assert [s["tag"] for s in as_viewer["scorecards"]] == [TAG]
        assert as_viewer["total"] == 1

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"page": "-1"}, "page"),
            ({"pageSize": "0"}, "pageSize"),
            ({"pageSize": "1001"}, "pageSize"),
            ({"pageSize": "abc"}, "pageSize"),
            ({"showDrafts": "maybe"}, "showDrafts"),
        ],
    )
    def test_bad_parameters_are_400(self, world, viewer, bearer, params, field):
        response = cli_get(bearer(viewer), "/api/v1/scorecards", **params)
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains=f"{field}:")

    def test_page_size_1000_is_allowed(self, world, viewer, bearer):
        body = cli_get(bearer(viewer), "/api/v1/scorecards", pageSize="1000").json()
        assert (body["total"], body["totalPages"], len(body["scorecards"])) == (1, 1, 1)

    def test_page_size_one_walks_every_scorecard_once(self, db, viewer, bearer):
        tags = [f"card-{i:02d}" for i in range(5)]
        for tag in reversed(tags):
            make_scorecard(tag, tag.upper())
        client = bearer(viewer)
        seen = []
        page = 0
        while True:
            body = cli_get(client, "/api/v1/scorecards", page=str(page), pageSize="1").json()
            assert (body["page"], body["total"], body["totalPages"]) == (page, 5, 5)
            seen.extend(s["tag"] for s in body["scorecards"])
            if page + 1 == body["totalPages"]:
                break
            page += 1
        assert seen == tags

    def test_page_past_the_end_is_empty_with_the_right_totals(self, db, viewer, bearer):
        for i in range(3):
            make_scorecard(f"card-{i}", f"Card {i}")
        body = cli_get(bearer(viewer), "/api/v1/scorecards", page="7", pageSize="2").json()
        assert body == {"page": 7, "total": 3, "totalPages": 2, "scorecards": []}

    def test_no_scorecards_is_zero_pages(self, db, viewer, bearer):
        body = cli_get(bearer(viewer), "/api/v1/scorecards").json()
        assert body == {"page": 0, "total": 0, "totalPages": 0, "scorecards": []}

    def test_search_by_entity_and_group_finds_only_evaluated_scorecards(self, world, viewer, bearer):
        make_scorecard("never-evaluated", "Never Evaluated")
        client = bearer(viewer)
        all_tags = [s["tag"] for s in cli_get(client, "/api/v1/scorecards").json()["scorecards"]]
        assert all_tags == [TAG, "never-evaluated"]
        by_entity = cli_get(client, "/api/v1/scorecards", entities=f"{GOOD},nobody").json()
        assert [s["tag"] for s in by_entity["scorecards"]] == [TAG]
        by_id = cli_get(client, "/api/v1/scorecards", entities=world.bad.public_id).json()
        assert [s["tag"] for s in by_id["scorecards"]] == [TAG]
        by_group = cli_get(client, "/api/v1/scorecards", groups="payments").json()
        assert [s["tag"] for s in by_group["scorecards"]] == [TAG]
        no_group = cli_get(client, "/api/v1/scorecards", groups="pay").json()
        assert no_group["scorecards"] == [] and no_group["total"] == 0

    def test_search_by_team_finds_scorecards_scoring_the_team_s_entities(self, world, viewer, bearer):
        from apps.catalog.services import entity_apply_descriptor
        from apps.evaluations.services import scorecard_evaluate

        team = make_entity("team-payments")
        team_text = (
            "openapi: 3.0.1\ninfo:\n  title: Owned\n  x-cortex-tag: owned-svc\n  x-cortex-type: service\n"
            "  x-cortex-owners:\n    - type: group\n      name: team-payments\n"
        )
        entity_apply_descriptor(text=team_text, source="test")
        other = make_scorecard("other-card", "Other Card")
        scorecard_evaluate(scorecard=other, entity_ids=[world.good.pk])
        client = bearer(viewer)
        # Before the owned entity is scored nowhere: no scorecard matches the team.
        assert cli_get(client, "/api/v1/scorecards", teams="team-payments").json()["scorecards"] == []
        owned = Entity.objects.get(tag="owned-svc")
        scorecard_evaluate(scorecard=world.scorecard, entity_ids=[owned.pk])
        by_tag = cli_get(client, "/api/v1/scorecards", teams="team-payments").json()
        assert [s["tag"] for s in by_tag["scorecards"]] == [TAG]
        by_id = cli_get(client, "/api/v1/scorecards", teams=team.public_id).json()
        assert [s["tag"] for s in by_id["scorecards"]] == [TAG]

    def test_query_count_does_not_grow_with_scorecards(self, db, viewer, bearer):
        client = bearer(viewer)

        def add(n):
            for _ in range(n):
                card = make_scorecard(f"qc-{Scorecard.objects.count():03d}", f"QC {Scorecard.objects.count():03d}")
                assert card.rules.count() == 4

        add(2)
        cli_get(client, "/api/v1/scorecards")  # warm-up: the key's first use is recorded
        with CaptureQueriesContext(connection) as few:
            assert len(cli_get(client, "/api/v1/scorecards").json()["scorecards"]) == 2
        add(10)
        with CaptureQueriesContext(connection) as many:
            assert len(cli_get(client, "/api/v1/scorecards").json()["scorecards"]) == 12
        assert len(many) == len(few)


# --- get / descriptor ------------------------------------------------------------------------------------


class TestGet:
    def test_get_answers_the_scorecard(self, world, viewer, bearer):
        response = cli_get(bearer(viewer), f"/api/v1/scorecards/{TAG}")
        assert response.status_code == 200
        card = response.json()["scorecard"]
        assert card["tag"] == TAG
        assert card["name"] == NAME
        assert [r["identifier"] for r in card["rules"]] == [str(world.rule(title).identifier) for title in RULE_TITLES]
        assert [r["weight"] for r in card["rules"]] == [3, 1, 1, 1]
        assert [r["levelName"] for r in card["rules"]] == ["Bronze", "Bronze", "Silver", "Gold"]

    def test_unknown_scorecard_is_404(self, world, viewer, bearer):
        body = assert_cortex_error(cli_get(bearer(viewer), "/api/v1/scorecards/nope"), 404, "NOT_FOUND")
        assert "nope" in body["details"]

    def test_draft_is_404_for_a_viewer_and_visible_to_an_editor(self, db, viewer, editor, bearer):
        make_scorecard("draft-card", "A Draft", draft=True)
        assert_cortex_error(cli_get(bearer(viewer), "/api/v1/scorecards/draft-card"), 404, "NOT_FOUND")
        response = cli_get(bearer(editor), "/api/v1/scorecards/draft-card")
        assert response.status_code == 200
        assert response.json()["scorecard"]["isDraft"] is True

    def test_query_count_does_not_grow_with_rules(self, db, viewer, bearer):
        client = bearer(viewer)
        card = make_scorecard()
        cli_get(client, f"/api/v1/scorecards/{TAG}")
        with CaptureQueriesContext(connection) as few:
            assert len(cli_get(client, f"/api/v1/scorecards/{TAG}").json()["scorecard"]["rules"]) == 4
        level = Level.objects.get(scorecard=card, rank=1)
        Rule.objects.bulk_create(
            Rule(scorecard=card, level=level, title=f"Extra {i}", expression="true", weight=1, position=10 + i)
            for i in range(8)
        )
        with CaptureQueriesContext(connection) as many:
            assert len(cli_get(client, f"/api/v1/scorecards/{TAG}").json()["scorecard"]["rules"]) == 12
        assert len(many) == len(few)


class TestDescriptor:
    def test_get_answers_block_yaml_that_re_posts_unchanged(self, world, viewer, editor, bearer):
        response = cli_get(bearer(viewer), f"/api/v1/scorecards/{TAG}/descriptor")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/yaml; charset=utf-8"
        text = response.content.decode()
        assert f"tag: {TAG}\n" in text
        assert f"description: {DESCRIPTION}\n" in text
        assert "{" not in text and "[" not in text  # block style: rich would eat [..] as markup
        for title in RULE_TITLES:
            assert f"identifier: {world.rule(title).identifier}" in text
        before = Scorecard.objects.get(tag=TAG).version
        again = bearer(editor).post("/api/v1/scorecards/descriptor?dryRun=False", data=text, content_type=YAML)
        assert again.status_code == 200, again.content
        assert Scorecard.objects.get(tag=TAG).version == before

    @pytest.mark.parametrize("accept", ["application/yaml", "text/plain", "*/*", "application/json"])
    def test_any_accept_header_gets_the_yaml(self, world, viewer, bearer, accept):
        response = bearer(viewer).get(f"/api/v1/scorecards/{TAG}/descriptor", HTTP_ACCEPT=accept)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/yaml; charset=utf-8"
        assert response.content.decode().startswith(f"tag: {TAG}\n")

    def test_unknown_descriptor_with_accept_yaml_is_still_a_json_404(self, db, viewer, bearer):
        response = bearer(viewer).get("/api/v1/scorecards/nope/descriptor", HTTP_ACCEPT="application/yaml")
        assert_cortex_error(response, 404, "NOT_FOUND")

    def test_query_count_does_not_grow_with_rules(self, db, viewer, bearer):
        client = bearer(viewer)
        card = make_scorecard()
        path = f"/api/v1/scorecards/{TAG}/descriptor"
        cli_get(client, path)
        with CaptureQueriesContext(connection) as few:
            assert cli_get(client, path).content.decode().count("- identifier:") == 4
        levels = list(Level.objects.filter(scorecard=card))
        Rule.objects.bulk_create(
            Rule(scorecard=card, level=levels[i % 3], title=f"Extra {i}", expression="true", weight=1, position=10 + i)
            for i in range(8)
        )
        with CaptureQueriesContext(connection) as many:
            assert cli_get(client, path).content.decode().count("- identifier:") == 12
        assert len(many) == len(few)

    def test_badge_query_count_is_fixed(self, world, viewer, bearer, django_assert_num_queries):
        client = bearer(viewer)
        path = f"/api/v1/scorecards/{TAG}/entity/{GOOD}/badge"
        cli_get(client, path)
        with CaptureQueriesContext(connection) as first:
            cli_get(client, path)
        for i in range(10):
            make_entity(f"more-{i}")
        with django_assert_num_queries(len(first)):
            assert "img.shields.io" in cli_get(client, path).json()["value"]

    def test_unknown_scorecard_descriptor_is_404(self, db, viewer, bearer):
        assert_cortex_error(cli_get(bearer(viewer), "/api/v1/scorecards/nope/descriptor"), 404, "NOT_FOUND")

    def test_draft_descriptor_is_404_for_a_viewer(self, db, viewer, bearer):
        make_scorecard("draft-card", "A Draft", draft=True)
        assert_cortex_error(cli_get(bearer(viewer), "/api/v1/scorecards/draft-card/descriptor"), 404, "NOT_FOUND")


class TestApplyDescriptor:
    def test_create_answers_the_scorecard_and_writes_it(self, db, editor, bearer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = bearer(editor).post(
                "/api/v1/scorecards/descriptor?dryRun=False", data=scorecard_yaml(), content_type=YAML
            )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["warnings"] == []
        assert body["scorecard"]["tag"] == TAG
        assert [r["title"] for r in body["scorecard"]["rules"]] == RULE_TITLES
        card = Scorecard.objects.get(tag=TAG)
        assert (card.name, card.draft, card.rules.count(), card.levels.count()) == (NAME, False, 4, 3)
        assert len(callbacks) == 1  # a published scorecard is scored right after the commit

    def test_draft_is_not_scored(self, db, editor, bearer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = bearer(editor).post(
                "/api/v1/scorecards/descriptor?dryRun=False", data=scorecard_yaml(draft=True), content_type=YAML
            )
        assert response.status_code == 200
        assert response.json()["scorecard"]["isDraft"] is True
        assert callbacks == []
        assert EvaluationRun.objects.count() == 0

    def test_published_scorecard_is_scored_after_the_commit(
        self, db, editor, bearer, django_capture_on_commit_callbacks
    ):
        make_entity(GOOD)
        with django_capture_on_commit_callbacks(execute=True):
            response = bearer(editor).post(
                "/api/v1/scorecards/descriptor?dryRun=False", data=scorecard_yaml(), content_type=YAML
            )
        assert response.status_code == 200
        run = EvaluationRun.objects.get()
        assert (run.status, run.trigger) == (RunStatus.SUCCEEDED, "change")
        score = EntityScore.objects.get(scorecard__tag=TAG, entity__tag=GOOD)
        assert (score.score, score.total_possible, score.level.name) == (6, 6, "Gold")

    def test_re_post_keeps_rule_identifiers(self, db, editor, bearer):
        client = bearer(editor)
        first = client.post("/api/v1/scorecards/descriptor?dryRun=False", data=scorecard_yaml(), content_type=YAML)
        ids = {r["title"]: r["identifier"] for r in first.json()["scorecard"]["rules"]}
        changed = scorecard_yaml().replace("weight: 3", "weight: 5").replace(NAME, "Renamed")
        second = client.post("/api/v1/scorecards/descriptor?dryRun=False", data=changed, content_type=YAML)
        assert second.status_code == 200, second.content
        card = second.json()["scorecard"]
        assert card["name"] == "Renamed"
        assert {r["title"]: r["identifier"] for r in card["rules"]} == ids
        assert Rule.objects.get(title=OWNER_RULE).weight == 5
        assert str(Rule.objects.get(title=OWNER_RULE).identifier) == ids[OWNER_RULE]

    @pytest.mark.parametrize("flag", ["True", "true"])
    def test_dry_run_writes_nothing(self, db, editor, bearer, flag):
        counts = (Scorecard.objects.count(), Rule.objects.count(), Level.objects.count())
        response = bearer(editor).post(
            f"/api/v1/scorecards/descriptor?dryRun={flag}", data=scorecard_yaml(), content_type=YAML
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["warnings"], body["valid"]) == ([], True)
        assert (Scorecard.objects.count(), Rule.objects.count(), Level.objects.count()) == counts == (0, 0, 0)

    def test_dry_run_of_a_new_scorecard_returns_the_scorecard_it_would_create(self, db, editor, bearer):
        client = bearer(editor)
        dry = client.post("/api/v1/scorecards/descriptor?dryRun=true", data=scorecard_yaml(), content_type=YAML)
        assert dry.status_code == 200, dry.content
        assert not Scorecard.objects.exists()
        real = client.post("/api/v1/scorecards/descriptor?dryRun=false", data=scorecard_yaml(), content_type=YAML)
        would, made = dry.json()["scorecard"], real.json()["scorecard"]
        assert would["tag"] == TAG and would["name"] == NAME
        assert [level["level"]["name"] for level in would["levels"]] == ["Bronze", "Silver", "Gold"]
        assert [(r["title"], r["levelName"], r["weight"]) for r in would["rules"]] == [
            (r["title"], r["levelName"], r["weight"]) for r in made["rules"]
        ]
        # Every key but the times and the fresh rule identifiers is what the real apply answers.
        for card in (would, made):
            card.pop("lastUpdated")
            for rule in card["rules"]:
                rule.pop("identifier")
        assert would == made

    def test_dry_run_of_a_change_leaves_the_stored_scorecard(self, world, editor, bearer):
        changed = scorecard_yaml().replace(NAME, "Would Be Renamed")
        response = bearer(editor).post("/api/v1/scorecards/descriptor?dryRun=True", data=changed, content_type=YAML)
        assert response.status_code == 200
        assert response.json()["valid"] is True
        assert response.json()["scorecard"]["name"] == NAME
        assert Scorecard.objects.get(tag=TAG).name == NAME

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            ("weight: 3", "weight: heavy"),  # refused by validation
            ("weight: 3", "weight: 3000000000"),  # refused by the database (integer out of range)
            ("- name: Gold", f"- name: {'G' * 65}"),  # longer than the column: refused by validation
        ],
    )
    def test_dry_run_refuses_what_the_apply_refuses(self, world, editor, bearer, old, new):
        text = scorecard_yaml().replace(old, new, 1)
        before = list(Rule.objects.order_by("id").values_list("title", "weight", "level__name"))
        client = bearer(editor)
        dry = client.post("/api/v1/scorecards/descriptor?dryRun=true", data=text, content_type=YAML)
        real = client.post("/api/v1/scorecards/descriptor?dryRun=false", data=text, content_type=YAML)
        dry_body = assert_cortex_error(dry, 400, "BAD_REQUEST")
        real_body = assert_cortex_error(real, 400, "BAD_REQUEST")
        assert dry_body["violations"] == real_body["violations"]
        assert list(Rule.objects.order_by("id").values_list("title", "weight", "level__name")) == before

    def test_invalid_yaml_is_400_with_violations_carrying_the_line(self, db, editor, bearer):
        response = bearer(editor).post(
            "/api/v1/scorecards/descriptor?dryRun=False", data="tag: x\nname: [\n", content_type=YAML
        )
        body = assert_cortex_error(response, 400, "BAD_REQUEST")
        [problem] = body["violations"]
        assert problem["title"] == "Invalid descriptor"
        assert problem["violationType"] == "ERROR"
        assert "line 3" in problem["pointer"] or "line 2" in problem["pointer"]
        assert Scorecard.objects.count() == 0

    def test_invalid_field_is_400_with_pointer_and_line(self, db, editor, bearer):
        text = scorecard_yaml().replace("weight: 3", "weight: heavy")
        line = text.splitlines().index("    weight: heavy") + 1
        response = bearer(editor).post("/api/v1/scorecards/descriptor?dryRun=False", data=text, content_type=YAML)
        body = assert_cortex_error(response, 400, "BAD_REQUEST")
        pointers = [v["pointer"] for v in body["violations"]]
        assert any(p.startswith("/rules/0/weight") and f"line {line}" in p for p in pointers), pointers
        assert all(v["violationType"] == "ERROR" for v in body["violations"])
        assert Scorecard.objects.count() == 0

    def test_non_utf8_body_is_400(self, db, editor, bearer):
        response = bearer(editor).post(
            "/api/v1/scorecards/descriptor?dryRun=False",
            data=scorecard_yaml().encode("utf-8") + b"\xff\xfe",
            content_type=YAML,
        )
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="UTF-8")
        assert Scorecard.objects.count() == 0

    def test_bad_dry_run_flag_is_400(self, db, editor, bearer):
        response = bearer(editor).post(
            "/api/v1/scorecards/descriptor?dryRun=perhaps", data=scorecard_yaml(), content_type=YAML
        )
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="dryRun")
        assert Scorecard.objects.count() == 0

    def test_viewer_may_not_apply(self, db, viewer, bearer):
        response = bearer(viewer).post(
            "/api/v1/scorecards/descriptor?dryRun=False", data=scorecard_yaml(), content_type=YAML
        )
        assert_cortex_error(response, 403, "FORBIDDEN", details_contains="scorecards.change_scorecard")
        assert Scorecard.objects.count() == 0

    def test_no_key_is_401(self, db, bearer):
        response = bearer(None).post(
            "/api/v1/scorecards/descriptor?dryRun=False", data=scorecard_yaml(), content_type=YAML
        )
        assert_cortex_error(response, 401, "UNAUTHORIZED")
        assert Scorecard.objects.count() == 0


# --- delete ----------------------------------------------------------------------------------------------


class TestDelete:
    def test_editor_deletes_with_a_json_body(self, world, editor, bearer):
        response = cli_delete(bearer(editor), f"/api/v1/scorecards/{TAG}")
        assert response.status_code == 200
        assert not Scorecard.objects.filter(tag=TAG).exists()
        assert Rule.objects.count() == 0

    def test_viewer_may_not_delete(self, world, viewer, bearer):
        response = cli_delete(bearer(viewer), f"/api/v1/scorecards/{TAG}")
        assert_cortex_error(response, 403, "FORBIDDEN", details_contains="scorecards.delete_scorecard")
        assert Scorecard.objects.filter(tag=TAG).exists()

    def test_unknown_is_404(self, db, editor, bearer):
        assert_cortex_error(cli_delete(bearer(editor), "/api/v1/scorecards/nope"), 404, "NOT_FOUND")

    def test_scorecard_tagged_descriptor_can_be_read_and_deleted(self, db, editor, bearer):
        make_scorecard("descriptor", "Tagged Descriptor")
        client = bearer(editor)
        got = cli_get(client, "/api/v1/scorecards/descriptor")
        assert got.status_code == 200
        assert got.json()["scorecard"]["name"] == "Tagged Descriptor"
        assert cli_delete(client, "/api/v1/scorecards/descriptor").status_code == 200
        assert not Scorecard.objects.filter(tag="descriptor").exists()

    def test_draft_deleted_disappears_from_show_drafts(self, db, editor, bearer):
        make_scorecard("draft-card", "A Draft", draft=True)
        client = bearer(editor)
        assert cli_delete(client, "/api/v1/scorecards/draft-card").status_code == 200
        body = cli_get(client, "/api/v1/scorecards", showDrafts="True").json()
        assert body["scorecards"] == []


# --- next steps ------------------------------------------------------------------------------------------


class TestNextSteps:
    def test_failing_entity_gets_the_rules_of_its_next_level(self, world, viewer, bearer):
        response = cli_get(bearer(viewer), f"/api/v1/scorecards/{TAG}/next-steps", entityTag=BAD)
        assert response.status_code == 200
        owner = world.rule(OWNER_RULE)
        assert response.json() == {
            "nextSteps": [
                {
                    "currentLevel": None,
                    "nextLevel": {"level": {"name": "Bronze", "number": 1}},
                    "rulesToComplete": [
                        {
                            "identifier": str(owner.identifier),
                            "title": OWNER_RULE,
                            "expression": "ownership.allOwners().length > 0",
                            "description": "",
                            "failureMessage": "Add x-cortex-owners to the descriptor.",
                            "levelName": "Bronze",
                        }
                    ],
                }
            ]
        }

    def test_top_level_entity_and_unevaluated_entity_have_none(self, world, viewer, bearer):
        client = bearer(viewer)
        assert cli_get(client, f"/api/v1/scorecards/{TAG}/next-steps", entityTag=GOOD).json() == {"nextSteps": []}
        make_entity("fresh-svc")
        assert cli_get(client, f"/api/v1/scorecards/{TAG}/next-steps", entityTag="fresh-svc").json() == {
            "nextSteps": []
        }

    def test_missing_entity_tag_is_400(self, world, viewer, bearer):
        response = cli_get(bearer(viewer), f"/api/v1/scorecards/{TAG}/next-steps")
        assert_cortex_error(response, 400, "BAD_REQUEST", details_contains="entityTag")

    def test_unknown_entity_or_scorecard_is_404(self, world, viewer, bearer):
        client = bearer(viewer)
        assert_cortex_error(
            cli_get(client, f"/api/v1/scorecards/{TAG}/next-steps", entityTag="ghost"), 404, "NOT_FOUND"
        )
        assert_cortex_error(cli_get(client, "/api/v1/scorecards/nope/next-steps", entityTag=BAD), 404, "NOT_FOUND")

    def test_no_role_is_403(self, world, key_for, bearer):
        response = cli_get(bearer(key_for(None)), f"/api/v1/scorecards/{TAG}/next-steps", entityTag=BAD)
        assert_cortex_error(response, 403, "FORBIDDEN")

    def test_query_count_does_not_grow_with_rules(self, db, viewer, bearer):
        from apps.evaluations.services import scorecard_evaluate

        card = make_scorecard()
        make_entity(BAD, owned=False)
        scorecard_evaluate(scorecard=card)
        client = bearer(viewer)
        path = f"/api/v1/scorecards/{TAG}/next-steps"
        cli_get(client, path, entityTag=BAD)
        with CaptureQueriesContext(connection) as few:
            steps = cli_get(client, path, entityTag=BAD).json()["nextSteps"][0]["rulesToComplete"]
        assert len(steps) == 1
        bronze = Level.objects.get(scorecard=card, rank=1)
        Rule.objects.bulk_create(
            Rule(scorecard=card, level=bronze, title=f"Never {i}", expression="false", weight=1, position=10 + i)
            for i in range(10)
        )
        scorecard_evaluate(scorecard=card)
        with CaptureQueriesContext(connection) as many:
            steps = cli_get(client, path, entityTag=BAD).json()["nextSteps"][0]["rulesToComplete"]
        assert len(steps) == 11
        assert len(many) == len(few)


# --- badge -----------------------------------------------------------------------------------------------


class TestBadge:
    def test_badge_is_markdown_for_shields_io_pointing_at_our_json(self, world, viewer, bearer):
        response = cli_get(bearer(viewer), f"/api/v1/scorecards/{TAG}/entity/{GOOD}/badge")
        assert response.status_code == 200
        value = response.json()["value"]
        assert "img.shields.io" in value
        endpoint = quote(f"http://testserver/badges/{TAG}/{GOOD}.json", safe="")
        assert value == (
            f"[![{NAME}](https://img.shields.io/endpoint?url={endpoint})](http://testserver/entities/{GOOD}/)"
        )

    def test_badge_by_entity_id(self, world, viewer, bearer):
        value = cli_get(bearer(viewer), f"/api/v1/scorecards/{TAG}/entity/{world.bad.public_id}/badge").json()["value"]
        assert quote(f"/badges/{TAG}/{BAD}.json", safe="") in value

    def test_unknown_entity_or_scorecard_is_404(self, world, viewer, bearer):
        client = bearer(viewer)
        assert_cortex_error(cli_get(client, f"/api/v1/scorecards/{TAG}/entity/ghost/badge"), 404, "NOT_FOUND")
        assert_cortex_error(cli_get(client, f"/api/v1/scorecards/nope/entity/{GOOD}/badge"), 404, "NOT_FOUND")

    def test_no_key_is_401(self, world, bearer):
        assert_cortex_error(cli_get(bearer(None), f"/api/v1/scorecards/{TAG}/entity/{GOOD}/badge"), 401, "UNAUTHORIZED")


# --- evaluate one entity ---------------------------------------------------------------------------------


class TestEvaluateEntity:
    def path(self, tag=TAG, entity=BAD):
        return f"/api/v1/scorecards/{tag}/entity/{entity}/scores"

    def test_starts_a_run_for_that_entity(self, world, editor, bearer, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = bearer(editor).post(self.path(), data="{}", content_type="application/json")
        assert response.status_code == 200, response.content
        body = response.json()
        run = EvaluationRun.objects.get(pk=body["runId"])
        assert body == {"runId": run.pk, "status": "running", "entityTag": BAD, "scorecardTag": TAG}
        run.refresh_from_db()
        assert run.entities_total == 1
        assert run.requested_by == editor.user
        assert run.status == RunStatus.SUCCEEDED  # the eager worker ran its chunk after the commit
        # That run is over, so the next request starts another one rather than a 409.
        with django_capture_on_commit_callbacks(execute=True):
            again = bearer(editor).post(self.path(entity=GOOD), data="{}", content_type="application/json")
        assert again.status_code == 200
        assert again.json()["runId"] != run.pk
        assert EvaluationRun.objects.count() == 2

    def test_while_a_run_is_active_is_409(self, world, editor, bearer, django_capture_on_commit_callbacks):
        client = bearer(editor)
        with django_capture_on_commit_callbacks(execute=False):
            first = client.post(self.path(), data="{}", content_type="application/json")
        assert first.status_code == 200
        assert EvaluationRun.objects.get().status == RunStatus.RUNNING
        second = client.post(self.path(entity=GOOD), data="{}", content_type="application/json")
        body = assert_cortex_error(second, 409, "CONFLICT")
        assert body["details"] == "Already evaluating scorecard"
        assert EvaluationRun.objects.count() == 1

    def test_viewer_may_not_evaluate(self, world, viewer, bearer):
        response = bearer(viewer).post(self.path(), data="{}", content_type="application/json")
        assert_cortex_error(response, 403, "FORBIDDEN", details_contains="scorecards.evaluate_scorecard")
        assert EvaluationRun.objects.count() == 0

    def test_unknown_entity_or_scorecard_is_404(self, world, editor, bearer):
        client = bearer(editor)
        assert_cortex_error(
            client.post(self.path(entity="ghost"), data="{}", content_type="application/json"), 404, "NOT_FOUND"
        )
        assert_cortex_error(
            client.post(self.path(tag="nope"), data="{}", content_type="application/json"), 404, "NOT_FOUND"
        )
        assert EvaluationRun.objects.count() == 0

    def test_get_is_405(self, world, editor, key_for, bearer):
        # GET is not an operation here at all: 405, even for a user who may evaluate.
        response = cli_get(bearer(key_for(EDITOR)), self.path())
        assert_cortex_error(response, 405, "METHOD_NOT_ALLOWED")
