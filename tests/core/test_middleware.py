"""NUL characters in a URL answer 400, never a database error (a 500, on PostgreSQL) (issue 10)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.services import user_create_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(client):
    client.force_login(user_create_with_role(username="viewer", role="Viewer"))


@pytest.mark.parametrize(
    "url",
    [
        reverse("evaluations:scorecard", args=["card"]) + "?q=%00",
        reverse("evaluations:scorecard", args=["card"]) + "?team=a%00b",
        reverse("reports:all_scorecards") + "?q=x%00",
        reverse("reports:executive") + "?scorecard=%00",
        reverse("reports:executive") + "?%00=1",
        reverse("evaluations:entity", args=["nul\x00tag"]),
        reverse("reports:badge_svg", args=["card", "a\x00b"]),
        "/badges/a%00/b.svg",
        "/badges/card/a%00.json",
    ],
)
def test_nul_in_a_page_url_is_a_bad_request(client, viewer, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_nul_in_an_api_url_is_a_bad_request_in_the_vendors_shape(client):
    cortex = client.get("/api/v1/catalog?groups=%00")
    assert cortex.status_code == 400
    assert cortex.json()["httpStatus"] == 400
    assert "NUL" in cortex.json()["details"]
    # Each Datadog operation in its own shape: JSON:API error objects for scorecards, strings for rules.
    datadog = client.get("/api/v2/scorecard/scorecards?filter%5Bscorecard%5D%5Bname%5D=%00")
    assert datadog.status_code == 400
    assert datadog.json()["errors"][0]["status"] == "400"
    assert "NUL" in datadog.json()["errors"][0]["detail"]
    assert "'filter[scorecard][name]'" in datadog.json()["errors"][0]["detail"]
    datadog = client.get("/api/v2/scorecard/rules?filter%5Brule%5D%5Bname%5D=%00")
    assert datadog.status_code == 400
    assert datadog.json() == {
        "errors": ["NUL characters are not allowed in URLs: the query parameter 'filter[rule][name]' holds one."]
    }


def test_urls_without_nul_pass_through(client, viewer):
    assert client.get(reverse("reports:all_scorecards") + "?q=x").status_code == 200


def test_a_body_too_large_for_a_page_answers_413(client):
    response = client.post("/accounts/login/", data=b"username=" + b"x" * (5 << 20), content_type=FORM)
    assert response.status_code == 413
    assert "larger than" in response.content.decode()


FORM = "application/x-www-form-urlencoded"
