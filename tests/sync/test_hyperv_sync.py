"""End to end: loopback WinRM endpoint → pywinrm → Hyper-V connector → sync engine → database."""

from __future__ import annotations

import socket
from collections import Counter
from typing import Any

from sqlalchemy import select

from iroa.connectors.base import ConnectionOptions
from iroa.connectors.hyperv.connector import HyperVConnector
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.history.models import Change
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.queries import jsonable_row, list_objects, list_query
from iroa.inventory.types import BY_PLURAL
from iroa.sync.engine import run_sync
from iroa.sync.runs import SyncResult
from tests.findings.test_findings import findings
from tests.peers.winrm.record import guid
from tests.peers.winrm.server import Reply, WinrmServer, envelope_reply, powershell_error

GIB = 1024**3
CLUSTER_ID = guid("cluster/HVCL01")
CSV1_ID, CSV2_ID = guid("csv1"), guid("csv2")
N1, N2 = "HV-N1.corp.example.com", "HV-N2.corp.example.com"


def connector_for(server: WinrmServer, **overrides: Any) -> HyperVConnector:
    values: dict[str, Any] = {
        "url": server.url,
        "username": server.username,
        "password": server.password,
        "transport": "basic",
        "ca_file": str(server.ca_file) if server.ca_file else None,
        "connect_timeout_s": 1.0,
        "read_timeout_s": 2.0,
    }
    values.update(overrides)
    return HyperVConnector(ConnectionOptions(**values))


def new_integration(db: Database, box: SecretBox, server: WinrmServer, name: str = "hv") -> int:
    data = IntegrationInput("hyperv", name, server.url, transport="basic")
    return add_integration(db, box, data).id


def sync(db: Database, integration_id: int, server: WinrmServer, **kw: Any) -> SyncResult:
    return run_sync(db, integration_id, connector_for(server), **kw)


def rows(db: Database, plural: str, integration: str | None = None) -> list[dict[str, Any]]:
    stmt = list_query(BY_PLURAL[plural], integration=integration)
    with db.session() as session:
        return [jsonable_row(row._mapping) for row in session.execute(stmt)]


def by_name(items: list[dict[str, Any]], key: str = "name") -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


def changes_of(db: Database, run_id: int) -> Counter[tuple[str, str]]:
    with db.session() as s:
        found = s.execute(
            select(Change.object_type, Change.action).where(Change.sync_run_id == run_id)
        ).all()
    return Counter((t, a) for t, a in found)


def change_rows(db: Database, run_id: int) -> dict[tuple[str, str, str], Change]:
    with db.session() as s:
        found = s.scalars(select(Change).where(Change.sync_run_id == run_id))
        return {(c.object_type, c.action, c.external_id): c for c in found}


def test_standalone_host_object_by_object(db: Database, box: SecretBox, winrm: Any) -> None:
    server = winrm("standalone", tls=True)
    integration_id = new_integration(db, box, server)
    result = sync(db, integration_id, server)
    assert result.status == "succeeded", result.error
    assert result.totals == {
        "datacenters": 0,
        "clusters": 0,
        "hosts": 1,
        "datastores": 3,
        "networks": 3,
        "resource_pools": 0,
        "vms": 12,
        "vm_disks": 14,
        "vm_nics": 13,
        "vm_snapshots": 2,
        "vm_datastores": 14,  # edge01: disk on C:, configuration on D:
        "vm_networks": 12,
        "vm_partitions": 0,  # not collected over WinRM
        "vm_devices": 2,  # DVD drives: web01's holds an ISO, legacy-nt's is empty
        "tags": 0,
    }

    (host,) = list_objects(db, "hosts")
    assert {k: host[k] for k in ("name", "external_id", "platform", "integration")} == {
        "name": "HV-STD01.corp.example.com",
        "external_id": "hv-std01.corp.example.com",
        "platform": "hyperv",
        "integration": "hv",
    }
    assert (host["vendor"], host["model"], host["cpu_threads"], host["memory_mib"]) == (
        "Dell Inc.",
        "PowerEdge R650",
        32,
        262144,
    )
    assert host["hypervisor_name"] == "Microsoft Windows Server 2022 Datacenter"
    assert host["boot_time"] == "2026-10-30T02:14:37.500000+00:00"

    vms = by_name(list_objects(db, "vms"))
    assert {name: vm["power_state"] for name, vm in vms.items()} == {
        "app03": "unknown",
        "build01": "off",
        "büro-print01": "unknown",
        "ci-runner": "unknown",
        "dc01": "unknown",
        "edge01": "unknown",
        "kiosk01": "unknown",
        "legacy-nt": "suspended",
        "sql01": "on",
        "test01": "suspended",
        "web01": "on",
        "web02": "on",
    }
    web01 = vms["web01"]
    assert web01["external_id"] == guid("web01") and web01["platform"] == "hyperv"
    assert web01["host"] == "HV-STD01.corp.example.com" and web01["cluster"] is None
    expected = {
        "num_cpu": 4,
        "memory_mib": 4096,
        "memory_assigned_mib": 5632,
        "memory_dynamic": True,
        "memory_min_mib": 2048,
        "memory_max_mib": 16384,
        "generation": 2,
        "hardware_version": "10.0",
        "is_clustered": False,
        "tools_status": "Up to date",
        "tools_version": "10.0.20348.1",
        "guest_os": "Windows Server 2022 Datacenter",
        "guest_os_version": "10.0.20348",
        "guest_hostname": "web01.corp.example.com",
        "ip_addresses": ["10.20.0.11", "fe80::215:5dff:fe0a:1b01"],
        "provisioned_bytes": 127 * GIB,
        "used_bytes": 38_218_743_808,
        "boot_time": "2026-11-08T02:56:00+00:00",
        "created_at": "2025-03-14T08:26:53.589000+00:00",
    }
    assert {k: web01[k] for k in expected} == expected
    assert vms["build01"]["memory_mib"] == 8192 and vms["build01"]["boot_time"] is None
    # Off: no guest facts, and no error.
    off = vms["build01"]
    assert (off["guest_os"], off["guest_os_version"], off["guest_hostname"]) == (None, None, None)
    assert off["ip_addresses"] == []
    assert vms["ci-runner"]["guest_os"] == "Ubuntu 22.04.3 LTS"

    datastores = by_name(list_objects(db, "datastores"))
    assert {name: (d["type"], d["file_system"]) for name, d in datastores.items()} == {
        "HV-STD01 C:": ("NTFS", "NTFS"),
        "HV-STD01 D: (VMStore)": ("ReFS", "ReFS"),
        "\\\\fs01.corp.example.com\\HyperV$": ("SMB", None),
    }
    networks = by_name(list_objects(db, "networks"))
    assert {name: (n["type"], n["vlan"]) for name, n in networks.items()} == {
        "vSwitch-External": ("external", "10,20,30"),
        "vSwitch-Internal": ("internal", None),
        "vSwitch-Isolated": ("private", None),
    }

    disks = by_name(rows(db, "vm_disks"), "external_id")
    sql_data = disks[f"{guid('sql01')}:scsi:0:1"]
    assert (sql_data["vm"], sql_data["datastore"], sql_data["capacity_bytes"]) == (
        "sql01",
        "\\\\fs01.corp.example.com\\HyperV$",
        500 * GIB,
    )
    assert (sql_data["disk_format"], sql_data["disk_type"], sql_data["thin_provisioned"]) == (
        "VHDX",
        "Dynamic",
        True,
    )
    nics = rows(db, "vm_nics")
    assert {n["mac_address"] for n in nics if n["vm"] == "web02"} == {
        "00:15:5d:0a:1b:02",
        "00:15:5d:0a:1b:03",
    }
    assert {n["network"] for n in nics if n["vm"] == "web02"} == {
        "vSwitch-External",
        "vSwitch-Internal",
    }
    snapshots = by_name(rows(db, "vm_snapshots"))
    assert snapshots["after-iis-upgrade"]["parent_external_id"] == guid("web02/before-iis-upgrade")
    assert snapshots["after-iis-upgrade"]["is_current"] is True
    assert {s["vm"] for s in snapshots.values()} == {"web02"}
    drives = {
        d["vm"]: (d["kind"], d["label"], d["connected"], d["device_type"], d["unit_number"])
        for d in rows(db, "vm_devices")
    }
    assert drives == {
        "web01": (
            "cd",
            "DVD Drive on SCSI controller number 0 at location 1",
            True,
            "D:\\ISO\\en-us_windows_server_2022_x64_dvd.iso",
            1,
        ),
        "legacy-nt": ("cd", "DVD Drive on IDE controller number 1 at location 0", False, None, 0),
    }
    # The drive holding an ISO is a finding of this sync; the empty one is none.
    cds = [
        (f.object_name, f.message)
        for f in findings(db, integration_id)
        if f.rule == "vm_cdrom_connected"
    ]
    assert cds == [
        (
            "web01",
            "DVD Drive on SCSI controller number 0 at location 1 is connected to the ISO image "
            "D:\\ISO\\en-us_windows_server_2022_x64_dvd.iso",
        )
    ]

    again = sync(db, integration_id, server)
    assert again.succeeded and changes_of(db, again.run_id) == Counter()


def test_cluster_then_its_changes_change_by_change(
    db: Database, box: SecretBox, winrm: Any
) -> None:
    server = winrm("cluster")
    integration_id = new_integration(db, box, server)
    first = sync(db, integration_id, server)
    assert first.succeeded, first.error

    (cluster,) = list_objects(db, "clusters")
    assert (cluster["name"], cluster["external_id"], cluster["host_count"]) == (
        "HVCL01",
        CLUSTER_ID,
        2,
    )
    assert (cluster["memory_total_mib"], cluster["ha_enabled"]) == (1024 * 1024, True)
    hosts = by_name(list_objects(db, "hosts"))
    assert {name: (h["cluster"], h["connection_state"]) for name, h in hosts.items()} == {
        N1: ("HVCL01", "up"),
        N2: ("HVCL01", "up"),
    }
    vms = by_name(list_objects(db, "vms"))
    assert {name: (vm["host"], vm["cluster"], vm["is_clustered"]) for name, vm in vms.items()} == {
        "cl-app01": (N2, "HVCL01", True),
        "cl-file01": (N2, "HVCL01", True),
        "cl-sql01": (N1, "HVCL01", True),
        "cl-web01": (N1, "HVCL01", True),
        "cl-web02": (N2, "HVCL01", True),
        "n1-scratch": (N1, "HVCL01", False),
    }
    vm_datastores = {(r["vm"], r["datastore"]) for r in rows(db, "vm_datastores")}
    assert vm_datastores == {
        ("cl-web01", "Cluster Disk 1"),
        ("cl-web02", "Cluster Disk 1"),
        ("cl-app01", "Cluster Disk 1"),
        ("cl-sql01", "Cluster Disk 2"),
        ("cl-file01", "Cluster Disk 2"),
        ("n1-scratch", "HV-N1 D: (LocalVMs)"),
    }
    csvs = {d["external_id"]: d for d in list_objects(db, "datastores") if d["type"] == "CSV"}
    assert set(csvs) == {CSV1_ID, CSV2_ID}
    assert csvs[CSV1_ID]["url"] == "C:\\ClusterStorage\\Volume1"
    (network,) = list_objects(db, "networks")
    assert network["external_id"] == f"{CLUSTER_ID}:vswitch-prod"

    unchanged = sync(db, integration_id, server)
    assert unchanged.succeeded and changes_of(db, unchanged.run_id) == Counter()

    server.reply = envelope_reply("cluster-changed")
    result = sync(db, integration_id, server)
    assert result.succeeded, result.error
    assert changes_of(db, result.run_id) == Counter(
        {
            ("vm", "modified"): 4,
            ("vm", "removed"): 1,
            ("vm_disk", "modified"): 2,
            ("vm_disk", "removed"): 1,
            ("vm_nic", "removed"): 1,
            ("vm_device", "modified"): 1,
            ("vm_snapshot", "added"): 1,
            ("vm_datastore", "removed"): 1,
            ("vm_network", "removed"): 1,
            ("datastore", "modified"): 2,
        }
    )
    changes = change_rows(db, result.run_id)
    moved = changes[("vm", "modified", guid("cl-web02"))]
    assert moved.object_name == "cl-web02" and moved.fields is not None
    assert moved.fields == {"host_external_id": [N2.lower(), N1.lower()]}  # boot time kept
    removed = changes[("vm", "removed", guid("cl-app01"))]
    assert removed.object_name == "cl-app01"
    grown = changes[("vm_disk", "modified", f"{guid('cl-sql01')}:scsi:0:1")].fields
    assert grown is not None and grown["capacity_bytes"] == [200 * GIB, 300 * GIB]
    sql = changes[("vm", "modified", guid("cl-sql01"))].fields
    assert sql is not None and set(sql) == {"provisioned_bytes", "used_bytes"}
    checkpointed = changes[("vm_disk", "modified", f"{guid('cl-web01')}:scsi:0:0")].fields
    assert checkpointed is not None and set(checkpointed) == {
        "file_path",
        "disk_type",
        "used_bytes",
    }
    assert checkpointed["disk_type"] == ["Dynamic", "Differencing"]
    web01 = changes[("vm", "modified", guid("cl-web01"))].fields
    assert web01 is not None and set(web01) == {"used_bytes"}
    kernel = changes[("vm", "modified", guid("n1-scratch"))].fields
    assert kernel == {"guest_os_version": ["6.1.0-13-amd64", "6.1.0-17-amd64"]}
    added = changes[("vm_snapshot", "added", guid("cl-web01/before-patch-2026-11"))]
    assert added.object_name == "before-patch-2026-11"
    ejected = changes[("vm_device", "modified", f"{guid('cl-sql01')}:dvd:scsi:0:1")].fields
    assert ejected == {
        "connected": [True, False],
        "device_type": ["C:\\ClusterStorage\\Volume2\\ISO\\SQLServer2022-x64-ENU.iso", None],
    }
    csv_free = changes[("datastore", "modified", CSV1_ID)].fields
    assert csv_free is not None and set(csv_free) == {"free_bytes"}

    vms = by_name(list_objects(db, "vms"))
    assert "cl-app01" not in vms and vms["cl-web02"]["host"] == N1
    assert {name: (vm["guest_os"], vm["guest_hostname"]) for name, vm in vms.items()} == {
        "cl-file01": (None, None),  # saved
        "cl-sql01": ("Windows Server 2022 Standard", "cl-sql01.corp.example.com"),
        "cl-web01": ("Windows Server 2022 Datacenter", "cl-web01.corp.example.com"),
        "cl-web02": ("Windows Server 2022 Datacenter", "cl-web02.corp.example.com"),
        "n1-scratch": ("Debian GNU/Linux 12 (bookworm)", "n1-scratch"),
    }
    gone = by_name(list_objects(db, "vms", include_removed=True))["cl-app01"]
    assert gone["removed_at"] is not None

    again = sync(db, integration_id, server)
    assert again.succeeded and changes_of(db, again.run_id) == Counter()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


FAILURES = [
    ("wrong password", {"password": "Wrong-password-9"}, None, "rejected the login"),
    ("untrusted certificate", {"ca_file": None}, None, "not trusted"),
    ("hung script", {"read_timeout_s": 1.0}, Reply(hang=True), "did not finish in 1 s"),
    (
        "powershell error",
        {},
        powershell_error("Get-ClusterNode : The cluster service is not running."),
        "PowerShell on 127.0.0.1",
    ),
    ("garbage", {}, Reply(stdout=b"\x00\x01garbage\r\n"), "not JSON"),
    ("not the envelope", {}, Reply(stdout=b'{"Get-VMHost": []}'), "not its envelope"),
    ("unreachable", {"url": f"https://127.0.0.1:{closed_port()}/wsman"}, None, "cannot connect"),
]


def test_failed_collections_leave_the_inventory_untouched(
    db: Database, box: SecretBox, winrm: Any
) -> None:
    server = winrm("cluster", tls=True)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded
    plurals = ("vms", "hosts", "clusters", "datastores", "networks")
    before = {plural: list_objects(db, plural) for plural in plurals}
    for case, overrides, reply, message in FAILURES:
        server.reply = reply or envelope_reply("cluster")
        failed = run_sync(db, integration_id, connector_for(server, **overrides))
        assert failed.status == "failed" and failed.error is not None, case
        assert message in failed.error and "\n" not in failed.error, (case, failed.error)
        assert server.password not in failed.error and "Wrong-password-9" not in failed.error
        assert changes_of(db, failed.run_id) == Counter(), case
        assert {plural: list_objects(db, plural) for plural in plurals} == before, case
    server.reply = envelope_reply("cluster")
    recovered = sync(db, integration_id, server)
    assert recovered.succeeded and changes_of(db, recovered.run_id) == Counter()


def test_two_hyperv_integrations_keep_their_own_rows(
    db: Database, box: SecretBox, winrm: Any
) -> None:
    standalone, cluster = winrm("standalone"), winrm("cluster")
    a = new_integration(db, box, standalone, "standalone")
    b = new_integration(db, box, cluster, "cluster")
    assert sync(db, a, standalone).succeeded and sync(db, b, cluster).succeeded
    before = list_objects(db, "vms", integration="standalone")
    cluster.reply = envelope_reply("cluster-changed")
    assert sync(db, b, cluster).succeeded
    assert list_objects(db, "vms", integration="standalone") == before
    assert len(list_objects(db, "vms", integration="cluster")) == 5
