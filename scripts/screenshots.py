"""Capture 1280×800 screenshots of the dashboard pages and the API docs into docs/screenshots/ (for the README).

Starts nothing itself: point it at a running server, e.g. the demo of `make run`, and it signs in and
drives Debian's Chromium (/usr/bin/chromium) through Playwright; no browser is downloaded.

    make run &                                   # the demo: admin/admin, http://127.0.0.1:8000
    .venv/bin/python scripts/screenshots.py [--base-url URL] [--username U] [--password P] [--only home badge]
    .venv/bin/python scripts/screenshots.py --phone     # 390×844: phone-home.png, phone-menu.png (open), ...

The scorecard shown is the first on the home page, the entity the first in the exemptions inbox (or
on that scorecard's page), the campaign the demo's tier-1 campaign (else the first in the campaign
list); --scorecard / --entity / --campaign choose others. The API docs are Swagger UI (`/api/docs`,
served locally), captured once it has drawn the operation list. A page that answers 404 is reported
and skipped (not built yet, or no such data); any other failure makes the exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urljoin

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}
NAMES = [
    "home", "scorecard", "entity", "exemptions", "birds-eye", "executive", "progress", "badge", "campaign", "api-docs",
]  # fmt: skip
PHONE_VIEWPORT = {"width": 390, "height": 844}
# --phone captures these, into phone-<file>.png; "menu" is the home page with the navigation menu open.
PHONE_FILES = {"home": "home", "menu": "menu", "exemptions": "inbox", "entity": "report-card"}
DEMO_CAMPAIGN = "tier1-runbook-oncall"  # load_demo's campaign with a scope and a progress history


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def first_href(page, prefix: str) -> str | None:
    """The href of the first link on the page that starts with `prefix`."""
    return page.evaluate(
        "(prefix) => { const a = document.querySelector(`a[href^='${prefix}']`); return a && a.getAttribute('href'); }",
        prefix,
    )


def tag_of(href: str | None, prefix: str) -> str | None:
    """`/entities/a-tag/#x` -> `a-tag`."""
    if not href:
        return None
    return href[len(prefix) :].split("/")[0].split("#")[0].split("?")[0] or None


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Attached, not visible: on a phone the sign-out button is in the folded menu.
    page.locator("form[action$='/logout/']").wait_for(state="attached")


def badge_page(base_url: str, scorecards: list[str], entity: str) -> str:
    """A plain page showing the entity's badges enlarged, as they would appear in a README."""
    rows = "".join(
        f'<p><img alt="{tag} badge" src="{urljoin(base_url, f"/badges/{tag}/{entity}.svg")}"></p>' for tag in scorecards
    )
    return (
        "<!doctype html><meta charset=utf-8><title>Badges</title>"
        "<style>body{font:16px system-ui,sans-serif;margin:48px}img{height:60px}code{font-size:15px}</style>"
        f"<h1>Badges of <code>{entity}</code></h1>"
        f"<p>Public: <code>/badges/&lt;scorecard&gt;/{entity}.svg</code></p>{rows}"
    )


def pick_campaign(page) -> str | None:
    """The demo's tier-1 campaign when it exists, else the first campaign in the list."""
    if not page.goto("/campaigns/", wait_until="networkidle").ok:
        return None
    keys = [
        key
        for link in page.locator("a[href^='/campaigns/']").all()
        if (key := tag_of(link.get_attribute("href"), "/campaigns/"))
    ]
    return DEMO_CAMPAIGN if DEMO_CAMPAIGN in keys else (keys[0] if keys else None)


def capture(page, path: str, out: Path, wait_for: str = "", heading: str = "") -> str:
    """Screenshot one page (once `wait_for`, a CSS selector, is visible; scrolled to put `heading` at the top);
    returns 'ok', 'missing' (404) or a reason it failed."""
    response = page.goto(path, wait_until="networkidle")
    status = response.status if response else 0
    if status == 404:
        return "missing (404)"
    if status >= 400:
        return f"failed (HTTP {status})"
    if wait_for:
        page.locator(wait_for).first.wait_for(state="visible")
    if heading:
        target = page.get_by_role("heading", name=heading, exact=True).first
        target.evaluate("h => { h.scrollIntoView({block: 'start'}); window.scrollBy(0, -24); }")
        page.wait_for_timeout(500)  # let a chart redrawn on scroll settle
    page.screenshot(path=str(out), full_page=False)
    return "ok"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--scorecard", help="scorecard tag (default: the first on the home page)")
    parser.add_argument("--entity", help="entity tag (default: the first on the scorecard's page)")
    parser.add_argument("--campaign", help=f"campaign key (default: {DEMO_CAMPAIGN}, else the first campaign)")
    parser.add_argument("--only", nargs="+", choices=[*NAMES, "menu"], help="capture only these")
    parser.add_argument(
        "--phone", action="store_true", help=f"390×844, as a phone: phone-*.png of {', '.join(PHONE_FILES)}"
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    wanted = args.only or (list(PHONE_FILES) if args.phone else NAMES)
    file_of = {name: f"phone-{PHONE_FILES.get(name, name)}" if args.phone else name for name in wanted}
    results: dict[str, str] = {}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
        viewport = PHONE_VIEWPORT if args.phone else VIEWPORT
        context = browser.new_context(base_url=args.base_url, viewport=viewport, device_scale_factor=1)
        context.set_default_timeout(20_000)
        page = context.new_page()
        sign_in(page, args.username, args.password)

        page.goto("/", wait_until="networkidle")
        scorecard = args.scorecard or tag_of(first_href(page, "/scorecards/"), "/scorecards/")
        scorecards: list[str] = []
        for link in page.locator("a[href^='/scorecards/']").all():
            tag = (link.get_attribute("href") or "").removeprefix("/scorecards/").split("/")[0]
            if tag and tag not in scorecards:
                scorecards.append(tag)
        # The entity: one with an exemption waiting (its report card shows the exemption's state, and the
        # link scrolls to that scorecard's section), else the first on the scorecard's page.
        entity = args.entity
        entity_path = entity and f"/entities/{entity}/"
        for source in ["/exemptions/", scorecard and f"/scorecards/{scorecard}/"]:
            if entity or not source:
                continue
            if page.goto(source, wait_until="networkidle").ok:
                entity_path = first_href(page, "/entities/")
                entity = tag_of(entity_path, "/entities/")
        campaign = args.campaign or ("campaign" in wanted and pick_campaign(page)) or None
        say(f"scorecard: {scorecard or '-'}  entity: {entity_path or '-'}  campaign: {campaign or '-'}")

        paths = {
            "home": "/",
            "menu": "/",
            "scorecard": scorecard and f"/scorecards/{scorecard}/",
            "entity": entity_path,
            "exemptions": "/exemptions/",
            "birds-eye": scorecard and f"/reports/birds-eye/{scorecard}/",
            "executive": "/reports/executive/",
            "progress": "/reports/progress/",
            "campaign": campaign and f"/campaigns/{campaign}/",
            "api-docs": "/api/docs",
        }
        # Swagger UI fetches the schema and draws the operations after the page has loaded.
        wait_for = {"api-docs": "#swagger-ui .opblock"}
        # The campaign page opens with its guidance; the progress bar and chart are the part worth showing.
        headings = {"campaign": "Progress"}
        for name in wanted:
            out = args.out / f"{file_of[name]}.png"
            try:
                if name == "menu":
                    page.goto(paths[name], wait_until="networkidle")
                    page.locator("header nav details > summary").click()
                    page.wait_for_timeout(500)  # let the summary's chevron finish turning
                    page.screenshot(path=str(out))
                    results[name] = "ok"
                elif name == "badge":
                    if not (scorecard and entity):
                        results[name] = "missing (no scorecard or entity found)"
                        continue
                    response = page.request.get(f"/badges/{scorecard}/{entity}.svg")
                    if response.status != 200:
                        results[name] = f"missing (HTTP {response.status})"
                        continue
                    page.set_content(badge_page(args.base_url, scorecards or [scorecard], entity))
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(out))
                    results[name] = "ok"
                elif not paths[name]:
                    results[name] = "missing (no scorecard, entity or campaign found)"
                else:
                    results[name] = capture(page, paths[name], out, wait_for.get(name, ""), headings.get(name, ""))
            except PlaywrightError as exc:
                results[name] = f"failed ({exc.message.splitlines()[0]})"
        context.close()
        browser.close()

    for name in wanted:
        where = f" -> {args.out / f'{file_of[name]}.png'}" if results[name] == "ok" else ""
        say(f"{name:<11} {results[name]}{where}")
    return 1 if any(result.startswith("failed") for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
