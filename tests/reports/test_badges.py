import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from apps.evaluations.services import scorecard_evaluate
from apps.reports.badges import text_width
from tests.reports.helpers import DRAFT, NOW, entity, scorecard

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def scored():
    card = scorecard()
    entity("svc-gold", tier=1)
    entity("svc-none", team=None)
    entity("a-team", team=None, type_="team")
    scorecard_evaluate(scorecard=card, now=NOW)
    return card


def svg_url(entity_tag, card="readiness"):
    return reverse("reports:badge_svg", args=[card, entity_tag])


def json_url(entity_tag, card="readiness"):
    return reverse("reports:badge_json", args=[card, entity_tag])


def test_svg_badge_shows_level_and_colour(client, scored):
    response = client.get(svg_url("svc-gold"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "max-age=300" in response["Cache-Control"] and "public" in response["Cache-Control"]
    assert response["ETag"] and response["Last-Modified"] == "Mon, 01 Jun 2026 12:00:00 GMT"
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    assert root.find(f"{SVG}title").text == "Readiness: Gold"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Readiness" in texts and "Gold" in texts
    assert "#cda400" in [r.get("fill") for r in root.iter(f"{SVG}rect")]
    assert int(root.get("width")) == text_width("Readiness") + text_width("Gold") + 20


def test_svg_badge_without_level_is_grey(client, scored):
    root = ET.fromstring(client.get(svg_url("svc-none")).content)
    assert root.find(f"{SVG}title").text == "Readiness: no level"
    assert "#9f9f9f" in [r.get("fill") for r in root.iter(f"{SVG}rect")]


def test_entity_out_of_scope_is_not_scored(client, scored):
    response = client.get(svg_url("a-team"))
    assert response.status_code == 200
    assert ET.fromstring(response.content).find(f"{SVG}title").text == "Readiness: not scored"
    assert "Last-Modified" not in response
    assert client.get(json_url("a-team")).json()["message"] == "not scored"


def test_json_badge_matches_shields_schema(client, scored):
    response = client.get(json_url("svc-gold"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "max-age=300" in response["Cache-Control"]
    assert response.json() == {"schemaVersion": 1, "label": "Readiness", "message": "Gold", "color": "cda400"}
    assert client.get(json_url("svc-none")).json()["color"] == "9f9f9f"


def test_304_on_if_none_match_and_if_modified_since(client, scored):
    first = client.get(svg_url("svc-gold"))
    again = client.get(svg_url("svc-gold"), headers={"if-none-match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    since = client.get(svg_url("svc-gold"), headers={"if-modified-since": first["Last-Modified"]})
    assert since.status_code == 304
    json_first = client.get(json_url("svc-gold"))
    assert client.get(json_url("svc-gold"), headers={"if-none-match": json_first["ETag"]}).status_code == 304


def test_etag_changes_when_the_level_changes(client, scored):
    first = client.get(svg_url("svc-gold"))
    entity("svc-gold", tier=2)
    scorecard_evaluate(scorecard=scored, now=NOW.replace(hour=13))
    changed = client.get(svg_url("svc-gold"), headers={"if-none-match": first["ETag"]})
    assert changed.status_code == 200
    assert ET.fromstring(changed.content).find(f"{SVG}title").text == "Readiness: Silver"


def test_unknown_and_draft_are_404(client, scored):
    scorecard(DRAFT)
    assert client.get(svg_url("nope")).status_code == 404
    assert client.get(svg_url("svc-gold", card="nope")).status_code == 404
    assert client.get(svg_url("svc-gold", card="secret")).status_code == 404
    assert client.get(json_url("svc-gold", card="secret")).status_code == 404


def test_text_is_escaped(client):
    scorecard(
        "tag: esc\nname: 'A <b> & \"c\"'\nladder:\n  levels:\n    - {name: L1, rank: 1}\n"
        "rules:\n  - title: t\n    expression: 'true'\n    level: L1\n"
    )
    entity("svc-x")
    response = client.get(svg_url("svc-x", card="esc"))
    assert b"<b>" not in response.content
    assert ET.fromstring(response.content).find(f"{SVG}title").text == 'A <b> & "c": not scored'


def test_badges_are_public_without_public_read(client, scored, settings):
    settings.PUBLIC_READ = False
    assert client.get(svg_url("svc-gold")).status_code == 200


def test_badge_query_count(client, scored, django_assert_num_queries):
    with django_assert_num_queries(3):
        client.get(svg_url("svc-gold"))


def test_text_width_grows_with_wide_letters():
    assert text_width("WWW") > text_width("iii")
    assert text_width("") == 0


@pytest.mark.parametrize(
    "card, entity_tag, label, message",
    [
        ("nope", "svc-gold", "nope", "scorecard not found"),
        ("secret", "svc-gold", "secret", "scorecard not found"),  # a draft answers as an unknown tag does
        ("readiness", "nope", "Readiness", "entity not found"),
    ],
)
def test_unknown_scorecard_or_entity_is_a_404_badge_that_says_not_found(
    client, scored, card, entity_tag, label, message
):
    scorecard(DRAFT)
    svg = client.get(svg_url(entity_tag, card=card))
    assert svg.status_code == 404
    assert svg["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert "max-age=60" in svg["Cache-Control"] and "public" in svg["Cache-Control"]
    root = ET.fromstring(svg.content)
    assert root.find(f"{SVG}title").text == f"{label}: {message}"
    assert [t.text for t in root.iter(f"{SVG}text")] == [label, label, message, message]
    assert "#9f9f9f" in [r.get("fill") for r in root.iter(f"{SVG}rect")]

    json_badge = client.get(json_url(entity_tag, card=card))
    assert json_badge.status_code == 404
    assert json_badge["Content-Type"] == "application/json"
    assert json_badge.json() == {
        "schemaVersion": 1,
        "label": label,
        "message": message,
        "color": "9f9f9f",
        "isError": True,
    }


def test_not_found_badge_shortens_a_long_tag_and_escapes_it(client, db):
    svg = client.get(svg_url("x", card="a" * 200 + "<b>"))
    assert svg.status_code == 404
    assert b"<b>" not in svg.content
    title = ET.fromstring(svg.content).find(f"{SVG}title").text
    assert title == "a" * 63 + "…: scorecard not found"
    assert client.get(json_url("x", card="<b>&")).json()["label"] == "<b>&"


def test_badge_url_names_the_entity_in_any_case(client, scored):
    response = client.get(svg_url("SVC-Gold"))
    assert response.status_code == 200
    assert ET.fromstring(response.content).find(f"{SVG}title").text == "Readiness: Gold"
    assert client.get(json_url("Svc-Gold")).json()["message"] == "Gold"
