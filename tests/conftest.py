import os

import pytest
from pytest_factoryboy import register

from tests import factories

register(factories.UserFactory)
register(factories.EntityFactory)
register(factories.ScorecardFactory)
register(factories.LevelFactory)
register(factories.RuleFactory)


def pytest_sessionstart(session):
    """CI sets REQUIRE_POSTGRES so a misconfigured run can never fall back to SQLite unnoticed."""
    if os.environ.get("REQUIRE_POSTGRES"):
        from django.conf import settings

        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            raise pytest.UsageError(f"REQUIRE_POSTGRES is set but the database engine is {engine}")


@pytest.fixture
def postgres_only():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def tasks_run():
    """Names and arguments of the Celery tasks that ran eagerly during the test, in order."""
    from celery.signals import task_prerun

    ran: list[tuple[str, tuple]] = []

    def record(sender=None, args=None, **_):
        ran.append((sender.name.rsplit(".", 1)[-1], tuple(args or ())))

    task_prerun.connect(record, weak=False)
    try:
        yield ran
    finally:
        task_prerun.disconnect(record)


@pytest.fixture(autouse=True)
def _own_rate_limit_counters(settings):
    """Rate-limit counters live in Redis (REDIS_URL), shared by every test and xdist worker: each test counts
    under a prefix of its own, so none inherits another's requests, and removes its counters afterwards."""
    import uuid

    prefix = f"test-{uuid.uuid4().hex}"
    settings.API_RATE_LIMIT_KEY_PREFIX = prefix
    yield
    if settings.REDIS_URL:
        import redis

        try:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)
        except redis.RedisError:
            pass  # the counters expire by themselves


@pytest.fixture(autouse=True)
def _fresh_ip_allowlist():
    """Each process keeps the IP allowlist it read for a few seconds; no test may inherit another's list."""
    from apps.security.selectors import allowed_networks_forget

    allowed_networks_forget()
    yield
    allowed_networks_forget()
