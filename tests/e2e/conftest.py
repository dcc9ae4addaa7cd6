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
def browser(django_db_setup, django_db_blocker):
    """One headless Chromium per test module (and xdist worker).

    While Playwright's sync API is started it keeps an asyncio loop running in this thread, and Django
    treats the thread as async from then on:
    - the ORM refuses calls (SynchronousOnlyOperation): DJANGO_ALLOW_ASYNC_UNSAFE is set for exactly as
      long as the loop lives (test-only; the ORM is used from the test's thread, never from the loop);
    - `django.db.connections` (thread-critical asgiref Local) switches to a separate, empty store and
      would hand out new connection objects, which lack the test database's serialized contents: a
      `serialized_rollback` test would then start without the data migrations made (the role groups), and
      its flush would re-run post_migrate, breaking the next serialized test with duplicate content types.
      So the thread's own connection objects are put into that store too.
    Module scope, not session scope, so the loop never outlives these tests and leaks into other tests of
    the same worker. Launching takes well under a second.
    """
    reason = unavailable()
    if reason:  # only under REQUIRE_POSTGRES: otherwise the tests were skipped at collection
        pytest.fail(f"browser tests cannot run (CI must run the whole suite): {reason}", pytrace=False)
    from django.db import connections

    with django_db_blocker.unblock():
        thread_connections = {alias: connections[alias] for alias in connections}
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        for alias, connection in thread_connections.items():
            setattr(connections._connections, alias, connection)
        assert connections["default"] is thread_connections["default"]
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
    """Open a page in a fresh context (its own cookies: one signed-in person); all closed after the test.

    Keyword arguments go to `browser.new_context` (e.g. java_script_enabled=False).
    """
    contexts = []

    def make(**options):
        options = {"viewport": {"width": 1280, "height": 800}, **options}
        context = browser.new_context(base_url=live_server.url, **options)
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
