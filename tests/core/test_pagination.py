"""`?page=` out of range or malformed shows the nearest page (200), on every paginated page (issue 10)."""

from __future__ import annotations

import re
import textwrap

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.accounts.services import user_create_with_role
from apps.campaigns import views as campaign_views
from apps.campaigns.services import campaign_create
from apps.catalog.services import entity_apply_descriptor
from apps.core.pagination import NearestPagePaginator
from apps.evaluations import views as evaluation_views
from apps.evaluations.services import scorecard_evaluate
from apps.exemptions import views as exemption_views
from apps.exemptions.services import exemption_request
from apps.reports import views as report_views
from apps.scorecards.services import scorecard_apply_descriptor

HUGE = "99999999999999999999999"  # past 64 bits

# (page asked for, page shown) with three pages.
NEAREST = [
    ("1", 1),
    ("2", 2),
    ("3", 3),
    ("99", 3),
    (HUGE, 3),
    ("9" * 5000, 3),  # more digits than int() reads
    ("last", 3),
    ("0", 1),
    ("-1", 1),
    ("abc", 1),
    ("1.5", 1),
    ("", 1),
    (None, 1),
]


@pytest.mark.parametrize("asked, shown", NEAREST)
def test_paginator_answers_the_nearest_page(asked, shown):
    page = NearestPagePaginator(["a", "b", "c"], 1).get_page(asked)
    assert page.number == shown
    assert list(page) == [["a", "b", "c"][shown - 1]]


@pytest.mark.parametrize("asked", ["0", "99", "abc", HUGE])
def test_paginator_of_nothing_answers_an_empty_first_page(asked):
    page = NearestPagePaginator([], 10).get_page(asked)
    assert page.number == 1
    assert list(page) == []


# --- every paginated page ----------------------------------------------------------------------------------------

SCORECARD = textwrap.dedent(
    """\
    tag: card
    name: Card
    ladder:
      levels:
        - {name: Bronze, rank: 1}
    rules:
      - title: Has a tier
        expression: custom("tier") != null
        level: Bronze
    """
)


@pytest.fixture
def three_of_each(db, monkeypatch):
    """Three entities, scores, exemptions and campaigns, and every list page cut to one row a page."""
    card = scorecard_apply_descriptor(text=SCORECARD).scorecard
    viewer = user_create_with_role(username="viewer", role="Viewer")
    for tag in ("svc-a", "svc-b", "svc-c"):
        text = f"openapi: 3.0.1\ninfo:\n  title: {tag}\n  x-cortex-tag: {tag}\n  x-cortex-type: service\n"
        entity = entity_apply_descriptor(text=text)[0]
        exemption_request(scorecard=card, entity=entity, rule=card.rules.get(), reason="r", by=viewer)
        campaign_create(
            key=f"campaign-{tag}", name=f"Campaign {tag}", owner=viewer, rule_ids=[str(card.rules.get().identifier)],
            start_date=timezone.now(),
        )  # fmt: skip
    scorecard_evaluate(scorecard=card)
    monkeypatch.setattr(evaluation_views.ScorecardView, "paginate_by", 1)
    monkeypatch.setattr(campaign_views.CampaignListView, "paginate_by", 1)
    monkeypatch.setattr(campaign_views, "ENTITIES_PER_PAGE", 1)
    monkeypatch.setattr(exemption_views, "PAGE_SIZE", 1)
    monkeypatch.setattr(report_views, "PAGE_SIZE", 1)
    return viewer


PAGINATED = [
    reverse("evaluations:scorecard", args=["card"]),  # a ListView
    reverse("campaigns:list"),  # a ListView
    reverse("campaigns:detail", args=["campaign-svc-a"]) + "?show=all",
    reverse("exemptions:list") + "?tab=mine",
    reverse("reports:birds_eye", args=["card"]),
    reverse("reports:all_scorecards"),
]


@pytest.mark.parametrize("url", PAGINATED)
@pytest.mark.parametrize("asked, shown", [("2", 2), ("99", 3), (HUGE, 3), ("0", 1), ("-1", 1), ("abc", 1)])
def test_every_paginated_page_shows_the_nearest_page(client, three_of_each, url, asked, shown):
    client.force_login(three_of_each)
    separator = "&" if "?" in url else "?"
    response = client.get(f"{url}{separator}page={asked}")
    assert response.status_code == 200
    assert response.context["page_obj"].number == shown
    text = re.sub(r"\s+", " ", response.content.decode())
    assert f"Page {shown} of 3" in text
