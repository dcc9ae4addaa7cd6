"""Nothing scored: every rule skipped or not yet in effect, so the total possible score is 0 (issue 10).

That is no score at all, not 0%: the pages show "—", the trend has a gap there (not a fall to 0), averages and
rankings leave it out, and going into or out of it is no drop, so nobody gets a score-drop email.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from apps.accounts.services import user_create_with_role
from apps.catalog.services import entity_apply_descriptor
from apps.evaluations.models import EntityScore, ScoreHistory
from apps.evaluations.runs import run_start
from apps.evaluations.services import scorecard_evaluate
from apps.notifications.models import NotificationRun
from apps.scorecards.models import Rule
from apps.scorecards.services import scorecard_apply_descriptor

pytestmark = pytest.mark.django_db

SCORECARD = textwrap.dedent(
    """\
    tag: {tag}
    name: {name}
    notifications: {{enabled: true, scoreDropNotificationsEnabled: true}}
    ladder:
      levels:
        - {{name: Bronze, rank: 1, color: "#c38b5f"}}
        - {{name: Gold, rank: 2, color: "#cda400"}}
    filter:
      types: {{include: [service]}}
    rules:
      - title: Has a tier
        expression: custom("tier") != null
        weight: 2
        level: Bronze
      - title: Tier one
        expression: custom("tier") = 1
        weight: 1
        level: Gold
    """
)


def make_scorecard(tag: str, name: str):
    return scorecard_apply_descriptor(text=SCORECARD.format(tag=tag, name=name)).scorecard


def make_service(tag: str, tier: int | None = 2):
    custom = f"  x-cortex-custom-metadata: {{tier: {tier}}}\n" if tier is not None else ""
    text = (
        f"openapi: 3.0.1\ninfo:\n  title: {tag}\n  x-cortex-tag: {tag}\n  x-cortex-type: service\n"
        f"  x-cortex-owners: [{{type: email, email: owner@example.com}}]\n{custom}"
    )
    return entity_apply_descriptor(text=text)[0]


def not_yet_effective(scorecard) -> None:
    """The scorecard's every rule takes effect next year: nothing is scored until then."""
    Rule.objects.filter(scorecard=scorecard).update(effective_from=timezone.now() + timedelta(days=365))


def effective_again(scorecard) -> None:
    Rule.objects.filter(scorecard=scorecard).update(effective_from=None)


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def cards(client):
    """`scored`: 2 of 3 points; `later`: every rule effective next year, so nothing scored."""
    scored = make_scorecard("scored", "Scored")
    later = make_scorecard("later", "Later")
    not_yet_effective(later)
    make_service("svc")
    scorecard_evaluate(scorecard=scored)
    scorecard_evaluate(scorecard=later)
    client.force_login(user_create_with_role(username="viewer", role="Viewer"))
    return scored, later


def test_the_state_is_a_total_possible_of_zero(cards):
    _, later = cards
    score = EntityScore.objects.get(scorecard=later)
    assert (score.score, score.total_possible, score.percentage) == (0, 0, 0)


def entity_row(client, scorecard_tag: str) -> str:
    html = text_of(client.get(reverse("evaluations:scorecard", args=[scorecard_tag])))
    return re.search(r'<th scope="row"><a href="/entities/svc/">.*?</tr>', html).group(0)


def test_scorecard_page_shows_a_dash_not_zero_of_zero(client, cards):
    row = entity_row(client, "later")
    assert re.search(r"<td><span [^>]*>—</span></td>", row)
    assert "0 / 0" not in row and "0%" not in row
    scored = entity_row(client, "scored")
    assert "67%" in scored and "(2 / 3)" in scored


def test_report_card_shows_a_dash_and_says_nothing_is_scored(client, cards):
    html = text_of(client.get(reverse("evaluations:entity", args=["svc"])))
    assert re.search(r'data-testid="score-later"[^>]*>—</span> \(nothing scored\)', html)
    assert "0 / 0" not in html and "(0%)" not in html and "0 of 0 rules" not in html
    assert 'data-testid="score-scored">2 / 3</span> (67%)' in html


def test_home_average_leaves_out_entities_with_nothing_scored(client, cards):
    scored, _ = cards
    make_service("svc-2", tier=None)  # 0 of 3 points: a real 0%
    scorecard_evaluate(scorecard=scored)
    scorecard_evaluate(scorecard=cards[1])
    html = text_of(client.get(reverse("evaluations:home")))
    assert re.search(r'data-testid="average-later">–<', html)  # no average at all, not 0%
    assert re.search(r'data-testid="average-scored">33%<', html)  # (67% + 0%) / 2


def test_reports_show_a_dash_and_leave_it_out_of_rankings(client, cards):
    all_scorecards = text_of(client.get(reverse("reports:all_scorecards")))
    assert "Nothing scored" in all_scorecards  # the cell's explanation
    csv = client.get(reverse("reports:all_scorecards") + "?format=csv").content.decode().splitlines()
    assert csv[1] == "svc,Gold,,Bronze,66.7"  # later: level, empty percentage; scored: Bronze, 66.7
    ranking = client.get(reverse("reports:report_card") + "?scorecard=later")
    assert ranking.status_code == 200
    assert ranking.context["entities"] == {"best": [], "worst": [], "improved": []}  # nobody ranks on nothing
    assert [s.entity.tag for s in client.get("/reports/report-card/?scorecard=scored").context["entities"]["best"]] == [
        "svc"
    ]
    birds_eye = client.get(reverse("reports:birds_eye", args=["later"]) + "?format=csv").content.decode()
    assert birds_eye.splitlines()[1].split(",")[3] == ""


def test_nothing_scored_is_a_gap_in_the_trend_not_a_drop_to_zero(client, cards):
    trend = make_scorecard("trend", "Trend")
    now = timezone.now()
    scorecard_evaluate(scorecard=trend, now=now - timedelta(days=2))
    not_yet_effective(trend)
    scorecard_evaluate(scorecard=trend, now=now - timedelta(days=1))
    effective_again(trend)
    scorecard_evaluate(scorecard=trend, now=now)
    points = ScoreHistory.objects.filter(scorecard=trend).order_by("recorded_at")
    assert [(p.score, p.total_possible) for p in points] == [(2, 3), (0, 0), (2, 3)]
    response = client.get(reverse("evaluations:entity", args=["svc"]))
    html = response.content.decode()
    chart = json.loads(re.search(r'<script id="history-trend" type="application/json">(.*?)</script>', html).group(1))
    assert chart["values"] == [66.7, None, 66.7]  # JSON null: Chart.js leaves a gap


def test_progress_report_average_leaves_out_days_with_nothing_scored(client, cards):
    response = client.get(reverse("reports:progress") + "?format=csv")
    rows = [line.split(",") for line in response.content.decode().splitlines()[1:]]
    assert [row[2] for row in rows if row[0] == "later"] == [""]
    assert [row[2] for row in rows if row[0] == "scored"] == ["66.7"]
    page = client.get(reverse("reports:progress"))
    assert page.status_code == 200
    assert page.context["charts"]["later"]["average"] == [None]


def test_going_into_or_out_of_nothing_scored_is_no_drop():
    card = make_scorecard("card", "Card")
    make_service("svc", tier=1)  # 3 of 3, Gold
    assert scorecard_evaluate(scorecard=card).drops == []
    not_yet_effective(card)
    assert scorecard_evaluate(scorecard=card).drops == []  # 3 of 3 -> nothing scored
    make_service("svc", tier=None)
    effective_again(card)
    # Nothing scored (every level reached trivially) -> 0 of 3 and no level: still no drop.
    assert scorecard_evaluate(scorecard=card).drops == []
    make_service("svc", tier=1)
    scorecard_evaluate(scorecard=card)
    make_service("svc", tier=2)  # a real fall, 3 -> 2 and Gold -> Bronze, is one
    drops = scorecard_evaluate(scorecard=card).drops
    assert [(d["score"], d["level"]) for d in drops] == [([3, 2], [2, 1])]


def test_nothing_scored_sends_no_score_drop_email(django_capture_on_commit_callbacks):
    card = make_scorecard("card", "Card")
    make_service("svc", tier=1)
    scorecard_evaluate(scorecard=card)
    not_yet_effective(card)
    with django_capture_on_commit_callbacks(execute=True):
        run_start(scorecard=card)
    assert EntityScore.objects.get().total_possible == 0
    assert mail.outbox == []
    assert not NotificationRun.objects.exists()

    # The same run machinery does email a real drop, so the silence above is the rule, not a broken setup.
    effective_again(card)
    with django_capture_on_commit_callbacks(execute=True):
        run_start(scorecard=card)
    make_service("svc", tier=2)
    with django_capture_on_commit_callbacks(execute=True):
        run_start(scorecard=card)
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
