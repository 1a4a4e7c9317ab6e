"""pytest fixtures for the local test peers; register with `pytest_plugins`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.peers.vcsim import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    GoToolchainMissing,
    Topology,
    VcsimServer,
    build_vcsim,
)


class StartVcsim(Protocol):
    def __call__(
        self,
        topology: Topology | None = None,
        *,
        tls: bool = False,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_names: tuple[str, ...] = (),
    ) -> VcsimServer: ...


def missing_peer(reason: str) -> None:
    """Skip locally, but fail in CI, where a missing peer means a broken setup."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def vcsim_binary() -> Path:
    try:
        return build_vcsim()
    except GoToolchainMissing as exc:
        missing_peer(str(exc))
        raise  # unreachable: missing_peer always raises


@pytest.fixture
def vcsim(vcsim_binary: Path) -> Iterator[StartVcsim]:
    """Factory: `server = vcsim(Topology(...), tls=True)`; every server is stopped at teardown."""
    servers: list[VcsimServer] = []

    def start(
        topology: Topology | None = None,
        *,
        tls: bool = False,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_names: tuple[str, ...] = (),
    ) -> VcsimServer:
        server = VcsimServer(
            vcsim_binary,
            topology,
            tls=tls,
            username=username,
            password=password,
            host=host,
            port=port,
            cert_names=cert_names,
        )
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
