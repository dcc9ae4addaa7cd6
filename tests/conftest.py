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
