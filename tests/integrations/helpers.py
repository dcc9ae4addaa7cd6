"""Test helpers: real git repositories built with the git CLI, and a real local HTTP server."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return done.stdout


def commit_files(repo: Path, files: dict[str, str | bytes], message: str = "change") -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    git(repo, "add", "--", *files)
    git(repo, "commit", "-q", "-m", message)


def make_repo(path: Path, files: dict[str, str | bytes], *, branch: str = "main") -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", branch)
    commit_files(path, files, "initial")
    return path


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # a str is sent as is, anything else as JSON
    delay: float = 0.0


@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeService:
    url: str = ""
    routes: dict[str, Callable[[dict[str, str]], Reply]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def route(self, path: str, reply: Reply | Callable[[dict[str, str]], Reply]) -> None:
        self.routes[path] = reply if callable(reply) else (lambda query: reply)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        service = self.server.service
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        service.received.append(Received(split.path, query, dict(self.headers.items())))
        handler = service.routes.get(split.path)
        reply = handler(query) if handler else Reply(404, {"errors": [{"msg": f"Unknown url: {split.path}"}]})
        if reply.delay:
            time.sleep(reply.delay)
        payload = (reply.body if isinstance(reply.body, str) else json.dumps(reply.body)).encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, which is what the timeout tests want

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    service: FakeService


def start_server() -> tuple[_Server, threading.Thread]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.service = FakeService(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
