"""The real services the product runs on: the database CI uses and the Celery broker."""

import os
import uuid

from django.conf import settings
from django.db import connection

from scorecards_site.celery import app


def test_ci_runs_on_postgresql():
    if os.environ.get("REQUIRE_POSTGRES"):
        assert connection.vendor == "postgresql"
    else:
        assert connection.vendor in {"postgresql", "sqlite"}


def test_a_message_round_trips_through_the_configured_broker():
    """Redis in CI and production; the filesystem transport on a bare machine."""
    body = {"probe": str(uuid.uuid4())}
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=2)
        queue = conn.SimpleQueue(f"scorecards-probe-{uuid.uuid4().hex}")
        try:
            queue.put(body)
            message = queue.get(timeout=5)
            message.ack()
            assert message.payload == body
        finally:
            queue.clear()
            queue.close()
    if os.environ.get("REQUIRE_POSTGRES"):
        assert settings.CELERY_BROKER_URL.startswith("redis://")
