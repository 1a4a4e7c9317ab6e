"""Twenty readers through a real uvicorn server while a sync writes 10,000 objects (SQLite)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from iroa.audit.service import CLI_ACTOR
from iroa.auth.tokens import create_token
from iroa.auth.users import create_user
from iroa.config import Settings
from iroa.connectors.base import (
    ClusterRecord,
    ConnectionOptions,
    DatacenterRecord,
    DatastoreRecord,
    HostRecord,
    NetworkRecord,
    Progress,
    Snapshot,
    SourceInfo,
    VmDatastoreRecord,
    VmDiskRecord,
    VmNetworkRecord,
    VmNicRecord,
    VmRecord,
)
from iroa.crypto import SecretBox, load_secret_key
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.server import create_app
from iroa.sync import service as sync_service

VMS = 2_000
READERS = 20


def large_snapshot() -> Snapshot:
    """2,000 VMs with a disk, a NIC and their relations each: 10,000 objects and a few more."""
    hosts = [HostRecord(f"host-{i}", f"esx{i}", "dc", "c1") for i in range(4)]
    vms, disks, nics, vm_ds, vm_nets = [], [], [], [], []
    for i in range(VMS):
        vm = f"vm-{i}"
        vms.append(
            VmRecord(
                vm,
                f"app-{i:05d}",
                "dc",
                "c1",
                f"host-{i % 4}",
                "on",
                num_cpu=2,
                memory_mib=4096,
                ip_addresses=(f"10.0.{i // 250}.{i % 250}",),
            )
        )
        disks.append(VmDiskRecord(f"{vm}/disk-0", vm, "Hard disk 1", "ds-1", 40 << 30))
        nics.append(VmNicRecord(f"{vm}/nic-0", vm, "Network adapter 1", "net-1"))
        vm_ds.append(VmDatastoreRecord(f"{vm}/ds-1", vm, "ds-1"))
        vm_nets.append(VmNetworkRecord(f"{vm}/net-1", vm, "net-1"))
    return Snapshot(
        SourceInfo("synthetic", "Synthetic estate"),
        datacenters=[DatacenterRecord("dc", "DC")],
        clusters=[ClusterRecord("c1", "Cluster 1", "dc")],
        hosts=hosts,
        datastores=[DatastoreRecord("ds-1", "ds1", "dc", capacity_bytes=1 << 40)],
        networks=[NetworkRecord("net-1", "VM Network", "dc")],
        vms=vms,
        vm_disks=disks,
        vm_nics=nics,
        vm_datastores=vm_ds,
        vm_networks=vm_nets,
    )


class SyntheticConnector:
    """Stands in for a vCenter: hands over a prepared snapshot, with progress."""

    kind = "vcenter"

    def __init__(self, options: ConnectionOptions) -> None:
        self.snapshot = large_snapshot()

    def check(self) -> SourceInfo:
        return self.snapshot.source

    def collect(self, progress: Progress) -> Snapshot:
        progress.start("collect vms", len(self.snapshot.vms))
        progress.advance(len(self.snapshot.vms))
        return self.snapshot


@dataclass
class Served:
    base_url: str
    token: str
    integration_id: int


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    settings = Settings(data_dir=tmp_path / "data")
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    user = create_user(db, CLI_ACTOR, "ops", "operator", "a long passphrase")
    token = create_token(db, CLI_ACTOR, user.id, "load").secret
    box = SecretBox(load_secret_key(settings))
    integration = add_integration(
        db, box, IntegrationInput("vcenter", "big", "https://big.example.com")
    )
    monkeypatch.setattr(
        sync_service, "create_any_connector", lambda kind, options: SyntheticConnector(options)
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", token, integration.id)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        db.dispose()


def test_readers_see_no_errors_while_a_large_sync_writes(served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.token}"}
    paths = ["/api/v1/health", "/api/v1/integrations", "/api/v1/syncs", "/api/v1/vms?limit=50"]
    stop = threading.Event()
    errors: list[str] = []
    counts = [0] * READERS

    def reader(index: int) -> None:
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=60) as client:
            while not stop.is_set():
                path = paths[(index + counts[index]) % len(paths)]
                try:
                    response = client.get(path)
                    if response.status_code != 200:
                        errors.append(f"{path}: {response.status_code} {response.text[:200]}")
                except httpx.HTTPError as exc:
                    errors.append(f"{path}: {type(exc).__name__}: {exc}")
                counts[index] += 1

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    for thread in threads:
        thread.start()
    try:
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=60) as client:
            response = client.post(f"/api/v1/integrations/{served.integration_id}/sync")
            assert response.status_code == 202, response.text
            run_id = response.json()["id"]
            deadline = time.monotonic() + 120
            while True:
                run = client.get(f"/api/v1/syncs/{run_id}").json()
                if run["status"] != "running":
                    break
                assert time.monotonic() < deadline, "the sync did not finish"
                time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert run["status"] == "succeeded", run
    assert run["added"] >= 5 * VMS
    assert errors == []
    assert min(counts) > 0
