"""The per-key rate limit under concurrency: 16 real HTTP clients (threads against the live server, which answers
each request on a thread of its own) on one key, released together. Exactly `limit` requests get through; the
rest answer 429 with the limit's headers, whichever protocol they use and wherever the count is kept."""

from __future__ import annotations

import logging
from collections import Counter

import pytest
import redis
import requests
from django.conf import settings as django_settings

from tests.concurrency import race

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True), pytest.mark.timeout(120)]
CLIENTS = 16
RULES = "/api/v2/scorecard/rules"
SCORECARDS = "/api/v1/scorecards"


def burst(live_server, key: str, path: str, *, per_client: int = 1) -> list[requests.Response]:
    """CLIENTS clients at once, each with its own HTTP connection, each sending `per_client` requests in turn."""

    def client() -> list[requests.Response]:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {key}"
            return [session.get(live_server.url + path, timeout=60) for _ in range(per_client)]

    outcomes = race(*([client] * CLIENTS))
    assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    return [response for o in outcomes for response in o.value]


@pytest.fixture(params=["redis", "process"])
def counted_in(request, settings):
    """Where the counters are kept: Redis (REDIS_URL), or this process's memory when no Redis is configured."""
    if request.param == "redis":
        if not settings.REDIS_URL:
            pytest.skip("needs Redis (set REDIS_URL)")
    else:
        settings.REDIS_URL = ""
    return request.param


def test_sixteen_clients_on_one_key_get_exactly_the_limit_through(live_server, viewer, settings, counted_in):
    settings.API_RATE_LIMIT = "5/minute"
    responses = burst(live_server, viewer.key, RULES)
    assert Counter(r.status_code for r in responses) == {200: 5, 429: CLIENTS - 5}
    # Each admitted request was counted on its own: the remaining counts are 4, 3, 2, 1, 0, once each.
    admitted = [r for r in responses if r.status_code == 200]
    assert sorted(int(r.headers["X-RateLimit-Remaining"]) for r in admitted) == [0, 1, 2, 3, 4]
    for response in responses:
        headers = response.headers
        assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Period"]) == ("5", "60")
        assert headers["X-RateLimit-Name"] == "api"
        assert 1 <= int(headers["X-RateLimit-Reset"]) <= 60
    for response in (r for r in responses if r.status_code == 429):
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert response.headers["Retry-After"] == response.headers["X-RateLimit-Reset"]
        assert response.json()["errors"][0].startswith("Request was throttled")


def test_many_requests_per_client_still_get_exactly_the_limit_through(live_server, viewer, settings, counted_in):
    settings.API_RATE_LIMIT = "10/minute"
    responses = burst(live_server, viewer.key, SCORECARDS, per_client=4)
    assert Counter(r.status_code for r in responses) == {200: 10, 429: 4 * CLIENTS - 10}
    for response in (r for r in responses if r.status_code == 429):
        # The Cortex error shape, with the wait the CLI honours.
        assert response.json()["type"] == "TOO_MANY_REQUESTS"
        assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_other_keys_keep_their_own_allowance_under_the_burst(live_server, viewer, editor, settings, counted_in):
    settings.API_RATE_LIMIT = "3/minute"
    assert Counter(r.status_code for r in burst(live_server, viewer.key, RULES)) == {200: 3, 429: CLIENTS - 3}
    other = requests.get(live_server.url + RULES, headers={"Authorization": f"Bearer {editor.key}"}, timeout=60)
    assert (other.status_code, other.headers["X-RateLimit-Remaining"]) == (200, "2")


def test_the_window_is_kept_in_redis_with_an_expiry(live_server, viewer, settings):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    settings.API_RATE_LIMIT = "4/minute"
    burst(live_server, viewer.key, RULES)
    client = redis.Redis.from_url(settings.REDIS_URL)
    (key,) = client.keys(f"{django_settings.API_RATE_LIMIT_KEY_PREFIX}:*")
    assert key.decode().endswith(f"throttle_api_key-{viewer.user.api_keys.get().pk}")
    assert client.zcard(key) == 4
    assert 0 < client.pttl(key) <= 60_000


def test_without_reachable_redis_each_process_still_counts_exactly(live_server, viewer, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.API_RATE_LIMIT = "2/minute"
    with caplog.at_level(logging.WARNING, logger="apps.api.throttling"):
        responses = burst(live_server, viewer.key, RULES)
    assert Counter(r.status_code for r in responses) == {200: 2, 429: CLIENTS - 2}
    assert "Redis unavailable" in caplog.text
