"""A rule that reads an integration this installation has not set up ends `not_configured`, with the message
"integration not configured: jira": on the report card, in the v1 API and, as no data, in the Datadog API."""

from __future__ import annotations

import re
import textwrap

import pytest
from django.urls import reverse

from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.models import EntityScore, RuleResult
from apps.evaluations.services import scorecard_evaluate
from apps.scorecards.services import scorecard_apply_descriptor

pytestmark = pytest.mark.django_db

SCORECARD = textwrap.dedent(
    """\
    tag: integrations
    name: Integrations
    ladder:
      levels:
        - {name: Bronze, rank: 1}
    rules:
      - title: Has a runbook
        expression: links("runbook").length > 0
        weight: 1
        level: Bronze
      - title: No open Jira issues
        expression: jira.numOfIssues() == 0
        weight: 2
        level: Bronze
        failureMessage: Close the issues.
      - title: Coverage
        expression: sonarqube.metric("coverage") >= 80
        weight: 1
    """
)


@pytest.fixture
def world(settings):
    settings.SONARQUBE_URL = ""
    card = scorecard_apply_descriptor(text=SCORECARD).scorecard
    entity_apply_descriptor(
        text=(
            "openapi: 3.0.1\ninfo:\n  title: Payments\n  x-cortex-tag: payments\n"
            "  x-cortex-link: [{name: Runbook, type: runbook, url: https://wiki.example.com/p}]\n"
        )
    )
    scorecard_evaluate(scorecard=card)
    return card


def test_the_states_messages_and_score(world):
    results = {r.rule.title: (r.state, r.message) for r in RuleResult.objects.select_related("rule")}
    assert results == {
        "Has a runbook": ("pass", ""),
        "No open Jira issues": ("not_configured", "integration not configured: jira"),
        "Coverage": ("not_configured", "integration not configured: sonarqube"),
    }
    score = EntityScore.objects.get()
    # Not configured counts on the possible side and never passes, so the Bronze rule blocks the level.
    assert (score.score, score.total_possible, score.level_id) == (1, 4, None)


def test_the_report_card_shows_it_beside_the_rule(client, world):
    from apps.accounts.services import user_create_with_role

    client.force_login(user_create_with_role(username="v", role="Viewer", password="pw-123456"))
    html = re.sub(r"\s+", " ", client.get(reverse("evaluations:entity", args=["payments"])).content.decode())
    assert html.count('<span class="state state-not_configured">Not configured</span>') == 2
    assert "integration not configured: jira" in html
    assert "integration not configured: sonarqube" in html
    assert "Close the issues." in html


def test_the_v1_api_gives_the_state_and_the_message(world, viewer, bearer):
    body = bearer(viewer).get("/api/v1/scorecards/integrations/scores").json()
    rules = {r["title"]: (r["state"], r["error"], r["score"]) for r in body["serviceScores"][0]["score"]["rules"]}
    assert rules["No open Jira issues"] == ("not_configured", "integration not configured: jira", 0)
    assert rules["Has a runbook"] == ("pass", None, 1)


def test_the_datadog_api_counts_it_as_no_data(world, viewer, bearer):
    document = bearer(viewer).get("/api/v2/scorecard/scores/by-entity").json()
    (row,) = document["data"]
    attributes = row["attributes"]
    assert (attributes["total_pass"], attributes["total_fail"], attributes["total_no_data"]) == (1, 0, 2)
    assert (attributes["numerator"], attributes["denominator"]) == (1, 4)
