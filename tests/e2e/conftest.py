"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

Nothing is downloaded: Playwright launches /usr/bin/chromium (`make test` installs it with apt when it is
missing). Without it the e2e tests are skipped, except under REQUIRE_POSTGRES (CI), where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    World,
    build_world,
    expect,
    sync_playwright,
    unavailable,
)

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """Without a browser the e2e tests are skipped; CI (REQUIRE_POSTGRES) lets them run and fail instead."""
    reason = unavailable()
    if reason is None or os.environ.get("REQUIRE_POSTGRES"):
        return
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {reason}"))


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (and xdist worker).

    Module scope, not session scope: while Playwright's sync API is started it keeps an asyncio loop
    running in this thread, so Django refuses ORM calls (SynchronousOnlyOperation), and a session-long
    loop would leak into every other test that runs later in the same worker. So the loop lives only as
    long as these tests, and DJANGO_ALLOW_ASYNC_UNSAFE is set for exactly that time (test-only: the ORM
    is used from the test's own thread, never from the loop). Launching takes well under a second.
    """
    reason = unavailable()
    if reason:  # only under REQUIRE_POSTGRES: otherwise the tests were skipped at collection
        pytest.fail(f"browser tests cannot run (CI must run the whole suite): {reason}", pytrace=False)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        expect.set_options(timeout=TIMEOUT_MS)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a fresh context (its own cookies: one signed-in person); all closed after the test."""
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def world(browser, live_server) -> World:
    # `browser` first: it allows the ORM calls below while Playwright's loop runs.
    return build_world()
