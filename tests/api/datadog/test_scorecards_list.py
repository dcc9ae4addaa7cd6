"""Datadog v2 `GET /api/v2/scorecard/scorecards`: shape, filters, paging, drafts, query count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.scorecards.models import Scorecard
from tests.api.datadog.test_rules import ISO_Z, dd

pytestmark = pytest.mark.django_db

SCORECARDS = "/api/v2/scorecard/scorecards"


def make(count: int, prefix: str = "card") -> list[Scorecard]:
    return [
        Scorecard.objects.create(tag=f"{prefix}-{i:02d}", name=f"{prefix.title()} {i:02d}", description=f"about {i}")
        for i in range(count)
    ]


def test_list_scorecards_shape(viewer):
    Scorecard.objects.create(tag="obs", name="Observability Best Practices", description="Best practices.")
    response = dd(viewer).get(SCORECARDS)
    assert response.status_code == 200
    (item,) = response.json()["data"]
    assert item["id"] == "obs" and item["type"] == "scorecard"
    assert item["attributes"]["name"] == "Observability Best Practices"
    assert item["attributes"]["description"] == "Best practices."
    assert ISO_Z.match(item["attributes"]["created_at"]) and ISO_Z.match(item["attributes"]["modified_at"])
    assert set(item["attributes"]) == {"name", "description", "created_at", "modified_at"}


def test_list_scorecards_filters(viewer):
    Scorecard.objects.create(tag="obs", name="Observability", description="Logs and traces")
    Scorecard.objects.create(tag="sec", name="Security", description="Secrets and CVEs")
    client = dd(viewer)

    def ids(params):
        return [item["id"] for item in client.get(SCORECARDS, params).json()["data"]]

    assert ids({"filter[scorecard][id]": "sec"}) == ["sec"]
    assert ids({"filter[scorecard][id]": "sec,obs"}) == ["obs", "sec"]
    assert ids({"filter[scorecard][id]": "nope"}) == []
    assert ids({"filter[scorecard][name]": "serv"}) == ["obs"]
    assert ids({"filter[scorecard][description]": "CVE"}) == ["sec"]


def test_list_scorecards_paging(viewer):
    cards = make(5)
    client = dd(viewer)
    first = client.get(SCORECARDS, {"page[size]": "2"}).json()
    assert [d["id"] for d in first["data"]] == [c.tag for c in cards[:2]]
    assert "page%5Boffset%5D=2" in first["links"]["next"]
    assert [d["id"] for d in client.get(SCORECARDS, {"page[size]": "2", "page[offset]": "4"}).json()["data"]] == [
        cards[4].tag
    ]
    assert client.get(SCORECARDS, {"page[offset]": "9"}).json()["data"] == []
    for size in ("0", "101", "x"):
        response = client.get(SCORECARDS, {"page[size]": size})
        assert response.status_code == 400 and "page[size]" in response.json()["errors"][0]["detail"]


def test_list_scorecards_hides_drafts_from_viewers(viewer, editor):
    Scorecard.objects.create(tag="draft", name="Draft", draft=True)
    assert dd(viewer).get(SCORECARDS).json()["data"] == []
    assert [d["id"] for d in dd(editor).get(SCORECARDS).json()["data"]] == ["draft"]


def test_list_scorecards_needs_credentials(bearer):
    response = bearer(None).get(SCORECARDS)
    assert response.status_code == 403
    assert response.json()["errors"][0]["status"] == "403"


def test_list_scorecards_query_count_is_constant(viewer):
    client = dd(viewer)
    make(3, "few")
    client.get(SCORECARDS)  # warm-up: the first request of a key records its last use
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(SCORECARDS).json()["data"]) == 3
    make(27, "many")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(SCORECARDS).json()["data"]) == 30
    assert len(many) == len(few)
