"""Fixtures: an isolated git cache, a local https "remote", entities and a real local HTTP server."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from apps.catalog.models import Entity
from tests.integrations.helpers import FakeService, start_server


@pytest.fixture(autouse=True)
def git_cache(settings, tmp_path: Path) -> Path:
    settings.GIT_CACHE_DIR = tmp_path / "git-cache"
    return settings.GIT_CACHE_DIR


@pytest.fixture
def remote_host(tmp_path: Path, monkeypatch) -> tuple[str, Path]:
    """An https "remote" served from a local folder, through git's own url.<base>.insteadOf rewriting.

    The collector sees a real remote URL and clones and fetches it like any other; no network is used.
    """
    folder = tmp_path / "remote-host"
    folder.mkdir()
    config = tmp_path / "gitconfig"
    config.write_text(f'[url "file://{folder}/"]\n\tinsteadOf = https://git.example.test/\n')
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    return "https://git.example.test", folder


@pytest.fixture
def make_entity(db) -> Callable[..., Entity]:
    def create(tag: str, *, git_url: str = "", descriptor: dict[str, Any] | None = None) -> Entity:
        name = tag.replace("-", " ").title()
        return Entity.objects.create(tag=tag, name=name, git_url=git_url, descriptor=descriptor)

    return create


@pytest.fixture
def http_service() -> Iterator[FakeService]:
    server, thread = start_server()
    yield server.service
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on, so connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
