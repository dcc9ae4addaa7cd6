"""What the browser tests share: how Chromium is launched, how a person signs in, the data they see."""

from __future__ import annotations

import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the dev extra pins playwright; conftest skips (or, in CI, fails) without it
    expect = sync_playwright = None

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Web-first assertions and actions wait up to this long (ms): a broken page fails in seconds.
TIMEOUT_MS = 10_000
PASSWORD = "e2e-password-1"


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if sync_playwright is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium chromium-driver)"
    return None


def login(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form; returns once the page says who is signed in."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=f"Sign out {username}")).to_be_visible()


def logout(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def status(word: str) -> re.Pattern:
    """An exemption status as every page shows it (its label: "Pending", "Denied"), as a whole word."""
    return re.compile(rf"\b{word}\b")


SCORECARD_TAG = "readiness"
ENTITY_TAG = "payments-api"
FAILING_RULE = "Has an owner"
SCORECARD = textwrap.dedent(
    f"""\
    tag: {SCORECARD_TAG}
    name: Production Readiness
    exemptions: {{enabled: true, autoApprove: false}}
    ladder:
      levels:
        - {{name: Bronze, rank: 1, color: "#c38b5f"}}
        - {{name: Silver, rank: 2, color: "#8c9298"}}
        - {{name: Gold, rank: 3, color: "#cda400"}}
    rules:
      - title: {FAILING_RULE}
        expression: ownership.allOwners().length > 0
        weight: 3
        level: Bronze
        failureMessage: Add `x-cortex-owners` to the descriptor.
      - title: Has a description
        expression: entity.description().length >= 10
        weight: 1
        level: Bronze
      - title: Tier set
        expression: custom("tier") != null
        weight: 1
        level: Silver
      - title: Tier one
        expression: custom("tier") = 1
        weight: 1
        level: Gold
    """
)
# Passes every rule but the Bronze "Has an owner": no level now, Gold once that rule is exempted.
ENTITY = textwrap.dedent(
    f"""\
    openapi: 3.0.1
    info:
      title: Payments API
      description: Charges cards for the shop.
      x-cortex-tag: {ENTITY_TAG}
      x-cortex-type: service
      x-cortex-custom-metadata:
        tier: 1
    """
)


@dataclass
class World:
    scorecard: object
    entity: object
    viewer: object
    approver: object

    @property
    def report_card(self) -> str:
        return f"/entities/{self.entity.tag}/"

    @property
    def badge(self) -> str:
        return f"/badges/{self.scorecard.tag}/{self.entity.tag}.svg"


def build_world() -> World:
    """Through the services, as the product builds it: one scorecard, one scored entity, two people."""
    from apps.accounts.services import user_create_with_role
    from apps.catalog.services import entity_apply_descriptor
    from apps.evaluations.models import EntityScore
    from apps.evaluations.services import scorecard_evaluate
    from apps.scorecards.services import scorecard_apply_descriptor

    scorecard = scorecard_apply_descriptor(text=SCORECARD).scorecard
    entity = entity_apply_descriptor(text=ENTITY)[0]
    scorecard_evaluate(scorecard=scorecard)
    score = EntityScore.objects.get(scorecard=scorecard, entity=entity)
    assert score.level is None and score.rules_total - score.rules_passing == 1, "the data must fail one rule"
    viewer = user_create_with_role(username="viewer", role="Viewer", email="viewer@example.com", password=PASSWORD)
    approver = user_create_with_role(
        username="approver", role="Approver", email="approver@example.com", password=PASSWORD
    )
    return World(scorecard=scorecard, entity=entity, viewer=viewer, approver=approver)
