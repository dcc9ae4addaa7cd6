"""`make run` stops cleanly: the real `make run`, with its real web server, Celery worker and beat.

Each test starts `make run` in a process group of its own, on a PostgreSQL database this module creates
and drops, a Redis broker and a queue of its own, and a free port; waits until the web server answers
HTTP, the worker is ready and beat has started; then stops it the way a user does: SIGINT or SIGTERM to
make's pid alone, or SIGINT to the whole process group as a terminal's Ctrl-C does. Every process make
started must be gone within STOP_SECONDS and make must print no error line. The last test checks the
other side: one of the three dying on its own (here as it starts, which is cheaper to wait for) must stop
the others and still show as make's error.

make runs with `-o install` (the recipe of `run` as it is, without its `install` prerequisite): the
install stamp's name is a checksum of the Makefile and pyproject.toml, so an edit to either would have
make re-run pip here. `PY` is the interpreter running these tests, and `DEMO=0` skips the demo data,
its evaluation and the demo logins, which take half a minute and matter nothing to stopping.

Locally the tests skip without PostgreSQL (DATABASE_URL) or Redis; under REQUIRE_POSTGRES (CI) they fail.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/15"
READY_SECONDS = 120  # a loaded 2-core CI machine: migrate, then three Django/Celery start-ups side by side
STOP_SECONDS = 10

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the process tree from /proc"),
    pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make"),
]


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_POSTGRES"):
        pytest.fail(f"{reason} (REQUIRE_POSTGRES is set: these tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of its own on DATABASE_URL's PostgreSQL server, dropped at the end."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        _unavailable("`make run` tests need PostgreSQL (DATABASE_URL)")
    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    name = f"scorecards_makerun_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        _unavailable(f"`make run` tests could not create a database on {parts.hostname}: {exc}")
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def broker_url() -> str:
    import redis

    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith(("redis://", "rediss://")):
        url = DEFAULT_BROKER_URL
    # A Redis database of its own: the workers share kombu's `unacked_mutex` per database, and one killed here
    # mid-sweep would hold it and stall the redelivery the worker tests wait for.
    url = url.rsplit("/", 1)[0] + "/13"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        _unavailable(f"`make run` tests need a Redis broker at {url}: {exc}")
    return url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_time(pid: int) -> str | None:
    """The process's start time (field 22 of /proc/<pid>/stat), or None once it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    return None if fields[0] in {"Z", "X"} else fields[19]


def _descendants(root: int) -> dict[int, str]:
    """Every live process below `root`, as pid -> start time (which tells a reused pid apart)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        parent = todo.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found and (started := _start_time(pid)) is not None:
                found[pid] = started
                todo.append(pid)
    return found


def _wait_for(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


class MakeRun:
    """`make run` in a process group of its own (like a shell's foreground job), its output collected."""

    def __init__(self, database_url: str, broker_url: str, data_dir: Path) -> None:
        self.port = _free_port()
        self.queue = f"scorecards-makerun-{uuid.uuid4().hex[:12]}"
        self.broker_url = broker_url
        self.lines: list[str] = []
        # A make started by `make test` must not take its parent's jobserver or level (make[1]: ...).
        env = {key: value for key, value in os.environ.items() if not key.startswith(("MAKE", "MFLAGS"))}
        for key in ("REDIS_URL", "CELERY_TASK_EAGER_PROPAGATES"):
            env.pop(key, None)
        env.update(
            DJANGO_SETTINGS_MODULE="scorecards_site.settings.base",  # pytest-django set the test settings
            DATABASE_URL=database_url,
            DATABASE_CONN_MAX_AGE="0",
            CELERY_BROKER_URL=broker_url,
            CELERY_QUEUE=self.queue,
            CELERY_TASK_ALWAYS_EAGER="false",
            DATA_DIR=str(data_dir),
            PYTHONUNBUFFERED="1",
        )
        args = ["make", "-o", "install", "run", f"PY={sys.executable}", "DEMO=0", "WORKERS=1"]
        args += ["HOST=127.0.0.1", f"PORT={self.port}"]
        self.process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=self._foreground_job,
        )
        self.known: dict[int, str] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @staticmethod
    def _foreground_job() -> None:
        """Its own process group, with SIGINT and SIGQUIT caught by make as in a terminal (an xdist worker
        or a background shell may have left them ignored, and an ignored signal stays so across exec)."""
        os.setpgid(0, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def _has(self, pattern: str) -> bool:
        return any(re.search(pattern, line) for line in list(self.lines))

    def _web_answers(self) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2).close()
        except urllib.error.HTTPError:
            return True  # any HTTP answer will do
        except OSError:
            return False
        return True

    def started(self, name: str) -> int:
        for line in self.lines:
            if match := re.match(rf"run_all \| started {name} \(pid (\d+)\)", line):
                return int(match.group(1))
        raise AssertionError(f"the launcher did not start {name}:\n{self.output}")

    def _still_running(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"make exited with {self.process.returncode} too early:\n{self.output}")
        return True

    def wait_started(self) -> None:
        """Until the launcher has started all three (they may still be starting up themselves)."""
        started = _wait_for(lambda: self._still_running() and self._has(r"^run_all \| started beat "), READY_SECONDS)
        assert started, f"the launcher had not started beat after {READY_SECONDS}s:\n{self.output}"
        self.known = _descendants(self.process.pid)

    def wait_ready(self) -> None:
        def ready() -> bool:
            return (
                self._still_running()
                and self._has(r"^worker\s*\| .*celery@\S+ ready\.")
                and self._has(r"^beat\s*\| .*beat: Starting\.\.\.")
                and self._web_answers()
            )

        assert _wait_for(ready, READY_SECONDS), f"`make run` was not up after {READY_SECONDS}s:\n{self.output}"
        self.known = _descendants(self.process.pid)
        pids = set(self.known)
        for name in ("web", "worker", "beat"):
            assert self.started(name) in pids, f"{name} is not below make:\n{self.output}"

    def survivors(self) -> list[int]:
        """The processes below make seen when it was up that still run, and whatever runs below make now."""
        left = {pid for pid, started in self.known.items() if _start_time(pid) == started}
        if self.process.poll() is None:
            left |= set(_descendants(self.process.pid))
        return sorted(left)

    def wait_stopped(self, timeout: float) -> None:
        """Until make and everything below it are gone; fails after `timeout` seconds."""
        gone = _wait_for(lambda: self.process.poll() is not None and not self.survivors(), timeout)
        assert gone, (
            f"after {timeout}s make is {'running' if self.process.poll() is None else 'gone'} and these still run: "
            f"{self.survivors()}\n{self.output}"
        )
        self._reader.join(5)

    def kill_everything(self) -> None:
        """Teardown whatever happened: SIGKILL to make's group and to the groups of all that ran below it."""
        groups = {self.process.pid} if self.process.poll() is None else set()
        for pid in self.survivors():
            try:
                groups.add(os.getpgid(pid))
            except ProcessLookupError:
                pass
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.process.wait(10)

    def forget_queue(self) -> None:
        import redis

        client = redis.Redis.from_url(self.broker_url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.delete(self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}")
        finally:
            client.close()

    def error_lines(self) -> list[str]:
        """make's own complaints (`make: *** [Makefile:NN: run] Error 130`, `Interrupt`, ...): lines not
        copied from the three (the launcher prefixes those with their names; Celery's banner has stars)."""
        own = [line for line in self.lines if not re.match(r"(run_all|web|worker|beat)\s*\| ", line)]
        return [line for line in own if re.match(r"make(\[\d+\])?: ", line) or re.search(r"\*\*\*|Error", line)]


@pytest.fixture
def make_run(database_url: str, broker_url: str, tmp_path: Path) -> Iterator[MakeRun]:
    run = MakeRun(database_url, broker_url, tmp_path / "data")
    try:
        yield run
    finally:
        run.kill_everything()
        run.forget_queue()


@pytest.mark.parametrize(
    ("sig", "whole_group"),
    [
        pytest.param(signal.SIGINT, False, id="SIGINT-to-make"),
        pytest.param(signal.SIGTERM, False, id="SIGTERM-to-make"),
        pytest.param(signal.SIGINT, True, id="Ctrl-C-to-the-group"),
    ],
)
def test_a_signal_stops_all_three_and_make_reports_no_error(make_run: MakeRun, sig: signal.Signals, whole_group):
    make_run.wait_ready()

    if whole_group:
        os.killpg(make_run.process.pid, sig)  # the terminal's Ctrl-C: make and the launcher both get it
    else:
        os.kill(make_run.process.pid, sig)  # make alone: it passes SIGTERM on, but not SIGINT

    make_run.wait_stopped(STOP_SECONDS)

    assert make_run.error_lines() == [], make_run.output
    assert any(line.startswith("run_all | all stopped") for line in make_run.lines), make_run.output
    assert not any("did not stop within" in line for line in make_run.lines), make_run.output
    # make waits for its recipe, then raises the signal on itself: the shell still learns of the interruption.
    assert make_run.process.returncode == -sig


def test_one_of_them_dying_on_its_own_stops_the_others_and_shows_as_an_error(make_run: MakeRun):
    make_run.wait_started()

    os.kill(make_run.started("beat"), signal.SIGKILL)

    make_run.wait_stopped(STOP_SECONDS)

    assert any("beat exited with status -9: stopping the others" in line for line in make_run.lines), make_run.output
    assert any(re.search(r"\*\*\* \[.*run\] Error 137$", line) for line in make_run.error_lines()), make_run.output
    assert make_run.process.returncode == 2
