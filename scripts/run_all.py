"""Run the product's three processes together and stop them together: the web server, a Celery
worker and Celery beat (`make run` calls this after migrating and loading the demo data).

    .venv/bin/python scripts/run_all.py [--host 127.0.0.1] [--port 8000] [--concurrency 2] [--watch-parent]

Each process runs in a session (and so a process group) of its own and its output is shown with its
name in front. Ctrl-C or SIGTERM, or any one of the three exiting, stops all of them: SIGTERM to each
(Celery finishes the tasks it is running, runserver's autoreloader takes its child down), then,
after --grace seconds, SIGKILL to whatever is left in their process groups (a second Ctrl-C does that
at once). On Linux the three also get SIGTERM should the launcher itself be killed outright.

Why --watch-parent (`make run` passes it; the Makefile execs us, so our parent is make itself):
GNU make passes SIGTERM on to its running recipe but not SIGINT, SIGHUP or SIGQUIT. On those it resets
the signal to its default action, waits for the recipe to end, and only then raises the signal on itself
again; so `kill -INT <make's pid>` alone would leave the three running and make waiting for ever. No
signal reaches us, but the reset shows in /proc/<make's pid>/status: the signal leaves SigCgt (or sits
in SigPnd/ShdPnd a moment before). The launcher polls that, with its other work, every 0.2 s; it also
stops when make is gone (killed outright). Without /proc (not Linux) only the latter is noticed; the
terminal's Ctrl-C still reaches us directly, as it reaches the whole foreground process group.

Exit status: 0 when we stopped because we were asked to (a signal to us or to make), since make then
prints no `*** Error 130` line and, if make got the signal, it raises it on itself anyway, so the shell
still learns of the interruption. Otherwise, when one of the three exited on its own, its status
(128 + the signal if it was killed), and 1 if that was 0: the product stopped unasked, which `make run`
must report as the failure it is.

Standard library only, so it runs wherever the project's virtualenv does.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    name: str
    args: list[str]
    process: subprocess.Popen | None = None
    buffer: bytes = field(default=b"")


def commands(host: str, port: str, concurrency: int, loglevel: str) -> list[Child]:
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "scorecards_site"]
    return [
        # --insecure: serve the static files (the admin's CSS) although DEBUG is off, as a local run needs.
        Child("web", [python, "manage.py", "runserver", "--insecure", f"{host}:{port}"]),
        Child("worker", [*celery, "worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}"]),
        Child("beat", [*celery, "beat", f"--loglevel={loglevel}"]),
    ]


def _die_with_parent(parent_pid: int):
    """In the child, before exec: SIGTERM when the launcher dies, however it dies (Linux only)."""
    libc_name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
    if libc_name is None:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:  # the launcher died before prctl took effect
            os._exit(1)

    return preexec


# Signals on which GNU make waits for its recipe to end and then dies (SIGQUIT: exits 2).
MAKE_FATAL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def _bit(sig: int) -> int:
    return 1 << (sig - 1)


class ParentWatch:
    """Notices the parent make getting a fatal signal (see the module's docstring) or going away."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        status = self._status()
        caught = int(status.get("SigCgt", "0"), 16) if status else 0
        # Only signals make catches now: one it ignores (a make started in the background ignores SIGINT)
        # changes nothing, and one it already left at its default kills it, so it is gone and noticed as such.
        self.watched = [sig for sig in MAKE_FATAL_SIGNALS if caught & _bit(sig)]

    def _status(self) -> dict[str, str] | None:
        try:
            text = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        return {key: value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())}

    def news(self) -> str | None:
        """Why we must stop, or None."""
        gone = f"make (pid {self.pid}) is gone"
        if os.getppid() != self.pid:  # it died and we were handed to another parent
            return gone
        if not self.watched:
            return None
        status = self._status()
        if status is None or status.get("State", "").startswith(("Z", "X")):
            return gone
        try:
            caught = int(status["SigCgt"], 16)
            pending = int(status["SigPnd"], 16) | int(status["ShdPnd"], 16)
        except (KeyError, ValueError):
            return None
        for sig in self.watched:
            if not caught & _bit(sig) or pending & _bit(sig):
                return f"make got {sig.name}"
        return None


class Launcher:
    def __init__(self, children: list[Child], grace: float, parent: ParentWatch | None = None) -> None:
        self.children = children
        self.grace = grace
        self.parent = parent
        self.selector = selectors.DefaultSelector()
        self.signalled: int | None = None
        self.force = False
        self.width = max(len("run_all"), *(len(child.name) for child in children))

    # -- output -------------------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self._write("run_all", text.encode())

    def _write(self, name: str, line: bytes) -> None:
        prefix = f"{name:<{self.width}} | ".encode()
        try:
            sys.stdout.buffer.write(prefix + line.rstrip(b"\r\n") + b"\n")
            sys.stdout.buffer.flush()
        except OSError:  # nobody reads our output any more; the children must still be stopped
            pass

    def pump(self, timeout: float) -> None:
        """Copy whatever the children printed, line by line, waiting at most `timeout` seconds."""
        if not self.selector.get_map():
            time.sleep(timeout)
            return
        for key, _ in self.selector.select(timeout):
            child: Child = key.data
            data = os.read(key.fd, 65536)
            if not data:
                self.selector.unregister(key.fd)
                if child.buffer:
                    self._write(child.name, child.buffer)
                    child.buffer = b""
                continue
            *lines, child.buffer = (child.buffer + data).split(b"\n")
            for line in lines:
                self._write(child.name, line)

    # -- processes ----------------------------------------------------------------------------------
    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        preexec = _die_with_parent(os.getpid())
        for child in self.children:
            child.process = subprocess.Popen(
                child.args,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: the terminal's Ctrl-C reaches only us
                preexec_fn=preexec,
            )
            self.selector.register(child.process.stdout, selectors.EVENT_READ, child)
            self.say(f"started {child.name} (pid {child.process.pid}): {' '.join(child.args[1:])}")

    def running(self) -> list[Child]:
        return [child for child in self.children if child.process and child.process.poll() is None]

    def _signal(self, signum: int, frame) -> None:
        if self.signalled is not None:
            self.force = True  # a second Ctrl-C: no more waiting
        self.signalled = signum

    def _kill_groups(self, sig: int) -> None:
        for child in self.children:
            try:
                os.killpg(child.process.pid, sig)  # the leader's pid is its group's id
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self) -> None:
        for child in self.running():
            self.say(f"stopping {child.name}")
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        while self.running() and time.monotonic() < deadline and not self.force:
            self.pump(0.2)
        for child in self.running():
            self.say(f"{child.name} did not stop within {self.grace:g}s: killing it")
        # Also whatever a leader left behind: runserver's reloaded child, Celery's pool processes.
        self._kill_groups(signal.SIGKILL)
        for child in self.children:
            child.process.wait()
        while self.selector.get_map():
            self.pump(0.2)
        self.say("all stopped")

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._signal)
        status = 0
        try:
            self.start()
            while True:
                if self.signalled is not None:
                    self.say(f"got {signal.Signals(self.signalled).name}: stopping everything")
                    break
                news = self.parent.news() if self.parent is not None else None
                if news is not None:
                    self.say(f"{news}: stopping everything")
                    break
                exited = [child for child in self.children if child.process.poll() is not None]
                if exited:
                    code = exited[0].process.returncode
                    status = (128 - code if code < 0 else code) or 1
                    self.say(f"{exited[0].name} exited with status {code}: stopping the others")
                    break
                self.pump(0.2)
        finally:
            started = [child for child in self.children if child.process is not None]
            self.children = started
            if started:
                self.stop()
        return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes (default 2)")
    parser.add_argument("--loglevel", default="INFO", help="Celery log level (default INFO)")
    parser.add_argument("--grace", type=float, default=15.0, help="seconds to wait before SIGKILL (default 15)")
    parser.add_argument(
        "--watch-parent",
        action="store_true",
        help="our parent is make (`make run`): stop when it gets SIGINT/SIGTERM/SIGHUP/SIGQUIT or goes away",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from scorecards_site.local_key import ensure_local_secret_key

    ensure_local_secret_key(ROOT)  # inherited by the web server, the worker and beat
    parent = ParentWatch(os.getppid()) if args.watch_parent else None
    children = commands(args.host, args.port, args.concurrency, args.loglevel)
    launcher = Launcher(children, grace=args.grace, parent=parent)
    return launcher.run()


if __name__ == "__main__":
    sys.exit(main())
