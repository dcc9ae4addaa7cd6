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
    datadog = client.get("/api/v2/scorecard/rules?filter%5Brule%5D%5Bname%5D=%00")
    assert datadog.status_code == 400
    assert datadog.json()["errors"][0]["status"] == "400"
    assert "NUL" in datadog.json()["errors"][0]["detail"]


def test_urls_without_nul_pass_through(client, viewer):
    assert client.get(reverse("reports:all_scorecards") + "?q=x").status_code == 200
