"""Helpers for tests that drive a real Celery worker subprocess: polling, the worker process, run waits."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection

from apps.evaluations.models import EvaluationRun, RunStatus

BASE_DIR = Path(__file__).resolve().parents[2]
# Short, so the messages of a killed worker become visible again (are redelivered) within seconds.
VISIBILITY_TIMEOUT = 5
READY_TIMEOUT = 45
STOP_TIMEOUT = 20


def wait_until(
    predicate: Callable[[], Any], *, timeout: float, message: str | Callable[[], str], interval: float = 0.1
) -> Any:
    """Poll `predicate` until it returns something truthy; fail with `message` (or its result) after `timeout`s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s: {message() if callable(message) else message}")
        time.sleep(interval)


class Worker:
    """One `celery worker` process group, with its log in a file."""

    TASK_LINE = re.compile(r"Task (?P<name>[\w.]+)\[(?P<id>[0-9a-f-]+)\] (?P<outcome>succeeded|raised|retry)")

    def __init__(self, *, name: str, queue: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "scorecards_site",
            "worker",
            "--loglevel=INFO",
            "--pool=prefork",
            "--concurrency=2",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
        ]
        with log_path.open("wb") as log:
            # A session of its own: the pool children share the group, so one signal reaches them all.
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise AssertionError(f"worker {self.name} exited with {self.process.returncode}:\n{self.log()}")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        def ready() -> bool:
            self.check_alive()
            return " ready." in self.log()

        wait_until(ready, timeout=timeout, message=lambda: f"worker {self.name} did not become ready:\n{self.log()}")

    def tasks(self, name: str = "", outcome: str = "") -> dict[str, set[str]]:
        """Task ids seen in the log, by outcome (a line may be logged twice: root and celery handlers)."""
        seen: dict[str, set[str]] = {}
        for match in self.TASK_LINE.finditer(self.log()):
            if name and not match["name"].endswith(name):
                continue
            if outcome and match["outcome"] != outcome:
                continue
            seen.setdefault(match["outcome"], set()).add(match["id"])
        return seen

    def wait_for_tasks(self, ids: list[str], timeout: float = 30) -> None:
        """Until every task id has a final outcome in the log; fail if any of them raised."""

        def finished() -> bool:
            self.check_alive()
            seen = self.tasks()
            done = seen.get("succeeded", set()) | seen.get("raised", set())
            return set(ids) <= done

        wait_until(finished, timeout=timeout, message=lambda: f"tasks {ids} did not finish:\n{self.log()}")
        raised = set(ids) & self.tasks(outcome="raised").get("raised", set())
        assert not raised, f"tasks {raised} raised:\n{self.log()}"

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): no ack, no cleanup."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL whatever is left of the group."""
        if self.alive():
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)
        if self.alive():
            self.process.wait(timeout=STOP_TIMEOUT)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            pass


def wait_for_other_sessions_to_end(timeout: float = 20) -> None:
    """Until no other client is connected to the test database.

    A killed worker's PostgreSQL sessions outlive it until they next talk to it: a COMMIT already
    sent still lands after the SIGKILL. Only once they are gone is the database state final.
    """
    sql = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )

    def alone() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0] == 0

    wait_until(alone, timeout=timeout, message="other sessions are still connected to the test database")


def wait_for_run(run_id: int, *, worker: Worker | None = None, timeout: float = 60) -> EvaluationRun:
    """Poll the run row until it finishes; the worker, if given, must stay alive meanwhile."""

    def finished() -> EvaluationRun | None:
        if worker is not None:
            worker.check_alive()
        run = EvaluationRun.objects.get(pk=run_id)
        return run if run.status in (RunStatus.SUCCEEDED, RunStatus.FAILED) else None

    def message() -> str:
        return f"run {run_id} did not finish" + (f":\n{worker.log()}" if worker is not None else "")

    run = wait_until(finished, timeout=timeout, message=message, interval=0.2)
    assert run.status == RunStatus.SUCCEEDED, f"run {run_id} {run.status}: {run.error}"
    return run
