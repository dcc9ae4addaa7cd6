import pytest
from django.template import Context, Template
from django.test import RequestFactory

from apps.core.templatetags.scorecards_ui import percent, readable_on


@pytest.mark.parametrize(
    ("color", "text"),
    [
        ("#cda400", "#000"),
        ("#c38b5f", "#000"),
        ("#1b3a6b", "#fff"),
        ("#000", "#fff"),
        ("#fff", "#000"),
        ("bad", "#000"),
    ],
)
def test_pill_text_colour_keeps_contrast(color, text):
    assert readable_on(color) == text


def test_percent():
    assert percent(0.456) == "46%"
    assert percent(None) == "–"


def test_url_with_replaces_parameters_and_resets_the_page():
    request = RequestFactory().get("/x", {"q": "pay", "page": "3", "sort": "score"})
    template = Template(
        "{% load scorecards_ui %}{% url_with sort='-score' %}|{% url_with page=2 %}|{% url_with q='' %}"
    )
    first, second, third = template.render(Context({"request": request})).split("|")
    assert first == "?q=pay&amp;sort=-score"
    assert second == "?q=pay&amp;page=2&amp;sort=score"
    assert third == "?sort=score"


@pytest.mark.django_db
def test_login_page_and_sign_in(client, django_user_model):
    django_user_model.objects.create_user("ana", password="pw-secret-1")
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'<label for="id_username">Username</label>' in page.content
    response = client.post("/accounts/login/", {"username": "ana", "password": "pw-secret-1"})
    assert response.status_code == 302 and response["Location"] == "/"
    bad = client.post("/accounts/login/", {"username": "ana", "password": "nope"})
    assert b"didn't match" in bad.content
