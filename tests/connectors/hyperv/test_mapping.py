"""Pure mapping of recorded inventory envelopes, and of every rendering PowerShell may choose."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from iroa.connectors.base import Snapshot, UnexpectedResponseError
from iroa.connectors.hyperv.client import compact_script, encode_command, inventory_script
from iroa.connectors.hyperv.envelope import (
    KNOWN_KEYS,
    as_datetime,
    as_timespan,
    as_version,
    parse_envelope,
)
from iroa.connectors.hyperv.mapping import map_envelope
from iroa.connectors.hyperv.vm_mapping import boot_time, normalize_mac, power_state
from tests.peers.winrm.record import guid
from tests.peers.winrm.server import recording

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GIB = 1024**3
CLUSTER_ID = guid("cluster/HVCL01")
CSV1_ID, CSV2_ID = guid("csv1"), guid("csv2")
N1, N2 = "hv-n1.corp.example.com", "hv-n2.corp.example.com"


def snapshot_of(name: str) -> Snapshot:
    return map_envelope(parse_envelope(recording(name)), NOW)


def by_name(records: Any) -> dict[str, Any]:
    return {record.name: record for record in records}


@pytest.fixture(scope="module")
def standalone() -> Snapshot:
    return snapshot_of("standalone")


@pytest.fixture(scope="module")
def cluster() -> Snapshot:
    return snapshot_of("cluster")


def test_the_recordings_use_both_renderings_and_a_bom() -> None:
    standalone, cluster_changed = recording("standalone"), recording("cluster-changed")
    assert standalone.startswith(b"\xef\xbb\xbf") and b'"\\/Date(' in standalone
    assert not cluster_changed.startswith(b"\xef\xbb\xbf")
    assert b"/Date(" not in cluster_changed and b"+01:00" in cluster_changed
    assert b'"Ticks"' in standalone and b'"TotalSeconds"' in cluster_changed
    assert set(parse_envelope(standalone)) == set(KNOWN_KEYS)


def test_standalone_host(standalone: Snapshot) -> None:
    (host,) = standalone.hosts
    assert host.external_id == "hv-std01.corp.example.com"
    assert host.name == "HV-STD01.corp.example.com"
    assert host.cluster_external_id is None and standalone.clusters == []
    assert (host.vendor, host.model) == ("Dell Inc.", "PowerEdge R650")
    assert host.cpu_model == "Intel(R) Xeon(R) Gold 6326 CPU @ 2.90GHz"
    assert (host.cpu_sockets, host.cpu_cores, host.cpu_threads, host.cpu_mhz) == (2, 16, 32, 2900)
    assert host.memory_mib == 256 * 1024
    assert host.hypervisor_name == "Microsoft Windows Server 2022 Datacenter"
    assert (host.hypervisor_version, host.hypervisor_build) == ("10.0.20348", "20348")
    assert host.connection_state == "up" and host.power_state == "on"
    assert host.in_maintenance is None
    assert host.boot_time == datetime(2026, 10, 30, 2, 14, 37, 500000, tzinfo=UTC)
    assert standalone.source.name == "HV-STD01.corp.example.com"
    assert standalone.source.product == "Microsoft Hyper-V"
    assert standalone.source.object_counts == {
        "hosts": 1,
        "vms": 12,
        "datastores": 3,
        "networks": 3,
    }


def test_standalone_vm_states_cover_every_kind(standalone: Snapshot) -> None:
    states = {vm.name: vm.power_state for vm in standalone.vms}
    assert states == {
        "web01": "on",
        "web02": "on",
        "sql01": "on",
        "build01": "off",
        "test01": "suspended",  # Saved
        "legacy-nt": "suspended",  # Paused
        "dc01": "unknown",  # Stopping
        "app03": "unknown",  # Starting
        "ci-runner": "unknown",  # Saving
        "kiosk01": "unknown",  # FastSaved
        "edge01": "unknown",  # Hibernated (a code that differs between module versions)
        "büro-print01": "unknown",  # a code no module version knows
    }
    assert all(vm.host_external_id == "hv-std01.corp.example.com" for vm in standalone.vms)


def test_standalone_vm_fields(standalone: Snapshot) -> None:
    vms = by_name(standalone.vms)
    web01 = vms["web01"]
    assert web01.external_id == guid("web01") == web01.instance_uuid
    assert web01.num_cpu == 4
    assert (web01.memory_mib, web01.memory_assigned_mib) == (4096, 5632)
    assert (web01.memory_dynamic, web01.memory_min_mib, web01.memory_max_mib) == (True, 2048, 16384)
    assert (web01.generation, web01.hardware_version, web01.is_clustered) == (2, "10.0", False)
    assert (web01.tools_status, web01.tools_version) == ("Up to date", "10.0.20348.1")
    assert web01.notes == "Public web front end\r\nOwner: web team"
    assert web01.created_at == datetime(2025, 3, 14, 8, 26, 53, 589000, tzinfo=UTC)
    # Collected 06:00:00.412 with 12 d 03:04:05.678 up: booted 02:55:54.734, to the minute.
    assert web01.boot_time == datetime(2026, 11, 8, 2, 56, tzinfo=UTC)
    assert web01.ip_addresses == ("10.20.0.11", "fe80::215:5dff:fe0a:1b01")
    assert web01.provisioned_bytes == 127 * GIB and web01.used_bytes == 38_218_743_808
    sql01 = vms["sql01"]
    assert (sql01.memory_dynamic, sql01.memory_min_mib, sql01.memory_max_mib) == (False, None, None)
    assert sql01.provisioned_bytes == (127 + 500) * GIB
    off = vms["build01"]
    assert off.memory_mib == 8192 and off.memory_assigned_mib == 0
    assert off.boot_time is None and off.tools_status is None
    legacy = vms["legacy-nt"]
    assert (legacy.generation, legacy.hardware_version, legacy.tools_version) == (1, "5.0", None)
    assert vms["büro-print01"].notes == "Drucker im Büro"


def test_guest_facts_from_the_key_value_exchange(standalone: Snapshot) -> None:
    facts = {
        vm.name: (vm.guest_os, vm.guest_os_version, vm.guest_hostname) for vm in standalone.vms
    }
    assert facts == {
        "web01": ("Windows Server 2022 Datacenter", "10.0.20348", "web01.corp.example.com"),
        "web02": ("Windows Server 2022 Datacenter", "10.0.20348", "web02.corp.example.com"),
        "sql01": ("Windows Server 2019 Standard", "10.0.17763", "sql01.corp.example.com"),
        "legacy-nt": ("Windows Server 2008 R2 Enterprise", "6.1.7601", "LEGACY-NT"),
        "dc01": ("Windows Server 2022 Datacenter", "10.0.20348", "dc01.corp.example.com"),
        "ci-runner": ("Ubuntu 22.04.3 LTS", "5.15.0-91-generic", "ci-runner"),
        "app03": ("Windows Server 2022 Standard", None, None),  # reported its OS name only
        # Off, saved, or no integration services: nothing reported, and no error.
        "build01": (None, None, None),
        "test01": (None, None, None),
        "kiosk01": (None, None, None),
        "edge01": (None, None, None),
        "büro-print01": (None, None, None),
    }
    # The addresses come from the network adapters, as before.
    assert by_name(standalone.vms)["sql01"].ip_addresses == ("10.30.0.21",)
    assert by_name(standalone.vms)["build01"].ip_addresses == ()


def test_guest_facts_follow_the_vm_to_its_node_and_their_changes_are_seen() -> None:
    before, after = by_name(snapshot_of("cluster").vms), by_name(snapshot_of("cluster-changed").vms)
    assert after["cl-web02"].host_external_id == N1
    assert after["cl-web02"].guest_hostname == before["cl-web02"].guest_hostname
    assert (before["n1-scratch"].guest_os_version, after["n1-scratch"].guest_os_version) == (
        "6.1.0-13-amd64",
        "6.1.0-17-amd64",
    )
    assert before["cl-app01"].guest_os is None


def test_guest_facts_of_odd_shapes_are_kept_storable_or_left_out() -> None:
    vm_id = "6f1c2a34-8d0e-4b7a-9c55-0a1b2c3d4e5f"
    document = {
        "Get-VMHost": [{"Name": "HV9", "ComputerName": "HV9", "FullyQualifiedDomainName": "hv9"}],
        "Get-VM": [
            {"Name": "solo", "Id": vm_id, "State": 2, "ComputerName": "HV9"},
            {"Name": "listed", "Id": "{0000AAAA-0000-0000-0000-000000000001}", "State": 2},
            {"Name": "silent", "Id": "0000aaaa-0000-0000-0000-000000000002", "State": 2},
        ],
        "Msvm_KvpExchangeComponent": [
            {"SystemName": None, "GuestIntrinsicExchangeItems": {"OSName": "no VM"}},
            {"SystemName": 7, "GuestIntrinsicExchangeItems": {"OSName": "no VM either"}},
            {
                "SystemName": vm_id.upper(),
                "ComputerName": "HV9",
                "GuestIntrinsicExchangeItems": {
                    "OSName": "Evil\x00OS " + "x" * 600,
                    "OSVersion": "\ud800 1.0",
                    "FullyQualifiedDomainName": ["not", "text"],
                },
            },
            {
                "SystemName": "0000AAAA-0000-0000-0000-000000000001",
                "GuestIntrinsicExchangeItems": [
                    {"Name": "OSName", "Data": "Windows Server 2025 Datacenter"},
                    {"Name": "FullyQualifiedDomainName", "Data": "listed.example.com"},
                    {"Name": "OSVersion"},
                    "noise",
                ],
            },
            {"SystemName": "0000AAAA-0000-0000-0000-000000000002"},
            {
                "SystemName": "0000AAAA-0000-0000-0000-000000000002",
                "GuestIntrinsicExchangeItems": "?",
            },
        ],
    }
    vms = by_name(map_envelope(parse_envelope(json.dumps(document).encode()), NOW).vms)
    solo = vms["solo"]
    assert solo.guest_os is not None and len(solo.guest_os) == 500
    assert solo.guest_os.startswith("EvilOS xxx")
    assert solo.guest_os_version == "? 1.0"
    assert solo.guest_hostname is None
    listed = vms["listed"]
    assert (listed.guest_os, listed.guest_os_version, listed.guest_hostname) == (
        "Windows Server 2025 Datacenter",
        None,
        "listed.example.com",
    )
    assert (vms["silent"].guest_os, vms["silent"].guest_hostname) == (None, None)


def test_standalone_datastores_and_disks(standalone: Snapshot) -> None:
    datastores = by_name(standalone.datastores)
    assert set(datastores) == {
        "HV-STD01 C:",
        "HV-STD01 D: (VMStore)",
        "\\\\fs01.corp.example.com\\HyperV$",
    }
    vmstore = datastores["HV-STD01 D: (VMStore)"]
    assert (vmstore.type, vmstore.file_system, vmstore.url) == ("ReFS", "ReFS", "D:\\")
    assert vmstore.capacity_bytes == 3_998_614_552_576
    assert vmstore.free_bytes == 2_101_331_197_952
    assert vmstore.external_id.startswith("\\\\?\\volume{")
    share = datastores["\\\\fs01.corp.example.com\\HyperV$"]
    assert share.type == "SMB" and share.capacity_bytes is None

    disks = {disk.external_id: disk for disk in standalone.vm_disks}
    assert len(disks) == 14
    web02 = disks[f"{guid('web02')}:scsi:0:0"]
    assert web02.file_path is not None and web02.file_path.endswith(".avhdx")
    assert (web02.disk_format, web02.disk_type, web02.thin_provisioned) == (
        "VHDX",
        "Differencing",
        True,
    )
    assert web02.datastore_external_id == vmstore.external_id
    sql_os = disks[f"{guid('sql01')}:scsi:0:0"]
    assert (sql_os.disk_type, sql_os.thin_provisioned) == ("Fixed", False)
    assert sql_os.capacity_bytes == 127 * GIB and sql_os.used_bytes == 136_365_211_648
    sql_data = disks[f"{guid('sql01')}:scsi:0:1"]
    assert sql_data.datastore_external_id == share.external_id
    assert disks[f"{guid('edge01')}:scsi:0:0"].datastore_external_id == (
        datastores["HV-STD01 C:"].external_id
    )
    legacy = disks[f"{guid('legacy-nt')}:ide:0:0"]
    assert (legacy.disk_format, legacy.controller) == ("VHD", "IDE 0")
    passthrough = disks[f"{guid('büro-print01')}:scsi:0:1"]
    assert passthrough.disk_type == "PassThrough"
    assert passthrough.file_path is None and passthrough.datastore_external_id is None
    used = {(r.vm_external_id, r.datastore_external_id) for r in standalone.vm_datastores}
    assert (guid("sql01"), share.external_id) in used
    assert (guid("sql01"), vmstore.external_id) in used


def test_standalone_networks_and_nics(standalone: Snapshot) -> None:
    networks = by_name(standalone.networks)
    assert {name: n.type for name, n in networks.items()} == {
        "vSwitch-External": "external",
        "vSwitch-Internal": "internal",
        "vSwitch-Isolated": "private",
    }
    external = networks["vSwitch-External"]
    assert external.external_id == guid("HV-STD01/switch/vSwitch-External")
    assert (external.vlan_id, external.vlan) == (None, "10,20,30")
    nics = {nic.external_id: nic for nic in standalone.vm_nics}
    web01_nic = next(nic for nic in nics.values() if nic.vm_external_id == guid("web01"))
    assert web01_nic.external_id == f"{guid('web01')}:{guid('web01/nic0')}"
    assert web01_nic.mac_address == "00:15:5d:0a:1b:01"
    assert web01_nic.network_external_id == external.external_id
    assert (web01_nic.connected, web01_nic.adapter_type) == (True, "synthetic")
    never_started = next(nic for nic in nics.values() if nic.vm_external_id == guid("build01"))
    assert never_started.mac_address is None
    unplugged = next(nic for nic in nics.values() if nic.vm_external_id == guid("kiosk01"))
    assert unplugged.network_external_id is None and unplugged.connected is False
    legacy = next(nic for nic in nics.values() if nic.vm_external_id == guid("legacy-nt"))
    assert legacy.adapter_type == "legacy"
    assert {(r.vm_external_id, r.network_external_id) for r in standalone.vm_networks} >= {
        (guid("web02"), external.external_id),
        (guid("web02"), networks["vSwitch-Internal"].external_id),
    }


def test_checkpoint_chain(standalone: Snapshot) -> None:
    checkpoints = by_name(standalone.vm_snapshots)
    before, after = checkpoints["before-iis-upgrade"], checkpoints["after-iis-upgrade"]
    assert before.parent_external_id is None and after.parent_external_id == before.external_id
    assert (before.is_current, after.is_current) == (False, True)
    assert after.created_at == datetime(2026, 9, 1, 19, 30, tzinfo=UTC)
    assert after.vm_external_id == guid("web02")


def test_cluster_nodes_and_totals(cluster: Snapshot) -> None:
    (record,) = cluster.clusters
    assert (record.external_id, record.name, record.host_count) == (CLUSTER_ID, "HVCL01", 2)
    assert (record.cpu_cores, record.cpu_threads) == (64, 128)
    assert record.cpu_total_mhz == 64 * 2000 and record.memory_total_mib == 2 * 512 * 1024
    assert (record.ha_enabled, record.drs_enabled, record.drs_behavior) == (True, True, "always")
    hosts = {host.external_id: host for host in cluster.hosts}
    assert set(hosts) == {N1, N2}
    n1 = hosts[N1]
    assert (n1.name, n1.cluster_external_id, n1.serial_number) == (
        "HV-N1.corp.example.com",
        CLUSTER_ID,
        "CZ2D1F0A01",
    )
    assert (n1.connection_state, n1.in_maintenance, n1.cpu_threads) == ("up", False, 64)
    assert cluster.source.name == "HVCL01"
    assert cluster.source.product == "Microsoft Hyper-V failover cluster"


def test_cluster_vms_csvs_and_one_network(cluster: Snapshot) -> None:
    vms = by_name(cluster.vms)
    assert {name: (vm.host_external_id, vm.is_clustered) for name, vm in vms.items()} == {
        "cl-web01": (N1, True),
        "cl-web02": (N2, True),
        "cl-sql01": (N1, True),
        "cl-app01": (N2, True),
        "cl-file01": (N2, True),
        "n1-scratch": (N1, False),
    }
    assert all(vm.cluster_external_id == CLUSTER_ID for vm in vms.values())
    datastores = {ds.external_id: ds for ds in cluster.datastores}
    csv1 = datastores[CSV1_ID]
    assert (csv1.name, csv1.type, csv1.file_system, csv1.url) == (
        "Cluster Disk 1",
        "CSV",
        "CSVFS",
        "C:\\ClusterStorage\\Volume1",
    )
    assert csv1.capacity_bytes == 2 * 1024 * GIB and csv1.free_bytes == 1_309_170_634_752
    assert (csv1.accessible, csv1.maintenance_mode, csv1.cluster_external_id) == (
        True,
        "normal",
        CLUSTER_ID,
    )
    on = {(r.vm_external_id, r.datastore_external_id) for r in cluster.vm_datastores}
    assert (guid("cl-web01"), CSV1_ID) in on and (guid("cl-sql01"), CSV2_ID) in on
    local = next(ds for ds in cluster.datastores if ds.name == "HV-N1 D: (LocalVMs)")
    assert (guid("n1-scratch"), local.external_id) in on
    # Each node has its own vSwitch-Prod; the cluster has one network of that name.
    (network,) = cluster.networks
    assert network.external_id == f"{CLUSTER_ID}:vswitch-prod"
    assert (network.type, network.vlan) == ("external", "20,30")
    assert {nic.network_external_id for nic in cluster.vm_nics} == {network.external_id}


def test_the_same_cluster_rendered_by_powershell_7_maps_to_equal_unchanged_fields() -> None:
    before, after = snapshot_of("cluster"), snapshot_of("cluster-changed")
    assert before.hosts == after.hosts
    assert before.clusters == after.clusters
    old, new = by_name(before.vms), by_name(after.vms)
    # Six hours later, uptimes have grown as much as the clock: boot times stay put.
    assert {name: vm.boot_time for name, vm in new.items()} == {
        name: old[name].boot_time for name in new
    }
    assert {name: vm.created_at for name, vm in new.items()} == {
        name: old[name].created_at for name in new
    }
    assert set(old) - set(new) == {"cl-app01"}
    assert new["cl-web02"].host_external_id == N1 and old["cl-web02"].host_external_id == N2
    data_disk = f"{guid('cl-sql01')}:scsi:0:1"
    sizes = {
        label: {d.external_id: d.capacity_bytes for d in s.vm_disks}[data_disk]
        for label, s in (("before", before), ("after", after))
    }
    assert sizes == {"before": 200 * GIB, "after": 300 * GIB}
    (checkpoint,) = after.vm_snapshots
    assert checkpoint.vm_external_id == guid("cl-web01") and checkpoint.is_current
    assert before.vm_snapshots == []


@pytest.mark.parametrize(
    ("state", "name", "expected"),
    [
        (2, "Running", "on"),
        (3, "Off", "off"),
        (6, "Saved", "suspended"),
        (9, "Paused", "suspended"),
        (4, "Stopping", "unknown"),
        (32779, "FastSaved", "unknown"),
        (32783, "Hibernated", "unknown"),
        (123456, None, "unknown"),
        ("Running", None, "on"),  # PowerShell 7 -EnumsAsStrings
        ("Saved", None, "suspended"),
        (None, "Paused", "suspended"),
        (None, None, "unknown"),
        ("bogus", "???", "unknown"),
        ({"value": 2}, [], "unknown"),
        (True, None, "unknown"),
    ],
)
def test_power_state_never_crashes(state: object, name: object, expected: str) -> None:
    assert power_state(state, name) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/Date(1706779800000)/", datetime(2024, 2, 1, 9, 30, tzinfo=UTC)),
        ("\\/Date(1706779800000)\\/", datetime(2024, 2, 1, 9, 30, tzinfo=UTC)),
        ("/Date(1706779800000+0100)/", datetime(2024, 2, 1, 9, 30, tzinfo=UTC)),
        ("2024-02-01T10:30:00.1234567+01:00", datetime(2024, 2, 1, 9, 30, 0, 123456, tzinfo=UTC)),
        ("2024-02-01T09:30:00Z", datetime(2024, 2, 1, 9, 30, tzinfo=UTC)),
        ("2024-02-01T09:30:00", datetime(2024, 2, 1, 9, 30, tzinfo=UTC)),
        (
            {"value": "/Date(1706779800000)/", "DisplayHint": 2},
            datetime(2024, 2, 1, 9, 30, tzinfo=UTC),
        ),
        ("/Date(-62135596800000)/", None),  # DateTime.MinValue: not set
        ("yesterday", None),
        (1706779800000, None),
        (None, None),
    ],
)
def test_dates_in_both_renderings(value: object, expected: datetime | None) -> None:
    assert as_datetime(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ticks": 10_000_000, "TotalSeconds": 99.0}, timedelta(seconds=1)),
        ({"TotalSeconds": 90.5}, timedelta(seconds=90.5)),
        ("1.02:03:04.5000000", timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
        ("00:00:07", timedelta(seconds=7)),
        (42, timedelta(seconds=42)),
        ({"Days": 1}, None),
        ("soon", None),
    ],
)
def test_timespans(value: object, expected: timedelta | None) -> None:
    assert as_timespan(value) == expected


def test_boot_time_is_stable_across_clock_jitter() -> None:
    uptime = timedelta(days=3, hours=2, minutes=1, seconds=10)
    collected = datetime(2026, 11, 20, 6, 0, 0, tzinfo=UTC)
    first = boot_time(collected, uptime)
    later = boot_time(collected + timedelta(hours=6, seconds=2), uptime + timedelta(hours=6))
    assert first == later == datetime(2026, 11, 17, 3, 59, tzinfo=UTC)
    assert boot_time(collected, timedelta(0)) is None
    assert boot_time(collected, None) is None


def test_versions_and_macs() -> None:
    assert as_version({"Major": 10, "Minor": 0, "Build": 20348, "Revision": 1}) == "10.0.20348.1"
    assert as_version({"Major": 9, "Minor": 0, "Build": -1, "Revision": -1}) == "9.0"
    assert as_version("0.0") is None and as_version("") is None
    assert normalize_mac("00155D0A1B01") == "00:15:5d:0a:1b:01"
    assert normalize_mac("00-15-5D-0A-1B-01") == "00:15:5d:0a:1b:01"
    assert normalize_mac("000000000000") is None
    assert normalize_mac(None) is None


def test_a_single_object_not_wrapped_in_an_array_and_missing_keys_are_tolerated() -> None:
    document = {
        "Get-VMHost": {"Name": "HV9", "ComputerName": "HV9", "FullyQualifiedDomainName": "hv9"},
        "Get-VM": {"Name": "solo", "Id": "{6F1C2A34-8D0E-4B7A-9C55-0A1B2C3D4E5F}", "State": 2},
    }
    snapshot = map_envelope(parse_envelope(json.dumps(document).encode()), NOW)
    (vm,) = snapshot.vms
    assert vm.external_id == "6f1c2a34-8d0e-4b7a-9c55-0a1b2c3d4e5f"
    assert (vm.power_state, vm.host_external_id, vm.boot_time) == ("on", "hv9", None)
    assert snapshot.vm_disks == [] and snapshot.networks == []


def test_odd_shapes_become_none_instead_of_raising() -> None:
    document = {
        "Get-VMHost": [{"ComputerName": "HV9", "LogicalProcessorCount": "many"}, "noise", None],
        "Get-VM": [
            {"Id": "a", "Name": None, "State": "??", "MemoryStartup": "lots", "Uptime": "x"},
            {"Name": "no id at all"},
        ],
        "Get-VMHardDiskDrive": [{"VMId": "a", "ControllerType": "NVMe", "Path": 7}],
        "Get-VMNetworkAdapter": [
            {"VMId": "a", "Id": "Microsoft:A\\B", "MacAddress": 12, "IPAddresses": "10.0.0.1"},
            {"VMId": "a", "MacAddress": None},  # neither id nor MAC: no identity, skipped
        ],
        "Get-VMSwitch": [{"Name": "s"}],
        "Get-ClusterSharedVolume": [{"Id": "c", "SharedVolumeInfo": "Microsoft...Info"}],
        "Get-Cluster": [{"Name": "CL", "Id": None, "Domain": None}],
    }
    snapshot = map_envelope(parse_envelope(json.dumps(document).encode()), NOW)
    (vm,) = snapshot.vms
    assert (vm.name, vm.power_state, vm.memory_mib) == ("a", "unknown", None)
    (disk,) = snapshot.vm_disks
    assert disk.external_id == "a:unknown:None:None" and disk.file_path is None
    (nic,) = snapshot.vm_nics
    assert (nic.external_id, nic.mac_address, nic.ip_addresses) == ("a:b", None, ("10.0.0.1",))
    assert [ds.type for ds in snapshot.datastores] == ["CSV"]


def test_dvd_drives_are_cd_devices_connected_while_they_hold_media(
    standalone: Snapshot, cluster: Snapshot
) -> None:
    drives = {d.vm_external_id: d for d in standalone.vm_devices}
    assert set(drives) == {guid("web01"), guid("legacy-nt")}
    iso = drives[guid("web01")]
    assert (iso.external_id, iso.kind, iso.connected, iso.start_connected) == (
        f"{guid('web01')}:dvd:scsi:0:1",
        "cd",
        True,
        None,
    )
    assert (iso.label, iso.device_type, iso.unit_number) == (
        "DVD Drive on SCSI controller number 0 at location 1",
        "D:\\ISO\\en-us_windows_server_2022_x64_dvd.iso",
        1,
    )
    empty = drives[guid("legacy-nt")]
    assert (empty.external_id, empty.connected, empty.device_type) == (
        f"{guid('legacy-nt')}:dvd:ide:1:0",
        False,
        None,
    )
    (sql,) = [d for d in cluster.vm_devices if d.connected]
    assert (sql.vm_external_id, sql.device_type) == (
        guid("cl-sql01"),
        "C:\\ClusterStorage\\Volume2\\ISO\\SQLServer2022-x64-ENU.iso",
    )
    changed = snapshot_of("cluster-changed")
    assert not any(d.connected for d in changed.vm_devices)


@pytest.mark.parametrize(
    ("media", "path", "connected", "device_type"),
    [
        ("ISO", "E:\\media\\x.iso", True, "E:\\media\\x.iso"),
        ("PassThrough", "F:", True, "F:"),
        ("None", "E:\\stale.iso", False, None),  # an empty drive names no media
        (1, "E:\\x.iso", True, "E:\\x.iso"),  # the enum's code, as -EnumsAsStrings omits
        (0, None, False, None),
        ("Floppy", "E:\\x.iso", None, None),  # unknown: neither connected nor not
        (None, None, None, None),
    ],
)
def test_dvd_media_types(
    media: object, path: object, connected: bool | None, device_type: str | None
) -> None:
    document = {
        "Get-VMHost": [{"Name": "HV9", "ComputerName": "HV9", "FullyQualifiedDomainName": "hv9"}],
        "Get-VM": [{"Name": "a", "Id": "a", "State": 2}],
        "Get-VMDvdDrive": [
            {
                "VMId": "a",
                "ControllerType": 0,
                "ControllerNumber": 1,
                "ControllerLocation": 0,
                "DvdMediaType": media,
                "Path": path,
            },
            {"VMId": "elsewhere", "DvdMediaType": "ISO", "Path": "x.iso"},  # no such VM
        ],
    }
    snapshot = map_envelope(parse_envelope(json.dumps(document).encode()), NOW)
    (drive,) = snapshot.vm_devices
    assert (drive.external_id, drive.label) == ("a:dvd:ide:1:0", "DVD Drive on IDE 1:0")
    assert (drive.connected, drive.device_type) == (connected, device_type)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (b"", "not JSON (no output)"),
        (b"WARNING: something\r\n<html>", "not JSON ('WARNING: something <html>')"),
        (b"[1, 2]", "not its envelope"),
        (b'{"Get-VM": []}', "not its envelope"),
        (b"\xff\xfe{\x00", "not UTF-8"),
    ],
)
def test_output_that_is_not_the_envelope(output: bytes, message: str) -> None:
    with pytest.raises(UnexpectedResponseError, match="inventory script printed") as caught:
        parse_envelope(output)
    assert message in str(caught.value)


def test_the_shipped_script_fits_one_windows_command_line() -> None:
    script = inventory_script()
    compact = compact_script(script)
    assert "ConvertTo-Json -Depth 4" in compact
    assert all(f"'{key}'" in script for key in KNOWN_KEYS)
    assert not any(line.startswith("#") for line in compact.splitlines())
    assert "@'" not in script and '@"' not in script and "<#" not in script
    assert len("powershell.exe -EncodedCommand " + encode_command(compact)) < 32_767


def test_a_node_that_is_down_stays_listed_from_the_clusters_view() -> None:
    envelope = parse_envelope(recording("cluster"))
    for key, field in (
        ("Get-VMHost", "ComputerName"),
        ("Win32_ComputerSystem", "Name"),
        ("Win32_OperatingSystem", "CSName"),
        ("Win32_Processor", "SystemName"),
    ):
        envelope[key] = [item for item in envelope[key] if item[field] != "HV-N2"]
    for node in envelope["Get-ClusterNode"]:
        node["State"] = {"HV-N1": 2, "HV-N2": 1}[node["Name"]]  # N1 paused, N2 down
    hosts = {host.external_id: host for host in map_envelope(envelope, NOW).hosts}
    down, paused = hosts[N2], hosts[N1]
    assert (down.name, down.connection_state, down.power_state) == (
        "HV-N2.corp.example.com",
        "down",
        None,
    )
    assert (down.vendor, down.serial_number, down.memory_mib) == ("HPE", "CZ2D1F0A02", None)
    assert (paused.connection_state, paused.in_maintenance, paused.power_state) == (
        "paused",
        True,
        "on",
    )
