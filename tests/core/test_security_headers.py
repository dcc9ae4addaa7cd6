"""Every page sends the Content-Security-Policy (django-csp; issue 13), and no template needs an exception to it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from apps.accounts.services import user_create_with_role
from tests.factories import EntityFactory, LevelFactory, ScorecardFactory

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
REQUIRED = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())


@pytest.fixture
def client_viewer(db) -> Client:
    scorecard = ScorecardFactory(tag="sc")
    LevelFactory(scorecard=scorecard, name="Bronze", rank=1, color="#c38b5f")
    EntityFactory(tag="svc")
    client = Client()
    client.force_login(user_create_with_role(username="viewer", role="Viewer"))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/scorecards/sc/",
        "/entities/svc/",
        "/exemptions/",
        "/reports/",
        "/reports/progress/",
        "/reports/executive/?scorecard=sc",
        "/campaigns/",
        "/accounts/profile/",
        "/accounts/login/",
        "/api/docs",
        "/no-such-page/",
    ],
)
def test_pages_send_the_policy(client_viewer, url):
    response = client_viewer.get(url)
    assert directives(response) == REQUIRED, url
    assert "'unsafe-inline'" not in directives(response)["script-src"]


def test_the_403_page_and_csv_exports_send_it_too(client_viewer, user_factory):
    response = client_viewer.get("/reports/all-scorecards/?format=csv")
    assert response["Content-Type"].startswith("text/csv") and directives(response) == REQUIRED
    client = Client()
    client.force_login(user_factory(username="norole"))
    forbidden = client.get("/")
    assert forbidden.status_code == 403 and directives(forbidden) == REQUIRED


def test_api_docs_load_their_start_up_script_from_the_site(client_viewer):
    html = client_viewer.get("/api/docs").content.decode()
    assert "<style" not in html
    assert re.findall(r"<script(?![^>]*\ssrc=)[^>]*>", html) == []  # no inline script
    assert '<script src="/api/docs?script="></script>' in html
    script = client_viewer.get("/api/docs?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content


def test_no_template_has_inline_scripts_or_event_handlers():
    """The policy allows no inline script: code lives in static/js (data goes through json_script)."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = re.sub(r"\{#.*?#\}", "", path.read_text())  # comments may name what they avoid
        for match in re.finditer(r"<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+\s*=|javascript:|<style", text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)}")
    assert not offenders, offenders
