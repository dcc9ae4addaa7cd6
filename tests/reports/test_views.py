import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.roles import EDITOR, VIEWER
from apps.accounts.services import user_create_with_role
from apps.evaluations.services import scorecard_evaluate
from apps.scorecards.models import Scorecard
from tests.reports.helpers import DRAFT, SCORECARD, entity, scorecard

pytestmark = pytest.mark.django_db

MIDNIGHT = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
DAY1 = MIDNIGHT - timedelta(days=3) + timedelta(hours=12)
DAY2 = MIDNIGHT - timedelta(days=2) + timedelta(hours=12)
DAY3 = MIDNIGHT - timedelta(days=1) + timedelta(hours=12)


def rows_of(response):
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def viewer(client):
    user = user_create_with_role(username="viewer", role=VIEWER, password="pw-12345678")
    client.force_login(user)
    return user


@pytest.fixture
def history():
    """Three days of history; the scorecard's definition changes (weight 2 -> 3) before day 3.

    Day 1: gold 100%, silver 25% (Bronze), none 0%.   Day 2: silver reaches 50% (Silver).
    Day 3 (version 2): gold 5/5, silver 2/5 = 40%, none 0/5.
    """
    card = scorecard()
    entity("svc-gold", team="team-a", tier=1)
    entity("svc-silver", team="team-b")
    entity("svc-none", team=None)
    entity("team-a", team=None, type_="team")
    scorecard_evaluate(scorecard=card, now=DAY1)
    entity("svc-silver", team="team-b", tier=2)
    scorecard_evaluate(scorecard=card, now=DAY2)
    scorecard(SCORECARD.replace("weight: 2", "weight: 3"))
    card.refresh_from_db()
    scorecard_evaluate(scorecard=card, now=DAY3)
    return card


REPORT_URLS = [
    reverse("reports:index"),
    reverse("reports:birds_eye", args=["readiness"]),
    reverse("reports:executive"),
    reverse("reports:progress"),
    reverse("reports:report_card") + "?scorecard=readiness",
    reverse("reports:all_scorecards"),
]


@pytest.mark.parametrize("url", REPORT_URLS)
def test_reports_need_login(client, history, url, settings):
    settings.PUBLIC_READ = False
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    settings.PUBLIC_READ = True
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", REPORT_URLS)
def test_reports_render(client, viewer, history, url):
    assert client.get(url).status_code == 200


def test_index_links_reports(client, viewer, history):
    scorecard(DRAFT)
    body = client.get(reverse("reports:index")).content.decode()
    for name in ("executive", "progress", "report_card", "all_scorecards"):
        assert reverse(f"reports:{name}") in body
    assert reverse("reports:birds_eye", args=["readiness"]) in body
    assert "Secret" not in body


def test_drafts_hidden_from_viewers(client, viewer, history):
    scorecard(DRAFT)
    assert client.get(reverse("reports:birds_eye", args=["secret"])).status_code == 404
    assert client.get(reverse("reports:report_card") + "?scorecard=secret").status_code == 404
    assert client.get(reverse("reports:executive") + "?scorecard=secret").status_code == 404
    executive = rows_of(client.get(reverse("reports:executive") + "?format=csv"))
    assert {r["scorecard"] for r in executive} == {"readiness"}
    header = client.get(reverse("reports:all_scorecards") + "?format=csv").content.decode().splitlines()[0]
    assert "secret" not in header


def test_drafts_visible_to_editors(client, history):
    scorecard(DRAFT)
    client.force_login(user_create_with_role(username="ed", role=EDITOR, password="pw-12345678"))
    assert client.get(reverse("reports:birds_eye", args=["secret"])).status_code == 200


def test_birds_eye_page(client, viewer, history):
    response = client.get(reverse("reports:birds_eye", args=["readiness"]))
    rows = response.context["rows"]
    assert [(r["team"], r["score"].entity.tag) for r in rows] == [
        ("team-a", "svc-gold"),
        ("team-b", "svc-silver"),
        ("", "svc-none"),
    ]
    none_cells = rows[2]["cells"]
    assert [c["state"] for c in none_cells] == ["fail", "fail", "fail"]
    assert "Add an owner" in none_cells[0]["title"]
    body = response.content.decode()
    assert 'class="state state-fail"' in body and 'class="state state-pass"' in body
    assert "(no team)" in body


def test_birds_eye_paginates_fifty(client, viewer, history):
    for i in range(51):
        entity(f"bulk-{i:02d}", team="team-z")
    scorecard_evaluate(scorecard=history, now=DAY3)
    first = client.get(reverse("reports:birds_eye", args=["readiness"]))
    assert len(first.context["rows"]) == 50 and first.context["page_obj"].paginator.num_pages == 2
    second = client.get(reverse("reports:birds_eye", args=["readiness"]) + "?page=2")
    assert len(second.context["rows"]) == 4


def test_birds_eye_csv(client, viewer, history):
    response = client.get(reverse("reports:birds_eye", args=["readiness"]) + "?format=csv")
    assert 'filename="birds-eye-readiness.csv"' in response["Content-Disposition"]
    rows = {r["entity"]: r for r in rows_of(response)}
    assert rows["svc-silver"]["team"] == "team-b"
    assert rows["svc-silver"]["level"] == "Silver" and rows["svc-silver"]["percentage"] == "40.0"
    assert (rows["svc-silver"]["Tier set"], rows["svc-silver"]["Tier one"]) == ("pass", "fail")
    assert rows["svc-gold"]["Tier one"] == "pass"


def test_executive(client, viewer, history):
    response = client.get(reverse("reports:executive") + "?scorecard=readiness")
    [(card, dist)] = response.context["distributions"]
    assert card.tag == "readiness" and dist.total == 3
    assert [(c.name, c.count) for c in dist.counts] == [("Gold", 1), ("Silver", 1), ("Bronze", 0), ("No level", 1)]
    teams = {d.title: {c.name: c.count for c in d.counts if c.count} for d in response.context["teams"]}
    assert teams == {"team-a": {"Gold": 1}, "team-b": {"Silver": 1}, "(no team)": {"No level": 1}}
    assert 'class="stacked-bar"' in response.content.decode()
    assert response.context["teams"].paginator.count == 3
    rows = rows_of(client.get(reverse("reports:executive") + "?scorecard=readiness&format=csv"))
    overall = {r["level"]: (r["entities"], r["percent_of_in_scope"]) for r in rows if not r["team"]}
    third = ("1", "33.3")
    assert overall == {"Gold": third, "Silver": third, "Bronze": ("0", "0.0"), "No level": third}
    team_b = {r["level"]: r["entities"] for r in rows if r["team"] == "team-b"}
    assert team_b["Silver"] == "1"


def test_executive_paginates_teams(client, viewer, history):
    for i in range(51):
        entity(f"bulk-{i:02d}", team=f"team-{i:02d}x")
    scorecard_evaluate(scorecard=history, now=DAY3)
    url = reverse("reports:executive") + "?scorecard=readiness"
    first = client.get(url)
    assert len(first.context["teams"]) == 50 and first.context["teams"].paginator.count == 54
    assert "team_page=2" in first.content.decode()
    last = client.get(url + "&team_page=2")
    assert [d.title for d in last.context["teams"]] == ["team-50x", "team-a", "team-b", "(no team)"]


def test_progress(client, viewer, history):
    response = client.get(reverse("reports:progress"))
    [block] = response.context["blocks"]
    points = block["points"]
    assert [p.day for p in points] == [DAY1.date(), DAY2.date(), DAY3.date()]
    assert [round(p.average, 4) for p in points] == [round(1.25 / 3, 4), 0.5, round(1.4 / 3, 4)]
    assert [p.version_changed for p in points] == [False, False, True]
    assert points[0].levels == {3: 1, 1: 1, None: 1}
    assert [p.day for p in block["changes"]] == [DAY3.date()]
    body = response.content.decode()
    script = body.split('<script id="progress-data" type="application/json">')[1].split("</script>")[0]
    chart = json.loads(script)["readiness"]
    assert chart["average"] == [41.7, 50.0, 46.7]
    assert chart["changes"] == [None, None, 46.7]
    assert [level["name"] for level in chart["levels"]] == ["Bronze", "Silver", "Gold", "No level"]
    rows = rows_of(client.get(reverse("reports:progress") + "?format=csv"))
    assert [(r["date"], r["average_percentage"], r["version_changed"]) for r in rows] == [
        (DAY1.date().isoformat(), "41.7", "False"),
        (DAY2.date().isoformat(), "50.0", "False"),
        (DAY3.date().isoformat(), "46.7", "True"),
    ]
    assert rows[1]["level_counts"] == "Silver: 1; Gold: 1; No level: 1"


def test_progress_per_team(client, viewer, history):
    response = client.get(reverse("reports:progress") + "?team=team-b")
    points = response.context["blocks"][0]["points"]
    assert [round(p.average, 4) for p in points] == [0.25, 0.5, 0.4]
    assert "team-b" in response.context["teams"]


def test_report_card(client, viewer, history):
    response = client.get(reverse("reports:report_card") + "?scorecard=readiness&days=30")
    entities, teams = response.context["entities"], response.context["teams"]
    assert [s.entity.tag for s in entities["best"]] == ["svc-gold", "svc-silver", "svc-none"]
    assert [s.entity.tag for s in entities["worst"]] == ["svc-none", "svc-silver", "svc-gold"]
    [improved] = entities["improved"]
    assert improved.entity.tag == "svc-silver" and improved.change == pytest.approx(0.15)
    assert [(t["team"], round(t["average"], 2)) for t in teams["best"]] == [("team-a", 1.0), ("team-b", 0.4)]
    assert [t["team"] for t in teams["improved"]] == ["team-b"]
    rows = rows_of(client.get(reverse("reports:report_card") + "?scorecard=readiness&format=csv"))
    improved_rows = [(r["kind"], r["name"], r["change"]) for r in rows if r["section"] == "improved"]
    assert improved_rows == [("entity", "svc-silver", "15.0"), ("team", "team-b", "15.0")]


def test_index_ignores_csv(client, viewer, history):
    assert client.get(reverse("reports:index") + "?format=csv")["Content-Type"].startswith("text/html")


def test_report_card_without_scorecard_shows_chooser(client, viewer, history):
    response = client.get(reverse("reports:report_card"))
    assert response.status_code == 200 and "entities" not in response.context


def test_all_scorecards(client, viewer, history):
    response = client.get(reverse("reports:all_scorecards"))
    rows = {r["entity"].tag: r["cells"] for r in response.context["rows"]}
    assert list(rows) == ["svc-gold", "svc-none", "svc-silver", "team-a"]
    assert rows["svc-gold"][0].level.name == "Gold" and rows["team-a"] == [None]
    searched = client.get(reverse("reports:all_scorecards") + "?q=GOLD")
    assert [r["entity"].tag for r in searched.context["rows"]] == ["svc-gold"]
    csv_rows = rows_of(client.get(reverse("reports:all_scorecards") + "?format=csv&q=svc"))
    assert [(r["entity"], r["readiness level"], r["readiness percentage"]) for r in csv_rows] == [
        ("svc-gold", "Gold", "100.0"),
        ("svc-none", "", "0.0"),
        ("svc-silver", "Silver", "40.0"),
    ]


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        *REPORT_URLS,
        reverse("reports:executive") + "?scorecard=readiness",
        reverse("reports:progress") + "?team=team-a",
        *(u + ("&" if "?" in u else "?") + "format=csv" for u in REPORT_URLS[1:]),
    ],
)
def test_query_count_is_constant(client, viewer, url):
    card = scorecard()
    for i in range(2):
        entity(f"svc-{i:02d}", team=f"team-{i % 3}", tier=i % 3 or None)
    scorecard_evaluate(scorecard=card, now=DAY1)
    scorecard_evaluate(scorecard=card, now=DAY2)
    client.get(url)  # warm caches (content types, permissions)
    small = count_queries(client, url)
    for i in range(2, 20):
        entity(f"svc-{i:02d}", team=f"team-{i % 3}", tier=i % 3 or None)
    scorecard_evaluate(scorecard=Scorecard.objects.get(pk=card.pk), now=DAY3)
    assert count_queries(client, url) == small


def test_entities_in_reports_link_to_their_report_card(client, viewer, history):
    link = f'href="{reverse("evaluations:entity", args=["svc-gold"])}"'
    for url in (
        reverse("reports:all_scorecards"),
        reverse("reports:birds_eye", args=["readiness"]),
        reverse("reports:report_card") + "?scorecard=readiness",
    ):
        assert link in client.get(url).content.decode(), url
