"""The score pages: home, scorecard, entity report card, evaluate-now and its progress partial."""

import json
import re
import textwrap
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.services import user_create_with_role
from apps.catalog.models import CustomData, Entity, EntityOwner
from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.models import EntityScore, EvaluationRun, RunStatus, ScoreHistory
from apps.evaluations.services import OutcomeInput, outcomes_push, scorecard_evaluate
from apps.exemptions.models import Exemption, ExemptionStatus
from apps.scorecards.models import Rule
from apps.scorecards.services import rule_create_custom, scorecard_apply_descriptor

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456"

SCORECARD = textwrap.dedent(
    """\
    tag: {tag}
    name: {name}
    description: "Checks **{name}**."
    draft: {draft}
    ladder:
      levels:
        - {{name: Bronze, rank: 1, color: "#c38b5f"}}
        - {{name: Gold, rank: 2, color: "#cda400"}}
    rules:
      - title: Score 50
        expression: custom("score") >= 50
        weight: 2
        level: Bronze
        failureMessage: "Raise the **score**. <script>alert(1)</script>"
      - title: Score 80
        expression: custom("score") >= 80
        weight: 1
        level: Gold
        failureMessage: Aim for `80`.
      - title: Future rule
        expression: custom("score") >= 99
        weight: 1
        effectiveFrom: 2999-01-01T00:00:00Z
    """
)


def make_scorecard(tag="card", name="Card", draft=False):
    return scorecard_apply_descriptor(text=SCORECARD.format(tag=tag, name=name, draft=str(draft).lower())).scorecard


def make_entity(tag, score, *, team="payments", type_="service", groups=("tier-1",)):
    text = textwrap.dedent(
        f"""\
        openapi: 3.0.1
        info:
          title: {tag.title()}
          x-cortex-tag: {tag}
          x-cortex-type: {type_}
          x-cortex-groups: [{", ".join(groups)}]
          x-cortex-owners:
            - {{type: group, name: {team}}}
            - {{type: email, email: ana@example.com}}
          x-cortex-link: [{{name: Runbook, type: runbook, url: https://wiki.example.com/{tag}}}]
          x-cortex-custom-metadata:
            score: {score}
        """
    )
    return entity_apply_descriptor(text=text)[0]


def make_many(count, start=0):
    """Entities in bulk, each with a score and an owner team, for the query-count tests."""
    entities = Entity.objects.bulk_create(
        [Entity(tag=f"bulk-{i:03d}", name=f"Bulk {i}", groups=["bulk"]) for i in range(start, start + count)]
    )
    CustomData.objects.bulk_create(
        [CustomData(entity=e, key="score", value=(i * 7) % 100) for i, e in enumerate(entities)]
    )
    EntityOwner.objects.bulk_create(
        [EntityOwner(entity=e, kind="group", name=f"team-{i % 3}") for i, e in enumerate(entities)]
        + [EntityOwner(entity=e, kind="email", email="x@example.com") for e in entities]
    )
    return entities


def login(client, role="Viewer", username=None):
    user = user_create_with_role(username=username or role.lower(), role=role, password=PASSWORD)
    client.force_login(user)
    return user


@pytest.fixture
def world():
    card = make_scorecard()
    make_entity("alpha", 90, team="payments")
    make_entity("beta", 60, team="search", groups=("tier-2",))
    make_entity("gamma", 10, team="payments", type_="library")
    scorecard_evaluate(scorecard=card)
    return card


def text_of(response):
    return re.sub(r"\s+", " ", response.content.decode())


# --- Access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        reverse("evaluations:home"),
        reverse("evaluations:scorecard", args=["card"]),
        reverse("evaluations:entity", args=["alpha"]),
        reverse("evaluations:progress", args=["card"]),
    ],
)
def test_pages_need_login_unless_public_read(client, world, settings, url):
    settings.PUBLIC_READ = False
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    settings.PUBLIC_READ = True
    assert client.get(url).status_code == 200


def test_urls_are_the_documented_paths():
    assert reverse("evaluations:home") == "/"
    assert reverse("evaluations:scorecard", args=["x"]) == "/scorecards/x/"
    assert reverse("evaluations:evaluate", args=["x"]) == "/scorecards/x/evaluate"
    assert reverse("evaluations:progress", args=["x"]) == "/scorecards/x/progress"
    assert reverse("evaluations:entity", args=["x"]) == "/entities/x/"


# --- Home -----------------------------------------------------------------------------------------


def test_home_shows_each_scorecard_with_distribution_average_and_last_run(client, world):
    login(client)
    EvaluationRun.objects.create(
        scorecard=world,
        status=RunStatus.SUCCEEDED,
        created_at=timezone.now(),
        finished_at=timezone.now(),
        lease_expires_at=timezone.now(),
    )
    html = text_of(client.get("/"))
    assert reverse("evaluations:scorecard", args=["card"]) in html
    assert "Checks Card." in html  # Markdown rendered, then reduced to text
    # alpha 90 -> Gold, beta 60 -> Bronze, gamma 10 -> none; mean of 3/4, 2/4... computed from the scores
    mean = sum(EntityScore.objects.filter(scorecard=world).values_list("percentage", flat=True)) / 3
    assert f'data-testid="average-card">{mean * 100:.0f}%' in html
    assert 'data-testid="entities-card">3<' in html
    assert "Gold: 1" in html and "Bronze: 1" in html and "No level: 1" in html
    assert 'title="Gold: 1"' in html and "width:33.33%" in html
    assert "succeeded" in html


@pytest.mark.parametrize(
    ("url", "title"),
    [
        (reverse("evaluations:home"), "Scorecards"),
        (reverse("evaluations:scorecard", args=["card"]), "Card · Scorecards"),
        (reverse("evaluations:entity", args=["alpha"]), "Alpha · Scorecards"),
        (reverse("accounts:profile"), "Your profile · Scorecards"),
        (reverse("login"), "Sign in · Scorecards"),
    ],
)
def test_page_titles_name_the_page_then_the_site_once(client, world, url, title):
    if url != reverse("login"):
        login(client)
    html = client.get(url).content.decode()
    assert re.search(r"<title>(.*?)</title>", html, re.S).group(1) == title


def test_home_hides_drafts_from_viewers_and_shows_them_to_editors(client, world):
    make_scorecard(tag="secret", name="Secret", draft=True)
    login(client)
    assert "Secret" not in client.get("/").content.decode()
    login(client, "Editor")
    assert "Secret" in client.get("/").content.decode()


def test_home_shows_a_live_progress_bar_while_a_run_is_going(client, world):
    login(client)
    now = timezone.now()
    EvaluationRun.objects.create(
        scorecard=world, status=RunStatus.RUNNING, total_chunks=4, done_chunks=1, created_at=now, lease_expires_at=now
    )
    html = text_of(client.get("/"))
    assert "<progress" in html
    assert f'hx-get="{reverse("evaluations:progress", args=["card"])}"' in html


def add_run(scorecard, status=RunStatus.SUCCEEDED):
    now = timezone.now()
    return EvaluationRun.objects.create(
        scorecard=scorecard, status=status, total_chunks=2, created_at=now, finished_at=now, lease_expires_at=now
    )


def test_home_query_count_is_constant(client, django_assert_num_queries):
    login(client)
    card = make_scorecard()
    make_many(2)
    scorecard_evaluate(scorecard=card)
    add_run(card)
    client.get("/")  # warm up anything cached per process
    with CaptureQueriesContext(connection) as small:
        assert client.get("/").status_code == 200
    make_many(18, start=2)
    card2 = make_scorecard(tag="card2", name="Card 2")
    card3 = make_scorecard(tag="card3", name="Card 3")
    scorecard_evaluate(scorecard=card)
    scorecard_evaluate(scorecard=card3)
    add_run(card2)
    add_run(card3, status=RunStatus.RUNNING)
    with django_assert_num_queries(len(small.captured_queries)):
        html = client.get("/").content.decode()
    assert 'data-testid="entities-card">20<' in html
    assert 'data-testid="entities-card3">20<' in html
    assert 'data-testid="entities-card2">0<' in html
    assert html.count("<progress") == 1


# --- Scorecard page -------------------------------------------------------------------------------


def test_scorecard_page_shows_header_ladder_rules_and_entities(client, world):
    login(client)
    html = text_of(client.get(reverse("evaluations:scorecard", args=["card"])))
    assert "<h1>Card" in html
    assert "Checks <strong>Card</strong>." in html
    assert '<code>custom("score") &gt;= 50</code>' in html or "<code>custom(&quot;score&quot;) &gt;= 50</code>" in html
    assert "Raise the <strong>score</strong>." in html
    assert "<script>alert(1)</script>" not in html
    assert "upcoming 2999-01-01" in html
    assert "Evaluate now" not in html  # viewers may not
    for tag in ("alpha", "beta", "gamma"):
        assert reverse("evaluations:entity", args=[tag]) in html
    assert "payments" in html and "search" in html
    assert "2 / 2" in html  # alpha passes both rules
    assert "100%" in html


def rows(response):
    html = response.content.decode()
    body = html.split("<tbody>")[-1].split("</tbody>")[0]
    return re.findall(r"<small class=\"muted\">([\w-]+)</small></th>", body)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["alpha", "beta", "gamma"]),
        ({"q": "alp"}, ["alpha"]),
        ({"q": "Gamma"}, ["gamma"]),
        ({"type": "library"}, ["gamma"]),
        ({"group": "tier-2"}, ["beta"]),
        ({"team": "payments"}, ["alpha", "gamma"]),
        ({"team": "Payments"}, ["alpha", "gamma"]),  # a team's tag in any letter case
        ({"level": "Gold"}, ["alpha"]),
        ({"level": "none"}, ["gamma"]),
        ({"sort": "-score"}, ["alpha", "beta", "gamma"]),
        ({"sort": "score"}, ["gamma", "beta", "alpha"]),
        ({"sort": "level"}, ["gamma", "beta", "alpha"]),
        ({"sort": "-level"}, ["alpha", "beta", "gamma"]),
        ({"sort": "-entity"}, ["gamma", "beta", "alpha"]),
        ({"sort": "nonsense"}, ["alpha", "beta", "gamma"]),
    ],
)
def test_scorecard_entities_filter_search_and_sort(client, world, params, expected):
    login(client)
    assert rows(client.get(reverse("evaluations:scorecard", args=["card"]), params)) == expected


def test_scorecard_filter_form_has_labels(client, world):
    login(client)
    html = client.get(reverse("evaluations:scorecard", args=["card"])).content.decode()
    for name in ("q", "type", "group", "team", "level"):
        assert f'<label for="f-{name}">' in html
        assert f'id="f-{name}" name="{name}"' in html
    assert '<th scope="col"' in html


def test_scorecard_entities_are_paginated_by_50(client):
    login(client)
    card = make_scorecard()
    make_many(60)
    scorecard_evaluate(scorecard=card)
    url = reverse("evaluations:scorecard", args=["card"])
    first = client.get(url)
    assert len(rows(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(url, {"page": 2})
    assert len(rows(second)) == 10


def test_draft_scorecard_is_404_for_viewers_and_shown_to_editors(client):
    make_scorecard(tag="secret", name="Secret", draft=True)
    url = reverse("evaluations:scorecard", args=["secret"])
    login(client)
    assert client.get(url).status_code == 404
    assert client.get(reverse("evaluations:progress", args=["secret"])).status_code == 404
    login(client, "Editor")
    response = client.get(url)
    assert response.status_code == 200
    assert 'data-testid="draft-badge"' in response.content.decode()


def test_unknown_scorecard_is_404(client):
    login(client)
    assert client.get(reverse("evaluations:scorecard", args=["nope"])).status_code == 404


def test_scorecard_query_count_is_constant_with_rows(client, django_assert_num_queries):
    login(client)
    card = make_scorecard()
    make_many(5)
    scorecard_evaluate(scorecard=card)
    url = reverse("evaluations:scorecard", args=["card"])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    make_many(55, start=5)
    scorecard_evaluate(scorecard=card)
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert "team-2" in response.content.decode()


# --- Evaluate now ---------------------------------------------------------------------------------


def test_evaluate_now_is_forbidden_to_viewers(client, world):
    login(client)
    response = client.post(reverse("evaluations:evaluate", args=["card"]))
    assert response.status_code == 403
    assert not EvaluationRun.objects.exists()


def test_evaluate_now_needs_login_and_post(client, world):
    url = reverse("evaluations:evaluate", args=["card"])
    assert client.post(url).status_code == 302
    login(client, "Editor")
    assert client.get(url).status_code == 405


def test_evaluate_now_starts_a_run_for_editors(client, world, django_capture_on_commit_callbacks):
    login(client, "Editor")
    html = client.get(reverse("evaluations:scorecard", args=["card"])).content.decode()
    assert "Evaluate now" in html and 'hx-post="/scorecards/card/evaluate"' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("evaluations:evaluate", args=["card"]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    run = EvaluationRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED
    assert run.trigger == "manual"
    assert run.requested_by.username == "editor"
    progress = client.get(reverse("evaluations:progress", args=["card"]))
    assert "succeeded" in progress.content.decode()


def test_evaluate_now_returns_polling_progress_while_running(client, world):
    login(client, "Editor")
    url = reverse("evaluations:evaluate", args=["card"])
    response = client.post(url, HTTP_HX_REQUEST="true")  # callbacks not executed: still running
    html = response.content.decode()
    assert "<progress" in html
    assert 'hx-get="/scorecards/card/progress"' in html
    again = client.post(url, HTTP_HX_REQUEST="true")
    assert again.status_code == 200
    assert EvaluationRun.objects.count() == 1  # the active run is joined, not duplicated


def test_evaluate_now_without_javascript_redirects_back_to_the_scorecard(client, world):
    login(client, "Editor")
    response = client.post(reverse("evaluations:evaluate", args=["card"]), follow=True)
    assert response.redirect_chain == [(reverse("evaluations:scorecard", args=["card"]), 302)]
    html = response.content.decode()
    assert "Evaluation of Card started." in html
    assert "<progress" in html


# --- Entity report card ---------------------------------------------------------------------------


def test_report_card_shows_entity_header_scores_states_and_next_steps(client, world):
    login(client)
    html = text_of(client.get(reverse("evaluations:entity", args=["beta"])))
    assert "<h1>Beta</h1>" in html
    assert "tier-2" in html and "search" in html and "ana@example.com" in html
    assert 'href="https://wiki.example.com/beta"' in html
    level = re.search(r'data-testid="level-card">(.*?)</span>', html).group(1)
    assert level.strip().endswith(">Bronze")
    assert 'data-testid="score-card">2 / 3<' in html
    assert "67%" in html
    assert '<span class="state state-pass">Pass</span>' in html
    assert '<span class="state state-fail">Fail</span>' in html
    assert "Aim for <code>80</code>." in html
    assert "upcoming 2999-01-01" in html
    assert "Next steps to Gold" in html
    assert "<script>alert(1)</script>" not in html


def test_failure_message_markdown_is_sanitised(client, world):
    login(client)
    html = client.get(reverse("evaluations:entity", args=["gamma"])).content.decode()
    assert "Raise the <strong>score</strong>." in html
    assert "<script>alert(1)</script>" not in html
    assert "alert(1)" not in html


def test_report_card_offers_exemption_requests_for_failing_rules(client, world):
    login(client)
    html = text_of(client.get(reverse("evaluations:entity", args=["beta"])))
    rule = Rule.objects.get(scorecard=world, title="Score 80")
    assert html.count('<button type="submit">Request exemption</button>') == 1
    assert f'action="{reverse("exemptions:request")}"' in html
    assert f'<input type="hidden" name="rule" value="{rule.identifier}">' in html
    assert '<input type="hidden" name="entity" value="beta">' in html
    assert '<input type="hidden" name="scorecard" value="card">' in html
    assert f'<label for="reason-{rule.identifier}">Reason</label>' in html
    assert f'<label for="days-{rule.identifier}">Days (empty: until revoked)</label>' in html
    assert 'name="days" min="0"' in html


def test_report_card_has_no_request_form_without_permission(client, world, settings):
    settings.PUBLIC_READ = True
    html = client.get(reverse("evaluations:entity", args=["beta"])).content.decode()  # anonymous
    assert 'data-testid="level-card"' in html
    assert "Request exemption</button>" not in html
    user = login(client)
    user.groups.clear()
    html = client.get(reverse("evaluations:entity", args=["beta"])).content.decode()
    assert "Request exemption</button>" not in html


def test_report_card_shows_the_latest_exemption_status(client, world):
    login(client)
    beta = Entity.objects.get(tag="beta")
    rule = Rule.objects.get(scorecard=world, title="Score 80")
    now = timezone.now()
    Exemption.objects.create(
        scorecard=world, entity=beta, rule=rule, status=ExemptionStatus.REJECTED, reason="old",
        decision_reason="Not a good reason", requested_at=now - timedelta(days=3),
    )  # fmt: skip
    html = text_of(client.get(reverse("evaluations:entity", args=["beta"])))
    assert f'data-testid="exemption-{rule.identifier}">Exemption: <strong>Denied</strong> · Not a good reason' in html
    assert "REJECTED" not in html  # the state's label, as on every page, never the stored value
    assert "Request exemption</button>" in html  # a denied one can be asked again
    Exemption.objects.create(
        scorecard=world, entity=beta, rule=rule, status=ExemptionStatus.APPROVED, reason="new",
        requested_at=now, end_date=now + timedelta(days=30),
    )  # fmt: skip
    html = text_of(client.get(reverse("evaluations:entity", args=["beta"])))
    assert f'data-testid="exemption-{rule.identifier}">Exemption: <strong>Approved</strong> · 30 days left' in html
    assert "Request exemption</button>" not in html


def test_report_card_pending_exemption_hides_the_form(client, world):
    login(client)
    beta = Entity.objects.get(tag="beta")
    rule = Rule.objects.get(scorecard=world, title="Score 80")
    Exemption.objects.create(scorecard=world, entity=beta, rule=rule, reason="x", requested_at=timezone.now())
    html = text_of(client.get(reverse("evaluations:entity", args=["beta"])))
    assert f'data-testid="exemption-{rule.identifier}">Exemption: <strong>Pending</strong> · requested' in html
    assert "Request exemption</button>" not in html


def test_report_card_chart_data_marks_version_changes(client, world):
    login(client)
    beta = Entity.objects.get(tag="beta")
    now = timezone.now()
    ScoreHistory.objects.filter(entity=beta).delete()
    for days, version, score in [(100, 1, 0), (20, 1, 1), (10, 1, 2), (5, 2, 2)]:
        ScoreHistory.objects.create(
            entity=beta, scorecard=world, recorded_at=now - timedelta(days=days), score=score, total_possible=3,
            scorecard_version=version,
        )  # fmt: skip
    response = client.get(reverse("evaluations:entity", args=["beta"]))
    html = response.content.decode()
    assert 'id="history-card" type="application/json"' in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    data = json.loads(re.search(r'id="history-card" type="application/json">(.*?)</script>', html).group(1))
    assert data["values"] == [33.3, 66.7, 66.7]  # the 100-day-old point is outside the window
    assert data["versionChanged"] == [False, False, True]


def test_report_card_hides_draft_scorecards_from_viewers(client, world):
    draft = make_scorecard(tag="secret", name="Secret", draft=True)
    scorecard_evaluate(scorecard=draft)
    login(client)
    html = client.get(reverse("evaluations:entity", args=["alpha"])).content.decode()
    assert 'data-testid="level-card"' in html
    assert 'data-testid="level-secret"' not in html
    login(client, "Editor")
    assert 'data-testid="level-secret"' in client.get(reverse("evaluations:entity", args=["alpha"])).content.decode()


def test_unknown_entity_is_404(client):
    login(client)
    assert client.get(reverse("evaluations:entity", args=["nope"])).status_code == 404


def many_rules_scorecard(tag):
    rules = "\n".join(
        f"  - {{title: Rule {i}, expression: 'custom(\"score\") >= {i * 10}', weight: 1, level: Bronze, "
        f"failureMessage: 'Fix {i}'}}"
        for i in range(10)
    )
    text = f"tag: {tag}\nname: {tag}\nladder:\n  levels:\n    - {{name: Bronze, rank: 1}}\nrules:\n{rules}\n"
    return scorecard_apply_descriptor(text=text).scorecard


def test_report_card_query_count_is_constant_with_scorecards(client, django_assert_num_queries):
    login(client)
    make_entity("alpha", 45)
    first = many_rules_scorecard("one")
    scorecard_evaluate(scorecard=first)
    url = reverse("evaluations:entity", args=["alpha"])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for tag in ("two", "three"):
        scorecard_evaluate(scorecard=many_rules_scorecard(tag))
    with django_assert_num_queries(len(small.captured_queries)):
        html = client.get(url).content.decode()
    assert html.count('data-testid="level-') == 3


def test_progress_partial_without_any_run_says_so(client, world):
    login(client)
    response = client.get(reverse("evaluations:progress", args=["card"]))
    assert response.status_code == 200
    assert "No evaluation run yet." in response.content.decode()
    assert "<html" not in response.content.decode()


def test_progress_partial_stops_polling_once_the_run_finished(client, world):
    login(client)
    run = add_run(world, status=RunStatus.RUNNING)
    assert "hx-get" in client.get(reverse("evaluations:progress", args=["card"])).content.decode()
    EvaluationRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED, done_chunks=2)
    html = client.get(reverse("evaluations:progress", args=["card"])).content.decode()
    assert "hx-get" not in html and "succeeded" in html


def test_home_without_runs_says_when_scores_were_evaluated(client, world):
    login(client)
    html = text_of(client.get("/"))
    assert "Evaluated 0 minutes ago" in html
    make_scorecard("unscored")
    assert "Not evaluated yet." in text_of(client.get("/"))


def test_scorecard_page_says_when_changes_wait_to_be_rescored(client, world):
    from apps.evaluations.models import PendingRescore

    other = make_scorecard(tag="other", name="Other")
    entity = Entity.objects.get(tag="alpha")
    now = timezone.now()
    PendingRescore.objects.bulk_create(
        [
            PendingRescore(scorecard=world, why="rule edited", created_at=now),
            PendingRescore(entity=entity, why="descriptor applied", created_at=now),  # every scorecard
            PendingRescore(scorecard=other, why="not this one", created_at=now),
        ]
    )
    login(client)
    page = text_of(client.get(reverse("evaluations:scorecard", args=["card"])))
    assert "Re-scoring after 2 recent changes…" in page
    progress = text_of(client.get(reverse("evaluations:progress", args=["card"])))
    assert "Re-scoring after 2 recent changes…" in progress
    assert 'hx-trigger="every 2s"' in progress  # the note refreshes itself until the workers are done
    PendingRescore.objects.all().delete()
    progress = text_of(client.get(reverse("evaluations:progress", args=["card"])))
    assert "Re-scoring" not in progress and "hx-trigger" not in progress


def test_report_card_url_names_the_entity_in_any_case(client, world):
    login(client)
    response = client.get(reverse("evaluations:entity", args=["ALPHA"]))
    assert response.status_code == 200
    assert 'data-testid="level-card"' in response.content.decode()


def test_report_card_remarks_cost_no_query_per_rule(
    client, django_assert_num_queries, django_capture_on_commit_callbacks
):
    login(client, "Editor")
    make_entity("alpha", 45)

    def push(start, count):
        rules = [rule_create_custom(name=f"Pushed {i}", scorecard_name="Ops") for i in range(start, start + count)]
        with django_capture_on_commit_callbacks(execute=True):
            outcomes_push(
                results=[OutcomeInput(str(r.identifier), "service", "Alpha", "fail", f"**r{r.pk}**") for r in rules]
            )
        return rules

    push(0, 1)
    url = reverse("evaluations:entity", args=["alpha"])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    rules = push(1, 10)
    with django_assert_num_queries(len(small.captured_queries)):
        html = client.get(url).content.decode()
    for rule in rules:
        assert f'data-testid="remarks-{rule.identifier}">' in html and f"<strong>r{rule.pk}</strong>" in html
