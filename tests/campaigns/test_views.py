from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.roles import VIEWER
from apps.campaigns.selectors import campaign_progress
from apps.campaigns.services import campaign_create
from tests.campaigns.world import add_entities

START = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def campaign(world, owner):
    return campaign_create(
        key="q1", name="Q1 Reliability", owner=owner, start_date=START, guidance="Read **the docs** <script>x</script>",
        rule_ids=[str(world.r1.identifier), str(world.r2.identifier)],
    )  # fmt: skip


@pytest.fixture
def signed_in(client, owner):
    owner.groups.add(Group.objects.get(name=VIEWER))  # the dashboard needs at least the Viewer role
    client.force_login(owner)
    return client


def test_list_shows_campaigns(signed_in, campaign):
    response = signed_in.get(reverse("campaigns:list"))
    assert response.status_code == 200
    assert b"Q1 Reliability" in response.content
    assert reverse("campaigns:detail", args=["q1"]).encode() in response.content


def test_detail_shows_progress_teams_and_safe_action_items(signed_in, campaign):
    response = signed_in.get(reverse("campaigns:detail", args=["q1"]))
    assert response.status_code == 200
    progress = response.context["progress"]
    assert (progress.total, progress.passing) == (5, 2)
    html = response.content.decode()
    assert "2 of 5 entities pass every rule" in html
    assert "<strong>the docs</strong>" in html and "<script>x</script>" not in html
    # Failure message rendered as sanitised Markdown; the result message escaped.
    assert "Add a <strong>runbook</strong> link." in html and "<script>alert(1)</script>" not in html
    assert "svc-2 r1 &lt;b&gt;fail&lt;/b&gt;" in html
    # Only entities with work left by default; all with ?show=all.
    assert [e.tag for e in response.context["page_obj"].object_list] == ["lib-1", "svc-2", "svc-3"]
    everyone = signed_in.get(reverse("campaigns:detail", args=["q1"]), {"show": "all"})
    assert len(everyone.context["page_obj"].object_list) == 5
    assert ["alpha", "beta", ""] == [t.team for t in response.context["progress"].teams]


def test_detail_pages_through_the_same_entities_as_campaign_progress(signed_in, campaign, world):
    add_entities(world, 60, start=0)
    progress = campaign_progress(campaign=campaign)
    url = reverse("campaigns:detail", args=["q1"])
    failing = [e for e in progress.entities if not e.passing]
    for show, expected in (("all", progress.entities), ("failing", failing)):
        shown = []
        for page in (1, 2):
            response = signed_in.get(url, {"show": show, "page": page})
            assert (response.context["progress"].total, response.context["progress"].passing) == (65, 2)
            assert response.context["progress"].teams == progress.teams
            shown += [(e.tag, e.name, e.team, e.rules_total, e.rules_failing) for e in response.context["page_obj"]]
        assert shown == [(e.tag, e.name, e.team, e.rules_total, e.rules_failing) for e in expected]
    last = response.context["page_obj"].object_list[-1]
    assert (last.tag, [(r.rule.title, r.state) for r in last.action_items]) == ("svc-3", [("Has on-call", "error")])


def test_unknown_campaign_is_404(signed_in, world):
    assert signed_in.get(reverse("campaigns:detail", args=["nope"])).status_code == 404


def test_pages_need_sign_in_unless_public_read(client, campaign, settings):
    settings.PUBLIC_READ = False
    assert client.get(reverse("campaigns:list")).status_code == 302
    assert client.get(reverse("campaigns:detail", args=["q1"])).status_code == 302
    settings.PUBLIC_READ = True
    assert client.get(reverse("campaigns:list")).status_code == 200
    assert client.get(reverse("campaigns:detail", args=["q1"])).status_code == 200


@pytest.mark.parametrize("url", [reverse("campaigns:list"), reverse("campaigns:detail", args=["q1"])])
def test_page_queries_do_not_grow_with_rows(signed_in, campaign, world, owner, url):
    signed_in.get(url)
    with CaptureQueriesContext(connection) as few:
        assert signed_in.get(url).status_code == 200
    add_entities(world, 25, start=0)
    for index in range(5):
        campaign_create(key=f"more-{index}", name=f"More {index}", owner=owner, start_date=START,
                        rule_ids=[str(world.r3.identifier)])  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        assert signed_in.get(url).status_code == 200
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)
