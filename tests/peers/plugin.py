"""pytest fixtures for the local test peers; register with `pytest_plugins`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.peers.certs import CertFiles, generate_certs
from tests.peers.prometheus import PrometheusMissing, PrometheusPeer, start_prometheus
from tests.peers.vcsim import (
    DEFAULT_PASSWORD,
    DEFAULT_USERNAME,
    GoToolchainMissing,
    Topology,
    VcsimServer,
    build_vcsim,
)
from tests.peers.winrm.server import DEFAULT_PASSWORD as WINRM_PASSWORD
from tests.peers.winrm.server import DEFAULT_USERNAME as WINRM_USERNAME
from tests.peers.winrm.server import Reply as WinrmReply
from tests.peers.winrm.server import WinrmServer, envelope_reply
from tests.peers.zabbix import ZabbixMissing, ZabbixPeer, start_zabbix


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


PEER_FIXTURES = frozenset(
    {"vcsim_binary", "vcsim", "winrm", "prometheus", "zabbix", "zabbix_estate", "browser"}
)
"""Fixtures that start a local peer; the tests that use one are marked ``peer``."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``peer`` every test that starts a peer, so ``make check`` can leave them out."""
    for item in items:
        if PEER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.peer)


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


class StartWinrm(Protocol):
    def __call__(
        self,
        reply: WinrmReply | str | None = None,
        *,
        tls: bool = False,
        username: str = WINRM_USERNAME,
        password: str = WINRM_PASSWORD,
    ) -> WinrmServer: ...


@pytest.fixture(scope="session")
def winrm_certs(tmp_path_factory: pytest.TempPathFactory) -> CertFiles:
    return generate_certs(tmp_path_factory.mktemp("winrm-certs"))


@pytest.fixture
def winrm(winrm_certs: CertFiles) -> Iterator[StartWinrm]:
    """Factory: `server = winrm("cluster", tls=True)` answers with recordings/cluster.json.

    Each server is a loopback WinRM endpoint (see tests/peers/winrm/server.py),
    stopped at teardown; set `server.reply` to change what the next command prints.
    """
    servers: list[WinrmServer] = []

    def start(
        reply: WinrmReply | str | None = None,
        *,
        tls: bool = False,
        username: str = WINRM_USERNAME,
        password: str = WINRM_PASSWORD,
    ) -> WinrmServer:
        server = WinrmServer(
            certs=winrm_certs if tls else None,
            username=username,
            password=password,
            reply=envelope_reply(reply) if isinstance(reply, str) else reply,
        )
        try:
            server.start()
        except OSError as exc:
            missing_peer(f"the WinRM test endpoint cannot listen on loopback: {exc}")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def prometheus() -> Iterator[PrometheusPeer]:
    """A real Prometheus (basic auth) scraping a file-driven exporter (tests/peers/prometheus.py).

    Tests set the exporter's series with ``prometheus.set_series([...])``, which
    returns once Prometheus has scraped them.
    """
    try:
        peer = start_prometheus()
    except (PrometheusMissing, OSError) as exc:
        missing_peer(f"Prometheus cannot start: {exc}")
        raise  # unreachable: missing_peer always raises
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def zabbix() -> Iterator[ZabbixPeer]:
    """A real Zabbix 6.0: API (php -S) and server (trapper); see tests/peers/zabbix.py."""
    try:
        peer = start_zabbix()
    except (ZabbixMissing, OSError) as exc:
        missing_peer(f"Zabbix cannot start: {exc}")
        raise  # unreachable: missing_peer always raises
    yield peer
    peer.stop()
