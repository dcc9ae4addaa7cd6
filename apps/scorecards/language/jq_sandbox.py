"""Running users' jq programs where a runaway one can be stopped.

jq runs in C: `last(range(1e12))` never returns to Python, so no signal or thread can stop it in
process, and `[range(1e9)] | length` takes all the memory there is. So programs run in a child
process with an address-space limit (`JQ_MEMORY_BYTES`), and the parent waits at most
`JQ_TIMEOUT_SECONDS` for each answer: past either, the child is killed (a fresh one starts on the
next call) and the rule gets an error that says which bound it hit. Each process that evaluates rules
(a Celery worker process, a web process) keeps one child, reused call after call; a call costs a
round trip through a pipe.

The child is this file run as a script: it reads one JSON request per line on stdin and writes one
JSON answer per line on stdout.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any


@dataclass
class Limits:
    timeout_seconds: float = 2.0
    memory_bytes: int = 512 << 20


LIMITS = Limits()
# A rule needs a value, not a data dump: larger results are refused rather than held in the parent.
MAX_RESULT_BYTES = 16 << 20


class JqFailed(Exception):
    """The program failed (its own error), or hit a bound; the message is for the rule's author."""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


class _Child:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), str(LIMITS.memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self.buffer = b""

    def ask(self, request: bytes, timeout: float) -> dict | None:
        """The child's answer, or None when it died or did not answer in time (it is then killed)."""
        process = self.process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(request)
            process.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        fd = process.stdout.fileno()
        deadline = _now() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - _now()
            if remaining <= 0:
                self.kill()
                return {"timeout": True}
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
            if len(self.buffer) > MAX_RESULT_BYTES:
                self.kill()
                return {"too_big": True}
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def _now() -> float:
    import time

    return time.monotonic()


_lock = threading.Lock()
_child: _Child | None = None
_child_pid = 0


def run(program: str, value: Any) -> list:
    """Every output of `program` on `value`, as jq gives them. Raises JqFailed."""
    global _child, _child_pid
    try:
        request = json.dumps({"program": program, "input": value}, default=_json_default).encode() + b"\n"
    except (TypeError, ValueError) as exc:
        raise JqFailed(f"the input is not JSON: {exc}") from None
    with _lock:
        # A forked process (a Celery worker child) must not share its parent's child.
        if _child is None or _child_pid != os.getpid() or _child.process.poll() is not None:
            _child, _child_pid = _Child(), os.getpid()
        answer = _child.ask(request, LIMITS.timeout_seconds)
        if answer is None or "timeout" in answer or "too_big" in answer:
            dead, _child = _child, None
            if answer is None:
                dead.kill()
                raise JqFailed(f"the program used more than {LIMITS.memory_bytes >> 20} MB of memory and was stopped")
            if "too_big" in answer:
                raise JqFailed(f"the result is larger than {MAX_RESULT_BYTES >> 20} MB")
            raise JqFailed(f"the program ran longer than {LIMITS.timeout_seconds:g} s and was stopped")
    if "error" in answer:
        raise JqFailed(answer["error"])
    return answer["outputs"]


def _serve(memory_bytes: int) -> None:  # pragma: no cover - runs in the child process
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    import jq

    compiled: dict[str, Any] = {}
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
            program = compiled.get(request["program"])
            if program is None:
                if len(compiled) > 256:
                    compiled.clear()
                program = compiled[request["program"]] = jq.compile(request["program"])
            answer = {"outputs": program.input_value(request["input"]).all()}
        except MemoryError:
            sys.exit(3)
        except Exception as exc:  # noqa: BLE001 - the program's own error goes back to its author
            text = str(exc).strip()
            answer = {"error": text.splitlines()[0] if text else type(exc).__name__}
        try:
            out = json.dumps(answer).encode() + b"\n"
        except (TypeError, ValueError) as exc:
            out = json.dumps({"error": f"the result is not JSON: {exc}"}).encode() + b"\n"
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()


if __name__ == "__main__":  # pragma: no cover
    _serve(int(sys.argv[1]))
