"""Cortex v1 scores: a scorecard's scores (`scorecards scores`) and an entity's scores on every scorecard
(`catalog scorecard-scores`). Scores come from the real evaluation service, never hand-written rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.catalog.models import Entity
from apps.evaluations.models import EntityScore
from apps.evaluations.services import scorecard_evaluate
from apps.exemptions.services import exemption_approve, exemption_request
from apps.scorecards.models import Scorecard
from tests.api.cortex.conftest import (
    BAD,
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
)

pytestmark = pytest.mark.django_db

RULE_TITLES = [OWNER_RULE, DESCRIPTION_RULE, TIER_SET_RULE, TIER_ONE_RULE]


def get(client, path, **params):
    return client.get(path, params, CONTENT_TYPE="application/yaml")


class TestScorecardScores:
    path = f"/api/v1/scorecards/{TAG}/scores"

    def test_every_entity_with_summary_levels_and_rule_results(self, world, viewer, bearer):
        response = get(bearer(viewer), self.path)
        assert response.status_code == 200
        body = response.json()
        assert body["scorecardTag"] == TAG
        assert body["scorecardName"] == NAME
        assert body["scorecardFilter"] == {}
        assert (body["page"], body["total"], body["totalPages"]) == (0, 2, 1)
        bad, good = body["serviceScores"]  # ordered by entity tag

        assert good["service"] == {
            "id": world.good.public_id,
            "tag": GOOD,
            "name": "Good Svc",
            "groups": ["payments"],
            "owners": {"groups": [], "individuals": [{"email": "owner@example.com", "description": None}]},
        }
        assert good["score"]["summary"] == {"score": 6, "totalPossibleScore": 6, "percentage": 1.0}
        assert good["score"]["ladderLevels"] == [{"level": {"name": "Gold", "number": 3}}]
        assert good["lastEvaluated"].endswith("Z")
        assert good["ruleExemptions"] == []

        assert bad["service"]["tag"] == BAD
        assert bad["service"]["owners"] == {"groups": [], "individuals": []}
        assert bad["score"]["summary"] == {"score": 3, "totalPossibleScore": 6, "percentage": 0.5}
        assert bad["score"]["ladderLevels"] == []
        assert bad["score"]["rules"] == [
            {
                "identifier": str(world.rule(title).identifier),
                "title": title,
                "expression": world.rule(title).expression,
                "score": score,
                "state": state,
                "error": None,
            }
            for title, score, state in [
                (OWNER_RULE, 0, "fail"),
                (DESCRIPTION_RULE, 1, "pass"),
                (TIER_SET_RULE, 1, "pass"),
                (TIER_ONE_RULE, 1, "pass"),
            ]
        ]

    def test_percentage_is_a_fraction(self, world, viewer, bearer):
        body = get(bearer(viewer), self.path).json()
        for row in body["serviceScores"]:
            summary = row["score"]["summary"]
            assert 0 <= summary["percentage"] <= 1
            assert summary["percentage"] == pytest.approx(summary["score"] / summary["totalPossibleScore"])

    def test_entity_tag_narrows_to_one_entity(self, world, viewer, bearer):
        client = bearer(viewer)
        body = get(client, self.path, entityTag=GOOD).json()
        assert [s["service"]["tag"] for s in body["serviceScores"]] == [GOOD]
        assert (body["total"], body["totalPages"]) == (1, 1)
        by_id = get(client, self.path, entityTag=world.bad.public_id).json()
        assert [s["service"]["tag"] for s in by_id["serviceScores"]] == [BAD]
        nobody = get(client, self.path, entityTag="ghost").json()
        assert (nobody["serviceScores"], nobody["total"], nobody["totalPages"]) == ([], 0, 0)

    def test_approved_exemption_shows_and_lifts_the_score(self, world, viewer, approver, bearer):
        rule = world.rule(OWNER_RULE)
        exemption = exemption_request(
            scorecard=world.scorecard, entity=world.bad, rule=rule, reason="owner leaves", days=None, by=viewer.user
        )
        exemption_approve(exemption_id=exemption.pk, by=approver.user)
        scorecard_evaluate(scorecard=world.scorecard)
        body = get(bearer(viewer), self.path, entityTag=BAD).json()
        [row] = body["serviceScores"]
        assert row["score"]["summary"] == {"score": 3, "totalPossibleScore": 3, "percentage": 1.0}
        assert row["score"]["ladderLevels"] == [{"level": {"name": "Gold", "number": 3}}]
        assert row["score"]["rules"][0]["state"] == "exempt"
        assert row["score"]["rules"][0]["score"] == 0
        [shown] = row["ruleExemptions"]
        assert shown["ruleIdentifier"] == str(rule.identifier)
        assert shown["ruleExpression"] == rule.expression
        assert shown["requestingReason"] == "owner leaves"
        assert shown["endDate"] is None
        assert shown["exemptionStatus"]["status"] == "APPROVED"
        assert shown["exemptionStatus"]["handledBy"]["email"] == approver.user.email

    def test_pages_hold_250_by_default_and_page_counts_from_0_with_or_without_page_size(self, world, viewer, bearer):
        # As the seed says: 250 per page unless pageSize says otherwise; `page` alone picks a page of 250.
        Entity.objects.bulk_create(Entity(tag=f"bulk-{i:03}", name=f"Bulk {i}") for i in range(249))
        scorecard_evaluate(scorecard=world.scorecard)
        client = bearer(viewer)
        first = get(client, self.path).json()
        assert (first["page"], first["total"], first["totalPages"], len(first["serviceScores"])) == (0, 251, 2, 250)
        assert get(client, self.path, page="0").json()["serviceScores"] == first["serviceScores"]
        second = get(client, self.path, page="1").json()
        assert (second["page"], second["total"], second["totalPages"]) == (1, 251, 2)
        [last] = second["serviceScores"]
        assert last["service"]["tag"] == GOOD  # ordered by tag: bad-svc, bulk-000..248, good-svc
        tags = [s["service"]["tag"] for s in first["serviceScores"] + second["serviceScores"]]
        assert len(set(tags)) == 251
        with_size = get(client, self.path, page="1", pageSize="250").json()
        assert with_size["serviceScores"] == second["serviceScores"]
        assert get(client, self.path, page="2").json()["serviceScores"] == []

    def test_page_size_one_walks_every_entity_once(self, world, viewer, bearer):
        make_entity("extra-svc")
        scorecard_evaluate(scorecard=world.scorecard)
        client = bearer(viewer)
        seen = []
        for page in range(3):
            body = get(client, self.path, page=str(page), pageSize="1").json()
            assert (body["page"], body["total"], body["totalPages"]) == (page, 3, 3)
            seen.extend(s["service"]["tag"] for s in body["serviceScores"])
        assert seen == [BAD, "extra-svc", GOOD]
        past = get(client, self.path, page="3", pageSize="1").json()
        assert (past["page"], past["total"], past["totalPages"], past["serviceScores"]) == (3, 3, 3, [])

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"page": "-1"}, "page"),
            ({"pageSize": "0"}, "pageSize"),
            ({"pageSize": "1001"}, "pageSize"),
            ({"pageSize": "abc"}, "pageSize"),
        ],
    )
    def test_bad_paging_is_400(self, world, viewer, bearer, params, field):
        assert_cortex_error(get(bearer(viewer), self.path, **params), 400, "BAD_REQUEST", details_contains=field)

    def test_unknown_scorecard_and_draft_for_viewer_are_404(self, world, viewer, bearer):
        client = bearer(viewer)
        assert_cortex_error(get(client, "/api/v1/scorecards/nope/scores"), 404, "NOT_FOUND")
        make_scorecard("draft-card", "A Draft", draft=True)
        assert_cortex_error(get(client, "/api/v1/scorecards/draft-card/scores"), 404, "NOT_FOUND")

    def test_auth_failures(self, world, key_for, bearer):
        assert_cortex_error(get(bearer(None), self.path), 401, "UNAUTHORIZED")
        assert_cortex_error(get(bearer(key_for(None)), self.path), 403, "FORBIDDEN")

    def test_query_count_does_not_grow_with_entities(self, world, viewer, approver, bearer):
        client = bearer(viewer)
        exemption = exemption_request(
            scorecard=world.scorecard, entity=world.bad, rule=world.rule(OWNER_RULE), reason="r", by=viewer.user
        )
        exemption_approve(exemption_id=exemption.pk, by=approver.user)
        get(client, self.path)
        with CaptureQueriesContext(connection) as few:
            assert len(get(client, self.path).json()["serviceScores"]) == 2
        for i in range(10):
            entity = make_entity(f"more-{i:02d}", owned=False)
            exemption = exemption_request(
                scorecard=world.scorecard, entity=entity, rule=world.rule(OWNER_RULE), reason="r", by=viewer.user
            )
            exemption_approve(exemption_id=exemption.pk, by=approver.user)
        scorecard_evaluate(scorecard=world.scorecard)
        with CaptureQueriesContext(connection) as many:
            body = get(client, self.path).json()
        assert len(body["serviceScores"]) == 12
        assert sum(len(s["ruleExemptions"]) for s in body["serviceScores"]) == 11
        assert len(many) == len(few)


class TestEntityScorecardScores:
    def path(self, entity=GOOD):
        return f"/api/v1/catalog/{entity}/scorecards"

    def test_one_row_per_scorecard(self, world, viewer, bearer):
        other = make_scorecard("zebra-card", "Zebra Card")
        scorecard_evaluate(scorecard=other)
        response = get(bearer(viewer), self.path(BAD))
        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert [row["scorecardTag"] for row in body] == [TAG, "zebra-card"]  # by name
        row = body[0]
        evaluated = EntityScore.objects.get(scorecard=world.scorecard, entity=world.bad).evaluated_at
        assert row == {
            "scorecardName": NAME,
            "scorecardTag": TAG,
            "score": 3,
            "scorePercentage": 0.5,
            "totalPossibleScore": 6,
            "ladderLevels": [],
            "lastEvaluated": evaluated.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        good = get(bearer(viewer), self.path(world.good.public_id)).json()
        assert good[0]["scorePercentage"] == 1.0
        assert good[0]["ladderLevels"] == [{"level": {"name": "Gold", "number": 3}}]

    def test_drafts_are_hidden_from_viewers(self, world, viewer, editor, bearer):
        draft = make_scorecard("draft-card", "Zz Draft", draft=True)
        scorecard_evaluate(scorecard=draft)
        assert [r["scorecardTag"] for r in get(bearer(viewer), self.path()).json()] == [TAG]
        assert [r["scorecardTag"] for r in get(bearer(editor), self.path()).json()] == [TAG, "draft-card"]

    def test_unevaluated_entity_has_an_empty_list(self, world, viewer, bearer):
        make_entity("fresh-svc")
        response = get(bearer(viewer), self.path("fresh-svc"))
        assert response.status_code == 200
        assert response.json() == []

    def test_unknown_entity_is_404(self, world, viewer, bearer):
        assert_cortex_error(get(bearer(viewer), self.path("ghost")), 404, "NOT_FOUND", details_contains="ghost")

    def test_auth_failures(self, world, key_for, bearer):
        assert_cortex_error(get(bearer(None), self.path()), 401, "UNAUTHORIZED")
        assert_cortex_error(get(bearer(key_for(None)), self.path()), 403, "FORBIDDEN")

    def test_query_count_does_not_grow_with_scorecards(self, world, viewer, bearer):
        client = bearer(viewer)
        make_scorecard("sc-00", "SC 00")
        for card in Scorecard.objects.all():
            scorecard_evaluate(scorecard=card)
        get(client, self.path())
        with CaptureQueriesContext(connection) as few:
            assert len(get(client, self.path()).json()) == 2
        for i in range(1, 11):
            scorecard_evaluate(scorecard=make_scorecard(f"sc-{i:02d}", f"SC {i:02d}"))
        with CaptureQueriesContext(connection) as many:
            assert len(get(client, self.path()).json()) == 12
        assert len(many) == len(few)
