"""A real Celery worker process on a real Redis broker, against the test database (DESIGN §8).

The test process publishes (not eagerly) to a queue of its own; a `celery worker` subprocess started
with the base settings consumes it and writes to the database pytest-django created. Data must be
committed for the worker to see it, so the tests are transactional.

Locally these tests skip when the database is SQLite or Redis is unreachable; CI sets REQUIRE_POSTGRES,
and then they fail instead, so a broken environment cannot pass by skipping them.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
import redis
from django.conf import settings
from django.db import connection

from scorecards_site.celery import app
from tests.worker.harness import VISIBILITY_TIMEOUT, Worker

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/15"


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_POSTGRES"):
        pytest.fail(f"{reason} (REQUIRE_POSTGRES is set: worker tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can print the worker logs of failed tests."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"worker_report_{report.when}", report)


@pytest.fixture(scope="session")
def broker_url() -> str:
    """The Redis broker: CELERY_BROKER_URL when it names Redis (CI: db 15), else the local default."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith(("redis://", "rediss://")):
        url = DEFAULT_BROKER_URL
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        _unavailable(f"worker tests need a Redis broker at {url}: {exc}")
    return url


@pytest.fixture
def worker_database_url(transactional_db) -> str:
    """A DATABASE_URL naming the test database pytest-django created (test_<name>, _gwN under xdist)."""
    if connection.vendor != "postgresql":
        _unavailable(f"worker tests need PostgreSQL (DATABASE_URL); the database is {connection.vendor}")
    conf = connection.settings_dict
    auth = quote(conf["USER"] or "", safe="")
    if conf["PASSWORD"]:
        auth += ":" + quote(conf["PASSWORD"], safe="")
    host = conf["HOST"] or "localhost"
    location = quote(host, safe="") if host.startswith("/") else host
    if conf["PORT"]:
        location += f":{conf['PORT']}"
    url = f"postgres://{auth}@{location}/{quote(conf['NAME'], safe='')}"
    options = {key: value for key, value in (conf.get("OPTIONS") or {}).items() if isinstance(value, str | int)}
    return f"{url}?{urlencode(options)}" if options else url


def _forget_connections() -> None:
    """Drop the app's cached connection pool and queue routing, so a changed conf takes effect.

    The pools themselves live in kombu's process-wide registry, keyed by broker URL, and are reused.
    """
    app._pool = None
    app.__dict__.pop("amqp", None)


@pytest.fixture
def celery_queue(broker_url: str) -> Iterator[str]:
    """A queue of this test's own; the test process publishes to it on Redis, not eagerly."""
    name = f"scorecards-test-{uuid.uuid4().hex[:12]}"
    keys = ("task_always_eager", "broker_url", "task_default_queue")
    saved = {key: app.conf[key] for key in keys}
    _forget_connections()
    app.conf.update(task_always_eager=False, broker_url=broker_url, task_default_queue=name)
    try:
        yield name
    finally:
        try:
            _purge(name)
        finally:
            _forget_connections()
            app.conf.update(saved)


def _purge(queue: str) -> None:
    """Empty the queue, and forget messages of killed workers that would otherwise be restored into it."""
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)
    client = redis.Redis.from_url(app.conf.broker_url)
    try:
        for tag, payload in client.hgetall("unacked").items():
            try:
                _message, _exchange, routing_key = json.loads(payload)
            except (TypeError, ValueError):
                continue
            if routing_key == queue:
                client.zrem("unacked_index", tag)
                client.hdel("unacked", tag)
        # The exchange of the same name and its bindings, which kombu keeps beside the queue.
        client.delete(f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    finally:
        client.close()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    path = tmp_path / "mail"
    path.mkdir()
    return path


@pytest.fixture
def start_worker(
    request, celery_queue: str, broker_url: str, worker_database_url: str, tmp_path: Path, mail_dir: Path
) -> Iterator[Callable[..., Worker]]:
    """Start a ready worker on this test's queue; every worker is stopped at teardown, whatever happened.

    The worker gets EVALUATION_CHUNK_SIZE from the test's settings at the time it starts (the test
    process creates the chunks in `run_start`, so both must agree); keyword arguments add to its env.
    """
    workers: list[Worker] = []
    data_dir = tmp_path / "data"
    data_dir.mkdir()

    def start(**extra_env: str) -> Worker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "scorecards_site.settings.base",
            "DATABASE_URL": worker_database_url,
            "DATABASE_CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_QUEUE": celery_queue,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            # A worker killed while it holds kombu's restore lock would block the next one's restores.
            "CELERY_UNACKED_MUTEX_EXPIRE": str(VISIBILITY_TIMEOUT),
            "DATA_DIR": str(data_dir),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "EVALUATION_CHUNK_SIZE": str(settings.EVALUATION_CHUNK_SIZE),
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **extra_env,
        }
        env.pop("CELERY_TASK_EAGER_PROPAGATES", None)
        name = f"worker{len(workers) + 1}-{uuid.uuid4().hex[:6]}"
        worker = Worker(name=name, queue=celery_queue, env=env, log_path=tmp_path / f"{name}.log")
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start

    for worker in workers:
        worker.stop()
    failed = any(
        getattr(request.node, f"worker_report_{when}", None) is not None
        and getattr(request.node, f"worker_report_{when}").failed
        for when in ("setup", "call")
    )
    if failed:
        for worker in workers:
            # Shown with the failure, under "Captured worker log ... teardown".
            title = f"worker log of {worker.name} (exit {worker.process.returncode})"
            request.node.add_report_section("teardown", title, worker.log())
