"""On a phone (390 px wide): no page scrolls sideways, the main navigation folds into a menu that opens, wide
tables scroll in their own box with their first column in view, and the exemption inbox keeps Approve and
Deny within reach.

The data is made to be wide: long entity names and tags (one a 70-letter word with nowhere to break), long
rule titles, long failure messages and reasons with long URLs, long team, campaign and API key names. It is
built once for the module and committed, for a live server of the module's own: with pytest-django's
`live_server` fixture every test would flush the database (it asks for `transactional_db`). Before and after,
the database is put back as migrations left it, as a transactional test with serialized_rollback does.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.e2e.helpers import PASSWORD, TIMEOUT_MS, expect, login

pytestmark = [
    # Tests read through the live server only. The marker sets up the test database (nothing else here would),
    # and wraps each test in a transaction that the data committed for the module does not depend on.
    pytest.mark.django_db,
    pytest.mark.timeout(180),  # a hung browser must not hang the suite
]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

WORD = "Reconciliation" * 5  # 70 letters, no place to break them
LONG_URL = "https://wiki.example.com/engineering/handbook/production-readiness/ownership-and-on-call-for-tier-one"
SCORECARD_TAG = "operational-excellence-for-customer-facing-services"
TEAM_TAG = "payments-platform-reliability-and-developer-experience-engineering"
LONG_TAG = "payments-reconciliation-settlement-and-chargeback-orchestration-gateway"
WORD_TAG = f"ledger{WORD.lower()}"  # a tag without a hyphen to break at
CAMPAIGN_KEY = "every-customer-facing-service-has-an-owner-a-runbook-and-an-on-call-rotation"
OWNER_RULE = "Declares an owning team with an on-call rotation, an escalation policy and a runbook for every alert"
DESCRIPTION_RULE = "Describes what the service does, who calls it and what happens when it is down, in a paragraph"
TIER_RULE = "Declares its tier in the custom data so that incidents are routed with the right priority"

SCORECARD = textwrap.dedent(
    f"""\
    tag: {SCORECARD_TAG}
    name: Operational Excellence for Customer-Facing Services and Everything They Depend On
    exemptions: {{enabled: true, autoApprove: false}}
    ladder:
      levels:
        - {{name: Bronze, rank: 1, color: "#c38b5f"}}
        - {{name: Silver, rank: 2, color: "#8c9298"}}
        - {{name: Gold, rank: 3, color: "#cda400"}}
    rules:
      - title: {OWNER_RULE}
        expression: ownership.allOwners().length > 0
        weight: 3
        level: Bronze
        failureMessage: >-
          Add `x-cortex-owners.group.payments-platform-reliability-and-developer-experience-engineering` to the
          descriptor, then read {LONG_URL} before the next review.
      - title: {DESCRIPTION_RULE}
        expression: entity.description().length >= 1000
        weight: 1
        level: Bronze
        failureMessage: >-
          Write a description of at least a thousand characters: {LONG_URL}/describing-services-well
      - title: {TIER_RULE}
        expression: custom("tier") != null
        weight: 1
        level: Silver
        failureMessage: Set `x-cortex-custom-metadata.tier_of_the_service_for_incident_routing_and_paging` to 1, 2 or 3.
      - title: {WORD}
        expression: custom("tier") = 1
        weight: 1
        level: Gold
        failureMessage: {WORD} {WORD}
    """
)


def entity_descriptor(tag: str, name: str, *, kind: str = "service", extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        openapi: 3.0.1
        info:
          title: {name}
          description: Short.
          x-cortex-tag: {tag}
          x-cortex-type: {kind}
        """
    ) + textwrap.indent(textwrap.dedent(extra), "  ")


ENTITIES = [
    entity_descriptor(TEAM_TAG, "Payments Platform Reliability and Developer Experience Engineering", kind="team"),
    entity_descriptor(
        LONG_TAG,
        "Payments Reconciliation, Settlement and Chargeback Orchestration Gateway for Enterprise Marketplace Merchants",
        extra=f"""\
        x-cortex-groups: [tier-one-customer-facing-payments-services, {WORD.lower()}]
        x-cortex-owners:
          - {{type: group, name: {TEAM_TAG}}}
          - {{type: email, email: payments-platform-reliability-and-developer-experience@example.com}}
        x-cortex-custom-metadata:
          tier: 1
        x-cortex-link:
          - {{name: Runbook for reconciliation failures and settlement delays, type: runbook, url: "{LONG_URL}"}}
        """,
    ),
    entity_descriptor(WORD_TAG, f"Ledger{WORD}"),
]


@dataclass
class Data:
    scorecard: object
    long_entity: object
    word_entity: object
    campaign: object

    def pages(self) -> dict[str, str]:
        """Every main page a signed-in person sees, by name."""
        from django.urls import reverse

        sc = self.scorecard.tag
        return {
            "home": reverse("evaluations:home"),
            "scorecard": reverse("evaluations:scorecard", args=[sc]),
            "report card": reverse("evaluations:entity", args=[self.long_entity.tag]),
            "report card of the long word": reverse("evaluations:entity", args=[self.word_entity.tag]),
            "exemptions inbox": reverse("exemptions:list") + "?tab=inbox",
            "exemptions approved": reverse("exemptions:list") + "?tab=approved",
            "exemptions history": reverse("exemptions:list") + "?tab=history",
            "exemptions mine": reverse("exemptions:list") + "?tab=mine",
            "reports": reverse("reports:index"),
            "executive": reverse("reports:executive") + f"?scorecard={sc}",
            "bird's-eye": reverse("reports:birds_eye", args=[sc]),
            "progress": reverse("reports:progress"),
            "report card report": reverse("reports:report_card") + f"?scorecard={sc}",
            "all scorecards": reverse("reports:all_scorecards"),
            "campaigns": reverse("campaigns:list"),
            "campaign": reverse("campaigns:detail", args=[self.campaign.key]),
            "profile": reverse("accounts:profile"),
        }


PAGE_NAMES = [
    "home", "scorecard", "report card", "report card of the long word", "exemptions inbox", "exemptions approved",
    "exemptions history", "exemptions mine", "reports", "executive", "bird's-eye", "progress",
    "report card report", "all scorecards", "campaigns", "campaign", "profile",
]  # fmt: skip


def build_data() -> Data:
    """Through the services: a scorecard, three entities scored on it, exemptions in every tab, a campaign, a key."""
    from django.utils import timezone

    from apps.accounts.services import api_key_create, user_create_with_role
    from apps.campaigns.models import CampaignStatus
    from apps.campaigns.services import campaign_create
    from apps.catalog.services import entity_apply_descriptor
    from apps.evaluations.services import scorecard_evaluate
    from apps.exemptions.services import exemption_approve, exemption_deny, exemption_request
    from apps.scorecards.services import scorecard_apply_descriptor

    scorecard = scorecard_apply_descriptor(text=SCORECARD).scorecard
    entities = [entity_apply_descriptor(text=text)[0] for text in ENTITIES]
    long_entity, word_entity = entities[1], entities[2]
    scorecard_evaluate(scorecard=scorecard)

    viewer = user_create_with_role(username="viewer", role="Viewer", email="viewer@example.com", password=PASSWORD)
    approver = user_create_with_role(
        username="approver", role="Approver", email="approver@example.com", password=PASSWORD
    )
    rules = {rule.title: rule for rule in scorecard.rules.all()}
    owner_rule, description_rule, tier_rule, word_rule = (
        rules[t] for t in (OWNER_RULE, DESCRIPTION_RULE, TIER_RULE, WORD)
    )
    reason = f"The platform team takes this over next quarter; the plan is at {LONG_URL}/migration-plan-2027."

    def ask(entity, rule, by, text=reason):
        return exemption_request(scorecard=scorecard, entity=entity, rule=rule, reason=text, days=90, by=by)

    ask(long_entity, description_rule, viewer)
    ask(word_entity, owner_rule, viewer, text=f"{WORD} {reason}")
    exemption_approve(exemption_id=ask(word_entity, tier_rule, viewer).pk, by=approver)
    exemption_deny(exemption_id=ask(word_entity, word_rule, viewer).pk, by=approver, reason=f"No. {reason}")
    ask(word_entity, description_rule, approver)  # the approver's own request: "My requests"

    now = timezone.now()
    campaign = campaign_create(
        key=CAMPAIGN_KEY,
        name="Every customer-facing service has an owner, a runbook and an on-call rotation before the freeze",
        owner=approver,
        rule_ids=[str(owner_rule.identifier), str(description_rule.identifier)],
        start_date=now - timedelta(days=10),
        due_date=now + timedelta(days=30),
        status=CampaignStatus.IN_PROGRESS,
        guidance=f"Read {LONG_URL} first, then fix `x-cortex-owners.group.{TEAM_TAG}`.",
    )
    api_key_create(user=approver, name="nightly-reconciliation-export-for-the-payments-settlement-gateway-pipeline")
    return Data(scorecard=scorecard, long_entity=long_entity, word_entity=word_entity, campaign=campaign)


def reset_database() -> None:
    """Empty the test database and refill it as migrations left it (the role groups and their permissions)."""
    from django.core.management import call_command
    from django.db import connection

    name = connection.settings_dict["NAME"]
    assert str(name).startswith(("test_", "file:memorydb")), f"not flushing {name}: not a test database"
    contents = getattr(connection, "_test_serialized_contents", None)
    # Sequences keep counting (as TransactionTestCase's flush does): the refilled rows keep their ids, and a
    # sequence started again at 1 would hand those ids out once more to the next test's inserts.
    call_command(
        "flush", interactive=False, verbosity=0, reset_sequences=False, inhibit_post_migrate=contents is not None
    )
    if contents is not None:
        connection.creation.deserialize_db_from_string(contents)


@pytest.fixture(scope="module")
def server(browser, django_db_blocker):
    """This module's data and live server. `browser` first: it allows the ORM while Playwright's loop runs."""
    from django.db import connection
    from pytest_django.live_server_helper import LiveServer

    with django_db_blocker.unblock():
        if not hasattr(connection, "_test_serialized_contents"):
            # No test collected asked for serialized rollback, so none has emptied the database yet: keep what
            # the migrations made, to put it back afterwards.
            connection._test_serialized_contents = connection.creation.serialize_db_to_string()
        reset_database()
        data = build_data()
        pages = data.pages()
    live = LiveServer("localhost")
    live._live_server_modified_settings.enable()
    try:
        yield live.url, data, pages
    finally:
        live._live_server_modified_settings.disable()
        live.stop()
        with django_db_blocker.unblock():
            reset_database()


@pytest.fixture(scope="module")
def approver_phone(browser, server, django_db_blocker):
    """One signed-in approver on a phone for the whole module (a page per test)."""
    base_url, _, _ = server
    context = browser.new_context(base_url=base_url, viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    with django_db_blocker.unblock():
        page = context.new_page()
        page.set_viewport_size(DESKTOP)  # `login` waits for the Sign out button, which the phone's menu hides
        login(page, "approver")
        page.close()
    yield context
    context.close()


@pytest.fixture
def page(approver_phone):
    page = approver_phone.new_page()
    yield page
    page.close()


@pytest.fixture
def anonymous(browser, server):
    """A signed-out visitor; keyword arguments go to `browser.new_context`."""
    base_url, _, _ = server
    contexts = []

    def make(**options):
        context = browser.new_context(base_url=base_url, **{"viewport": PHONE, **options})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def open_page(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.ok, f"{path} answered {response and response.status}"


def assert_no_sideways_scroll(page, where: str) -> None:
    """The document is no wider than the viewport; the message names what sticks out."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width <= inner:
        return
    culprits = page.evaluate(
        """() => [...document.querySelectorAll("body *")]
            .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .filter((e) => !e.closest(".table-scroll") || e.matches(".table-scroll"))
            .slice(0, 5)
            .map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> ${e.textContent.trim().slice(0, 40)}`)"""
    )
    pytest.fail(f"{where} is {width} px wide on a {inner} px screen; sticking out: {culprits}")


def assert_within_width(locator, page, what: str) -> None:
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    inner = page.evaluate("window.innerWidth")
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= inner, (
        f"{what} is outside the screen's width: {box} on {inner} px"
    )


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_page_does_not_scroll_sideways_on_a_phone(page, server, name):
    _, _, pages = server
    open_page(page, pages[name])
    assert_no_sideways_scroll(page, name)


def test_sign_in_page_does_not_scroll_sideways_on_a_phone(anonymous, server):
    page = anonymous()
    open_page(page, "/accounts/login/")
    assert_no_sideways_scroll(page, "the sign-in page")


def test_navigation_is_folded_into_a_menu_that_opens(page, server):
    _, _, pages = server
    open_page(page, pages["home"])
    nav = page.get_by_role("navigation", name="Main")
    menu = nav.locator(".nav-menu > summary")
    links = [nav.get_by_role("link", name=name) for name in ("Reports", "Campaigns", "Profile")]
    expect(menu).to_be_visible()
    for link in links:
        expect(link).to_be_hidden()
    assert_within_width(menu, page, "the menu button")

    menu.click()
    for link in [*links, nav.get_by_role("link", name="Exemptions")]:
        assert_within_width(link, page, "a link of the open menu")
    assert_within_width(nav.get_by_role("button", name="Sign out approver"), page, "Sign out")
    assert_no_sideways_scroll(page, "the home page with the menu open")
    nav.get_by_role("link", name="Reports").click()
    expect(page).to_have_url(re.compile(re.escape(pages["reports"]) + "$"))


def test_menu_opens_from_the_keyboard_and_without_javascript(anonymous, server):
    page = anonymous(java_script_enabled=False)
    open_page(page, "/accounts/login/")
    nav = page.get_by_role("navigation", name="Main")
    sign_in = nav.get_by_role("link", name="Sign in")
    expect(sign_in).to_be_hidden()
    nav.locator(".nav-menu > summary").focus()
    page.keyboard.press("Enter")
    assert_within_width(sign_in, page, "Sign in")


def test_desktop_keeps_the_navigation_as_a_row_of_links(anonymous, server):
    page = anonymous(viewport=DESKTOP)
    open_page(page, "/accounts/login/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.locator(".nav-menu > summary")).to_be_hidden()
    boxes = [nav.get_by_role("link", name=name).bounding_box() for name in ("Reports", "Campaigns", "Sign in")]
    assert all(box is not None for box in boxes)
    assert len({round(box["y"]) for box in boxes}) == 1, f"the links should sit in one row: {boxes}"
    assert_no_sideways_scroll(page, "the sign-in page on a desktop")


@pytest.mark.parametrize("name", ["scorecard", "bird's-eye"])
def test_wide_table_scrolls_in_its_box_keeping_the_first_column_in_view(page, server, name):
    _, _, pages = server
    open_page(page, pages[name])
    results = page.evaluate(
        """() => [...document.querySelectorAll(".table-scroll")]
            .filter((box) => box.scrollWidth > box.clientWidth)
            .map((box) => {
              const cell = box.querySelector("tbody tr > :first-child:not([colspan])");
              const before = cell.getBoundingClientRect();
              box.scrollLeft = box.scrollWidth;
              const after = cell.getBoundingClientRect();
              return {text: cell.textContent.trim().slice(0, 30), scrolled: box.scrollLeft, before: before.left,
                      after: after.left, right: after.right};
            })"""
    )
    assert results, f"the {name} page should have a table wider than the phone"
    inner = PHONE["width"]
    for result in results:
        assert result["scrolled"] > 0, result
        assert abs(result["after"] - result["before"]) < 1, f"the first column should stay put: {result}"
        assert result["right"] <= inner, f"the first column should be within the screen: {result}"
    assert_no_sideways_scroll(page, f"the {name} page, its tables scrolled")


def test_inbox_keeps_approve_and_deny_within_reach(page, server):
    _, _, pages = server
    open_page(page, pages["exemptions inbox"])
    rows = page.locator("[data-testid^='exemption-']").filter(has=page.get_by_role("button", name="Approve"))
    expect(rows).to_have_count(2)  # every pending request but the approver's own, which another decides
    expect(page.get_by_text("Your own request: another approver decides.")).to_have_count(1)
    for row in rows.all():
        assert_within_width(row.get_by_role("button", name="Approve", exact=True), page, "Approve")
        deny = row.get_by_role("button", name="Deny", exact=True)
        if not deny.is_visible():  # behind a "Deny…" disclosure: open it
            hidden_deny = page.get_by_role("button", name="Deny", exact=True, include_hidden=True)
            row.locator("details").filter(has=hidden_deny).locator("summary").click()
        assert_within_width(deny, page, "Deny")
        assert_within_width(row.get_by_role("textbox"), page, "the reason for denying")
    assert_no_sideways_scroll(page, "the inbox with the deny forms open")


def test_approved_tab_keeps_revoke_within_reach(page, server):
    _, _, pages = server
    open_page(page, pages["exemptions approved"])
    revoke = page.get_by_role("button", name="Revoke", exact=True)
    expect(revoke).to_have_count(1)
    assert_within_width(revoke, page, "Revoke")


def test_report_card_keeps_the_state_and_ask_for_an_exemption_within_reach(page, server):
    _, data, pages = server
    open_page(page, pages["report card of the long word"])
    section = page.locator(f"#scorecard-{data.scorecard.tag}")
    rule = section.get_by_role("row").filter(has=page.get_by_role("rowheader", name=OWNER_RULE))
    assert_within_width(rule.get_by_text("Fail", exact=True), page, "the rule's state")
    ask = section.get_by_text("Ask for an exemption").first
    assert_within_width(ask, page, "Ask for an exemption")
    ask.click()
    assert_within_width(
        section.get_by_role("button", name="Request exemption").first, page, "the Request exemption button"
    )
    assert_no_sideways_scroll(page, "the report card with the request form open")
