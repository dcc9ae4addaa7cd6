"""Exemptions end to end, as people do them in a browser: request, approve / deny / revoke, and the levels.

The data (tests/e2e/helpers.py): one entity fails exactly one Bronze rule of a Bronze/Silver/Gold
scorecard, so it has no level; exempting that rule lifts it to Gold. Celery is eager in test settings,
so every transition re-scores synchronously when the live server's request commits.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from tests.e2e.helpers import FAILING_RULE, expect, login, logout, status

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(120),  # a hung browser must not hang the suite (each flow takes ~2-3 s)
]

BEFORE, AFTER = "No level", "Gold"
REASON_LABELS = {"Deny": "Reason for denying", "Revoke": "Reason for revoking"}


def level_pill(page, world):
    return page.get_by_test_id(f"level-{world.scorecard.tag}")


def rule_row(page):
    """The failing rule's row in the report card's rule table."""
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=FAILING_RULE))


def badge_texts(page, world) -> set[str]:
    """The words the badge SVG draws (its text elements and title), fetched like any client would."""
    response = page.request.get(world.badge)
    assert response.status == 200, f"{world.badge} answered {response.status}"
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = ElementTree.fromstring(response.body())
    return {" ".join(element.text.split()) for element in svg.iter() if element.text and element.text.strip()}


def request_exemption(page, world, reason: str, days: str = "30"):
    """As the signed-in person: ask for an exemption from the failing rule on the report card."""
    from apps.exemptions.models import Exemption

    page.goto(world.report_card)
    expect(level_pill(page, world)).to_have_text(BEFORE)
    row = rule_row(page)
    row.get_by_text("Ask for an exemption").click()
    row.get_by_label("Reason").fill(reason)
    row.get_by_label("Days (empty: until revoked)").fill(days)
    row.get_by_role("button", name="Request exemption").click()
    # Back on the report card, with a flash message and the new status near the rule.
    expect(page).to_have_url(re.compile(rf"{re.escape(world.report_card)}(#.*)?$"))
    expect(page.get_by_role("status")).to_contain_text(f"Exemption from “{FAILING_RULE}” requested")
    expect(rule_row(page)).to_contain_text(status("Pending"))
    return Exemption.objects.get(entity=world.entity, scorecard=world.scorecard)


def decide(page, exemption, button: str, now: str, *, reason: str = "", tab: str = ""):
    """As a signed-in approver: press Approve / Deny / Revoke on the exemption's row; the row updates in place."""
    page.goto("/exemptions/" + (f"?tab={tab}" if tab else ""))
    row = page.get_by_test_id(f"exemption-{exemption.pk}")
    expect(row).to_be_visible()
    # A mark on the document: it survives an htmx swap but not a page load.
    page.evaluate("window.e2eSameDocument = true")
    if button == "Deny":  # the reason belongs to Deny: open its group first
        row.get_by_text("Deny…").click()
    if reason:
        row.get_by_label(REASON_LABELS[button]).fill(reason)
    row.get_by_role("button", name=button).click()
    expect(row).to_contain_text(status(now))
    expect(row.get_by_role("button", name=button)).to_have_count(0)
    assert page.evaluate("window.e2eSameDocument === true"), "the row should be replaced in place (htmx)"


def test_engineer_requests_and_approver_approves_lifting_the_level(new_page, world):
    anonymous = new_page()
    assert AFTER not in badge_texts(anonymous, world)

    page = new_page()
    login(page, "viewer")
    exemption = request_exemption(page, world, reason="Owned by the platform team until the re-org lands.")
    expect(level_pill(page, world)).to_have_text(BEFORE)  # pending changes nothing yet
    logout(page)

    login(page, "approver")
    decide(page, exemption, "Approve", "Approved")
    page.goto(world.report_card)
    expect(level_pill(page, world)).to_have_text(AFTER)
    expect(rule_row(page)).to_contain_text(status("Approved"))
    assert AFTER in badge_texts(anonymous, world)  # the badge is public


def test_denied_request_is_shown_with_its_reason_and_changes_nothing(new_page, world):
    engineer = new_page()
    login(engineer, "viewer")
    exemption = request_exemption(engineer, world, reason="We will add owners next quarter.")

    approver = new_page()
    login(approver, "approver")
    decide(approver, exemption, "Deny", "Denied", reason="Every service needs an owner now.")

    engineer.goto(world.report_card)
    expect(rule_row(engineer)).to_contain_text(status("Denied"))
    expect(rule_row(engineer)).to_contain_text("Every service needs an owner now.")
    expect(level_pill(engineer, world)).to_have_text(BEFORE)
    assert AFTER not in badge_texts(engineer, world)


def test_revoked_exemption_takes_the_level_back_down(new_page, world):
    engineer = new_page()
    badge_before = badge_texts(engineer, world)
    login(engineer, "viewer")
    exemption = request_exemption(engineer, world, reason="Ownership is being transferred.", days="")

    approver = new_page()
    login(approver, "approver")
    decide(approver, exemption, "Approve", "Approved")
    approver.goto(world.report_card)
    expect(level_pill(approver, world)).to_have_text(AFTER)
    assert AFTER in badge_texts(approver, world)

    decide(approver, exemption, "Revoke", "Revoked", reason="The transfer is done; add the owner.", tab="approved")
    approver.goto(world.report_card)
    expect(level_pill(approver, world)).to_have_text(BEFORE)
    expect(rule_row(approver)).to_contain_text(status("Revoked"))
    assert badge_texts(approver, world) == badge_before


def test_decisions_work_as_plain_posts_without_javascript(new_page, world):
    engineer = new_page(java_script_enabled=False)
    login(engineer, "viewer")
    exemption = request_exemption(engineer, world, reason="Owned by the platform team until the re-org lands.")

    approver = new_page(java_script_enabled=False)
    login(approver, "approver")
    approver.goto("/exemptions/")
    approver.get_by_test_id(f"exemption-{exemption.pk}").get_by_role("button", name="Approve").click()
    # A full page load back to the inbox, with the outcome as a flash message.
    expect(approver).to_have_url(re.compile(r"/exemptions/(\?tab=\w*)?$"))
    expect(approver.get_by_role("status")).to_contain_text("Exemption approved")
    expect(approver.get_by_test_id(f"exemption-{exemption.pk}")).to_have_count(0)  # no longer waiting

    engineer.goto(world.report_card)
    expect(level_pill(engineer, world)).to_have_text(AFTER)
    expect(rule_row(engineer)).to_contain_text(status("Approved"))


def test_an_approver_sees_the_waiting_count_and_denies_without_javascript(new_page, world):
    engineer = new_page(java_script_enabled=False)
    login(engineer, "viewer")
    exemption = request_exemption(engineer, world, reason="We will add owners next quarter.")

    approver = new_page(java_script_enabled=False)
    login(approver, "approver")
    expect(approver.get_by_test_id("exemptions-waiting")).to_have_text("1 waiting for your decision")
    approver.get_by_role("link", name="Exemptions 1 waiting for your decision").click()
    row = approver.get_by_test_id(f"exemption-{exemption.pk}")
    expect(row.get_by_label("Reason for denying")).to_be_hidden()  # folded into Deny until asked for
    row.get_by_text("Deny…").click()  # a <details>: opens without JavaScript
    row.get_by_label("Reason for denying").fill("Every service needs an owner now.")
    row.get_by_role("button", name="Deny").click()
    expect(approver).to_have_url(re.compile(r"/exemptions/(\?tab=\w*)?$"))
    expect(approver.get_by_role("status")).to_contain_text("Exemption denied")
    expect(approver.get_by_test_id("exemptions-waiting")).to_have_count(0)  # nothing waits any more

    engineer.goto(world.report_card)
    expect(rule_row(engineer)).to_contain_text(status("Denied"))
    expect(rule_row(engineer)).to_contain_text("Every service needs an owner now.")
