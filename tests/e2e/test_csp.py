"""The main pages work under the Content-Security-Policy (issue 13): the browser reports no violation.

Every script is a static file now (htmx, Chart.js, static/js/*), so the charts still draw, the executive
report's scorecard menu still submits itself, htmx actions still swap, and Swagger UI still renders at
/api/docs. A violation shows up both as a `securitypolicyviolation` event and as a console error; either fails.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from tests.e2e.helpers import expect, login

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(180),  # a hung browser must not hang the suite
]

# Runs in every document before its own scripts (Playwright injects it; the policy does not apply to it).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sample || ""));
});
"""


@pytest.fixture
def watched(page):
    """The page, with every CSP report collected (console messages and violation events) for the test to check."""
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.add_init_script(RECORD_VIOLATIONS)
    page.csp_console = messages
    return page


def visit(page, url: str) -> list[str]:
    """Open the URL, let its scripts run, and return the violations it reported."""
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url} answered {response and response.status}"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    return page.evaluate("window.cspViolations")


def chart_drawn(page, selector: str) -> bool:
    return page.evaluate(f"!!(window.Chart && Chart.getChart(document.querySelector({selector!r})))")


def test_no_page_reports_a_csp_violation(watched, world, live_server):
    from apps.campaigns.models import CampaignSnapshot
    from apps.campaigns.services import campaign_create
    from apps.scorecards.models import Rule

    page = watched
    campaign = campaign_create(
        key="owners", name="Owners", owner=world.viewer, rule_ids=[str(Rule.objects.first().identifier)],
        start_date=timezone.now(),
    )  # fmt: skip
    CampaignSnapshot.objects.create(
        campaign=campaign, day=timezone.now().date(), entities_total=1, entities_passing=0, recorded_at=timezone.now()
    )
    login(page, world.approver.username)
    tag = world.scorecard.tag
    pages = [
        "/",
        f"/scorecards/{tag}/",
        world.report_card,
        "/exemptions/",
        "/exemptions/?tab=history",
        "/reports/",
        f"/reports/birds-eye/{tag}/",
        f"/reports/executive/?scorecard={tag}",
        "/reports/progress/",
        f"/reports/report-card/?scorecard={tag}",
        "/reports/all-scorecards/",
        "/campaigns/",
        f"/campaigns/{campaign.key}/",
        "/accounts/profile/",
        "/api/docs",
    ]
    violations = {}
    for url in pages:
        found = visit(page, url)
        if found:
            violations[url] = found
        if url == world.report_card:
            assert chart_drawn(page, "canvas[data-history]"), "the report card's trend chart was not drawn"
        if url == "/reports/progress/":
            assert chart_drawn(page, "canvas[data-chart='average']"), "the progress report's chart was not drawn"
        if url.startswith("/campaigns/owners"):
            assert chart_drawn(page, "canvas[data-chart='campaign-progress']"), "the campaign chart was not drawn"
        if url == "/api/docs":
            # Swagger UI rendered the schema: its operations are listed.
            expect(page.locator(".opblock").first).to_be_visible()
    assert not violations, f"CSP violations: {violations}"
    assert not page.csp_console, f"CSP messages on the console: {page.csp_console}"


def test_the_executive_menu_submits_itself_without_inline_handlers(watched, world):
    page = watched
    login(page, world.viewer.username)
    assert visit(page, "/reports/executive/") == []
    page.get_by_label("Scorecard").select_option(world.scorecard.tag)
    expect(page).to_have_url(re.compile(rf"scorecard={world.scorecard.tag}"))
    expect(page.get_by_role("table").last).to_contain_text("levels per owner team")
    assert page.evaluate("window.cspViolations") == [] and not page.csp_console


def test_the_login_page_and_the_403_page_report_no_violation(watched, world):
    from tests.factories import UserFactory

    page = watched
    assert visit(page, "/accounts/login/") == []
    user = UserFactory(username="norole")
    user.set_password("e2e-password-1")
    user.save()
    login(page, "norole")
    response = page.goto("/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="You need the Viewer role to see this page")).to_be_visible()
    assert page.evaluate("window.cspViolations") == [] and not page.csp_console
