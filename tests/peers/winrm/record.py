"""Writes the envelopes the WinRM test endpoint answers with: `python -m tests.peers.winrm.record`.

No Windows host is reachable from here, so these are composed, not captured:
field names, types and enum codes follow the Hyper-V and FailoverClusters
modules (docs/hyperv.md) as `inventory.ps1` selects them, and each
file is rendered the way PowerShell renders it — Windows PowerShell 5.1
(``\\/Date(ms)\\/``, a byte-order mark) or PowerShell 7 (ISO-8601 with offset),
TimeSpans as objects, enums as integers. Values are realistic, not real.

- ``standalone``: one host, twelve VMs in every state, local NTFS/ReFS volumes,
  an SMB share, three switch types, a checkpoint chain, a pass-through disk;
  guest facts (key-value exchange) of the running VMs whose guests report them:
  Windows and Linux guests, one reporting its OS name only; web01's DVD drive
  holds an ISO, legacy-nt's (IDE) is empty.
- ``cluster``: a two-node failover cluster, two CSVs, clustered VMs, and one
  node-local VM on a local volume; cl-sql01's DVD drive holds an ISO on a CSV,
  cl-web01's is empty.
- ``cluster-changed``: the same cluster six hours later, rendered by PowerShell 7:
  cl-web02 moved to HV-N1, cl-app01 removed, cl-sql01's data disk grown from 200
  to 300 GiB, a checkpoint taken of cl-web01 (its disk now an .avhdx), and
  n1-scratch's guest on a newer kernel (its OS version changed), cl-sql01's ISO
  ejected.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("recordings")
GIB = 1024**3
MIB = 1024**2
NS = uuid.UUID("6f1c2a34-8d0e-4b7a-9c55-0a1b2c3d4e5f")
CET = timezone(timedelta(hours=1))


def guid(name: str) -> str:
    return str(uuid.uuid5(NS, name))


def mac(n: int) -> str:
    return f"00155D{n:06X}"


class Render:
    """How one PowerShell edition renders dates."""

    def __init__(self, edition: str) -> None:
        self.edition = edition

    def date(self, value: datetime) -> str:
        if self.edition == "5.1":
            return f"/Date({int(value.timestamp() * 1000)})/"
        local = value.astimezone(CET)
        return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0" + "+01:00"

    def utc(self, value: datetime) -> str:
        if self.edition == "5.1":
            return self.date(value)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0Z"


def timespan(span: timedelta) -> dict[str, Any]:
    ticks = (span.days * 86_400 + span.seconds) * 10_000_000 + span.microseconds * 10
    total = ticks / 10_000_000
    return {
        "Ticks": ticks,
        "Days": span.days,
        "Hours": span.seconds // 3600,
        "Milliseconds": span.microseconds // 1000,
        "Minutes": span.seconds // 60 % 60,
        "Seconds": span.seconds % 60,
        "TotalDays": total / 86_400,
        "TotalHours": total / 3600,
        "TotalMilliseconds": total * 1000,
        "TotalMinutes": total / 60,
        "TotalSeconds": total,
    }


STATE_NAMES = {
    2: "Running",
    3: "Off",
    4: "Stopping",
    6: "Saved",
    9: "Paused",
    10: "Starting",
    32773: "Saving",
    32779: "FastSaved",
    32783: "Hibernated",
}
RUNNING_LIKE = {2, 4, 9, 10, 32773}


def vm(
    r: Render,
    collected: datetime,
    *,
    name: str,
    host: str,
    state: int,
    cpus: int,
    startup_gib: float,
    uptime: timedelta,
    created: datetime,
    clustered: bool = False,
    dynamic: bool = False,
    assigned_mib: int | None = None,
    generation: int = 2,
    version: str = "10.0",
    notes: str = "",
    base: str,
    parent_snapshot: tuple[str, str] | None = None,
) -> dict[str, Any]:
    vm_id = guid(name)
    running = state in RUNNING_LIKE
    startup = int(startup_gib * GIB)
    return {
        "Name": name,
        "Id": vm_id,
        "VMId": vm_id,
        "State": state,
        "StateName": STATE_NAMES.get(state, str(state)),
        "Status": "Operating normally",
        "ProcessorCount": cpus,
        "MemoryAssigned": (assigned_mib * MIB if assigned_mib else startup) if running else 0,
        "MemoryDemand": int(startup * 0.6) if running else 0,
        "MemoryStartup": startup,
        "MemoryMinimum": 512 * MIB if not dynamic else startup // 2,
        "MemoryMaximum": 1_099_511_627_776 if not dynamic else startup * 4,
        "DynamicMemoryEnabled": dynamic,
        "Uptime": timespan(uptime if running else timedelta(0)),
        "Generation": generation,
        "Version": version,
        "IsClustered": clustered,
        "ComputerName": host,
        "Path": f"{base}\\{name}",
        "ConfigurationLocation": f"{base}\\{name}",
        "Notes": notes,
        "CreationTime": r.date(created),
        "Heartbeat": 6 if state == 2 else None,
        "IntegrationServicesState": "Up to date" if running else None,
        "IntegrationServicesVersion": "10.0.20348.1" if running and generation == 2 else "",
        "ParentSnapshotId": parent_snapshot[0] if parent_snapshot else None,
        "ParentSnapshotName": parent_snapshot[1] if parent_snapshot else None,
    }


def drive(
    vm_name: str,
    host: str,
    path: str,
    controller: int = 1,
    number: int = 0,
    location: int = 0,
    disk_number: int | None = None,
) -> dict[str, Any]:
    kind = {0: "IDE", 1: "SCSI"}[controller]
    return {
        "VMName": vm_name,
        "VMId": guid(vm_name),
        "Name": f"Hard Drive on {kind} controller number {number} at location {location}",
        "Path": path,
        "ControllerType": controller,
        "ControllerNumber": number,
        "ControllerLocation": location,
        "DiskNumber": disk_number,
        "ComputerName": host,
    }


def dvd(
    vm_name: str,
    host: str,
    iso: str | None,
    controller: int = 1,
    number: int = 0,
    location: int = 1,
) -> dict[str, Any]:
    """A DVD drive, empty or holding an ISO; the script sends the media type's name."""
    kind = {0: "IDE", 1: "SCSI"}[controller]
    return {
        "VMName": vm_name,
        "VMId": guid(vm_name),
        "Name": f"DVD Drive on {kind} controller number {number} at location {location}",
        "Path": iso,
        "ControllerType": controller,
        "ControllerNumber": number,
        "ControllerLocation": location,
        "DvdMediaType": "ISO" if iso else "None",
        "ComputerName": host,
    }


def vhd(
    host: str,
    path: str,
    size_gib: float,
    file_bytes: int,
    vhd_type: int = 3,
    vhd_format: int = 3,
    parent: str = "",
) -> dict[str, Any]:
    return {
        "Path": path,
        "VhdFormat": vhd_format,
        "VhdType": vhd_type,
        "Size": int(size_gib * GIB),
        "FileSize": file_bytes,
        "ParentPath": parent,
        "Attached": True,
        "ComputerName": host,
    }


def adapter(
    vm_name: str,
    host: str,
    switch: tuple[str, str | None],
    mac_address: str,
    ips: list[str],
    vlan: int = 0,
    legacy: bool = False,
    name: str = "Network Adapter",
    index: int = 0,
) -> dict[str, Any]:
    vm_id = guid(vm_name)
    adapter_id = guid(f"{vm_name}/nic{index}").upper()
    return {
        "VMName": vm_name,
        "VMId": vm_id,
        "Name": name,
        "Id": f"Microsoft:{vm_id.upper()}\\{adapter_id}",
        "MacAddress": mac_address,
        "SwitchName": switch[0],
        "SwitchId": switch[1],
        "IPAddresses": ips,
        "Connected": bool(switch[0]),
        "DynamicMacAddressEnabled": True,
        "IsLegacy": legacy,
        "Status": [0] if ips else [],
        "ComputerName": host,
        "VlanSetting": {"OperationMode": 1 if vlan else 0, "AccessVlanId": vlan},
    }


def guest(
    vm_name: str, host: str, os_name: str, os_version: str | None, fqdn: str | None
) -> dict[str, Any]:
    """A VM's key-value exchange items as the script writes them: only those reported."""
    reported = {"OSName": os_name, "OSVersion": os_version, "FullyQualifiedDomainName": fqdn}
    return {
        "SystemName": guid(vm_name).upper(),
        "ComputerName": host,
        "GuestIntrinsicExchangeItems": {k: v for k, v in reported.items() if v is not None},
    }


def checkpoint(
    r: Render, vm_name: str, host: str, name: str, created: datetime, parent: str | None
) -> dict[str, Any]:
    return {
        "VMName": vm_name,
        "VMId": guid(vm_name),
        "Name": name,
        "Id": guid(f"{vm_name}/{name}"),
        "SnapshotType": 5,
        "CreationTime": r.date(created),
        "ParentSnapshotId": guid(f"{vm_name}/{parent}") if parent else None,
        "ParentSnapshotName": parent,
        "ComputerName": host,
    }


def host_parts(
    r: Render,
    name: str,
    domain: str,
    *,
    manufacturer: str,
    model: str,
    cpu: str,
    sockets: int,
    cores: int,
    mhz: int,
    memory_gib: int,
    booted: datetime,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    logical = sockets * cores * 2
    vm_host = {
        "Name": name,
        "ComputerName": name,
        "FullyQualifiedDomainName": f"{name}.{domain}",
        "LogicalProcessorCount": logical,
        "MemoryCapacity": memory_gib * GIB,
        "VirtualHardDiskPath": "C:\\ProgramData\\Microsoft\\Windows\\Virtual Hard Disks",
        "VirtualMachinePath": "C:\\ProgramData\\Microsoft\\Windows\\Hyper-V",
    }
    system = {
        "Name": name,
        "DNSHostName": name.lower(),
        "Domain": domain,
        "Manufacturer": manufacturer,
        "Model": model,
        "NumberOfProcessors": sockets,
        "NumberOfLogicalProcessors": logical,
        "TotalPhysicalMemory": memory_gib * GIB - 137 * MIB,
    }
    system_os = {
        "CSName": name,
        "Caption": "Microsoft Windows Server 2022 Datacenter",
        "Version": "10.0.20348",
        "BuildNumber": "20348",
        "LastBootUpTime": r.date(booted),
    }
    processors = [
        {
            "SystemName": name,
            "Name": cpu,
            "NumberOfCores": cores,
            "NumberOfLogicalProcessors": cores * 2,
            "MaxClockSpeed": mhz,
            "SocketDesignation": f"CPU{socket + 1}",
        }
        for socket in range(sockets)
    ]
    return vm_host, system, system_os, processors


def volume(
    host: str, letter: str | None, label: str, fs: str, size: int, free: int
) -> dict[str, Any]:
    volume_id = guid(f"{host}/{letter or label}")
    return {
        "DriveLetter": letter,
        "FileSystemLabel": label,
        "FileSystem": fs,
        "Size": size,
        "SizeRemaining": free,
        "Path": f"\\\\?\\Volume{{{volume_id}}}\\",
        "UniqueId": f"\\\\?\\Volume{{{volume_id}}}\\",
        "HealthStatus": "Healthy",
        "DriveType": "Fixed",
        "ComputerName": host,
    }


def switch(host: str, name: str, kind: int, description: str = "") -> dict[str, Any]:
    return {
        "Name": name,
        "Id": guid(f"{host}/switch/{name}"),
        "SwitchType": kind,
        "AllowManagementOS": kind != 0,
        "NetAdapterInterfaceDescription": description,
        "Notes": "",
        "ComputerName": host,
    }


def envelope(parts: dict[str, list[Any]]) -> dict[str, list[Any]]:
    order = [
        "Get-Date",
        "Get-VMHost",
        "Get-VM",
        "Get-VMHardDiskDrive",
        "Get-VHD",
        "Get-VMDvdDrive",
        "Get-VMNetworkAdapter",
        "Msvm_KvpExchangeComponent",
        "Get-VMSwitch",
        "Get-VMSnapshot",
        "Get-Volume",
        "Win32_ComputerSystem",
        "Win32_OperatingSystem",
        "Win32_Processor",
        "Get-Cluster",
        "Get-ClusterNode",
        "Get-ClusterSharedVolume",
    ]
    return {key: parts.get(key, []) for key in order}


def standalone() -> dict[str, list[Any]]:
    r = Render("5.1")
    host = "HV-STD01"
    collected = datetime(2026, 11, 20, 6, 0, 0, 412000, tzinfo=UTC)
    vm_host, system, system_os, processors = host_parts(
        r,
        host,
        "corp.example.com",
        manufacturer="Dell Inc.",
        model="PowerEdge R650",
        cpu="Intel(R) Xeon(R) Gold 6326 CPU @ 2.90GHz",
        sockets=2,
        cores=8,
        mhz=2900,
        memory_gib=256,
        booted=datetime(2026, 10, 30, 2, 14, 37, 500000, tzinfo=UTC),
    )
    external = switch(
        host, "vSwitch-External", 2, "Intel(R) Ethernet Controller X710 for 10GbE SFP+"
    )
    internal = switch(host, "vSwitch-Internal", 1)
    isolated = switch(host, "vSwitch-Isolated", 0)
    ext, inn, iso = ((s["Name"], s["Id"]) for s in (external, internal, isolated))
    base = "D:\\Hyper-V"
    created = datetime(2025, 3, 14, 8, 26, 53, 589000, tzinfo=UTC)
    day = timedelta(days=1)

    def std_vm(
        name: str, state: int, cpus: int, gib: float, up: timedelta, **kw: Any
    ) -> dict[str, Any]:
        return vm(
            r,
            collected,
            name=name,
            host=host,
            state=state,
            cpus=cpus,
            startup_gib=gib,
            uptime=up,
            created=kw.pop("created", created),
            base=kw.pop("base", base),
            **kw,
        )

    vms = [
        std_vm(
            "web01",
            2,
            4,
            4,
            timedelta(days=12, hours=3, minutes=4, seconds=5, milliseconds=678),
            dynamic=True,
            assigned_mib=5632,
            notes="Public web front end\r\nOwner: web team",
        ),
        std_vm(
            "web02",
            2,
            4,
            4,
            timedelta(days=12, hours=3, minutes=1, seconds=44),
            dynamic=True,
            assigned_mib=4096,
            parent_snapshot=(guid("web02/after-iis-upgrade"), "after-iis-upgrade"),
        ),
        std_vm("sql01", 2, 8, 16, timedelta(days=20, hours=23, minutes=59, seconds=31)),
        std_vm("build01", 3, 8, 8, timedelta(0), created=created + 30 * day),
        std_vm("test01", 6, 2, 2, timedelta(0)),
        std_vm("legacy-nt", 9, 1, 1, timedelta(days=2, hours=7), generation=1, version="5.0"),
        std_vm("dc01", 4, 2, 4, timedelta(days=41, minutes=2)),
        std_vm("app03", 10, 2, 4, timedelta(seconds=3)),
        std_vm("ci-runner", 32773, 4, 8, timedelta(hours=5, minutes=12)),
        std_vm("kiosk01", 32779, 1, 2, timedelta(0)),
        std_vm("edge01", 32783, 2, 2, timedelta(0)),
        std_vm("büro-print01", 99999, 1, 1, timedelta(0), notes="Drucker im Büro"),
    ]
    vms[-1]["StateName"] = "99999"
    drives = [
        drive("web01", host, f"{base}\\web01\\Virtual Hard Disks\\web01.vhdx"),
        drive(
            "web02",
            host,
            f"{base}\\web02\\Virtual Hard Disks\\web02_{guid('web02/avhdx').upper()}.avhdx",
        ),
        drive("sql01", host, f"{base}\\sql01\\Virtual Hard Disks\\sql01-os.vhdx"),
        drive(
            "sql01", host, "\\\\fs01.corp.example.com\\HyperV$\\sql01\\sql01-data.vhdx", location=1
        ),
        drive("build01", host, f"{base}\\build01\\build01.vhdx"),
        drive("test01", host, f"{base}\\test01\\test01.vhdx"),
        drive("legacy-nt", host, f"{base}\\legacy-nt\\legacy-nt.vhd", controller=0),
        drive("dc01", host, f"{base}\\dc01\\dc01.vhdx"),
        drive("app03", host, f"{base}\\app03\\app03.vhdx"),
        drive("ci-runner", host, f"{base}\\ci-runner\\ci-runner.vhdx"),
        drive("kiosk01", host, f"{base}\\kiosk01\\kiosk01.vhdx"),
        drive("edge01", host, "C:\\VMs\\edge01\\edge01.vhdx"),
        drive("büro-print01", host, f"{base}\\büro-print01\\büro-print01.vhdx"),
        drive(
            "büro-print01", host, "Disk 3 1.82 TB Bus 0 Lun 3 Target 0", location=1, disk_number=3
        ),
    ]
    vhds = [
        vhd(host, drives[0]["Path"], 127, 38_218_743_808),
        vhd(
            host,
            drives[1]["Path"],
            127,
            2_151_677_952,
            vhd_type=4,
            parent=f"{base}\\web02\\Virtual Hard Disks\\web02.vhdx",
        ),
        vhd(host, drives[2]["Path"], 127, 136_365_211_648, vhd_type=2),
        vhd(host, drives[3]["Path"], 500, 322_122_547_200),
        vhd(host, drives[4]["Path"], 256, 91_268_055_040),
        vhd(host, drives[5]["Path"], 60, 12_884_901_888),
        vhd(host, drives[6]["Path"], 40, 42_949_673_472, vhd_type=2, vhd_format=2),
        vhd(host, drives[7]["Path"], 80, 21_474_836_480),
        vhd(host, drives[8]["Path"], 60, 9_663_676_416),
        vhd(host, drives[9]["Path"], 200, 64_424_509_440),
        vhd(host, drives[10]["Path"], 40, 8_589_934_592),
        vhd(host, drives[11]["Path"], 30, 6_442_450_944),
        vhd(host, drives[12]["Path"], 30, 4_294_967_296),
    ]
    dvd_drives = [
        dvd("web01", host, "D:\\ISO\\en-us_windows_server_2022_x64_dvd.iso"),
        dvd("legacy-nt", host, None, controller=0, number=1, location=0),
    ]
    adapters = [
        adapter(
            "web01", host, ext, mac(0x0A1B01), ["10.20.0.11", "fe80::215:5dff:fe0a:1b01"], vlan=20
        ),
        adapter("web02", host, ext, mac(0x0A1B02), ["10.20.0.12"], vlan=20),
        adapter("web02", host, inn, mac(0x0A1B03), ["192.168.100.12"], name="Backend", index=1),
        adapter("sql01", host, ext, mac(0x0A1B04), ["10.30.0.21"], vlan=30),
        adapter("build01", host, ext, "000000000000", [], vlan=20),
        adapter("test01", host, iso, mac(0x0A1B06), []),
        adapter(
            "legacy-nt",
            host,
            inn,
            mac(0x0A1B07),
            ["192.168.100.40"],
            legacy=True,
            name="Legacy Network Adapter",
        ),
        adapter("dc01", host, ext, mac(0x0A1B08), ["10.10.0.5", "10.10.0.6"], vlan=10),
        adapter("app03", host, ext, mac(0x0A1B09), [], vlan=20),
        adapter("ci-runner", host, inn, mac(0x0A1B0A), ["192.168.100.50"]),
        adapter("kiosk01", host, ("", None), mac(0x0A1B0B), []),
        adapter("edge01", host, ext, mac(0x0A1B0C), [], vlan=20),
        adapter("büro-print01", host, ext, mac(0x0A1B0D), [], vlan=20),
    ]
    windows_2022 = ("Windows Server 2022 Datacenter", "10.0.20348")
    guests = [
        guest("web01", host, *windows_2022, "web01.corp.example.com"),
        guest("web02", host, *windows_2022, "web02.corp.example.com"),
        guest(
            "sql01", host, "Windows Server 2019 Standard", "10.0.17763", "sql01.corp.example.com"
        ),
        guest("legacy-nt", host, "Windows Server 2008 R2 Enterprise", "6.1.7601", "LEGACY-NT"),
        guest("dc01", host, *windows_2022, "dc01.corp.example.com"),
        guest("ci-runner", host, "Ubuntu 22.04.3 LTS", "5.15.0-91-generic", "ci-runner"),
        guest("app03", host, "Windows Server 2022 Standard", None, None),  # still starting
    ]
    checkpoints = [
        checkpoint(
            r, "web02", host, "before-iis-upgrade", datetime(2026, 9, 1, 18, 0, 5, tzinfo=UTC), None
        ),
        checkpoint(
            r,
            "web02",
            host,
            "after-iis-upgrade",
            datetime(2026, 9, 1, 19, 30, 0, tzinfo=UTC),
            "before-iis-upgrade",
        ),
    ]
    volumes = [
        volume(host, "C", "", "NTFS", 239_444_770_816, 180_388_626_432),
        volume(host, "D", "VMStore", "ReFS", 3_998_614_552_576, 2_101_331_197_952),
    ]
    return envelope(
        {
            "Get-Date": [r.utc(collected)],
            "Get-VMHost": [vm_host],
            "Get-VM": vms,
            "Get-VMHardDiskDrive": drives,
            "Get-VHD": vhds,
            "Get-VMDvdDrive": dvd_drives,
            "Get-VMNetworkAdapter": adapters,
            "Msvm_KvpExchangeComponent": guests,
            "Get-VMSwitch": [external, internal, isolated],
            "Get-VMSnapshot": checkpoints,
            "Get-Volume": volumes,
            "Win32_ComputerSystem": [system],
            "Win32_OperatingSystem": [system_os],
            "Win32_Processor": processors,
        }
    )


CLUSTER_DOMAIN = "corp.example.com"
NODES = ("HV-N1", "HV-N2")
CSV1 = "C:\\ClusterStorage\\Volume1"
CSV2 = "C:\\ClusterStorage\\Volume2"


def cluster(changed: bool) -> dict[str, list[Any]]:
    r = Render("7" if changed else "5.1")
    later = timedelta(hours=6, minutes=2, seconds=17) if changed else timedelta(0)
    collected = datetime(2026, 11, 20, 6, 0, 1, 250000, tzinfo=UTC) + later
    hosts = [
        host_parts(
            r,
            node,
            CLUSTER_DOMAIN,
            manufacturer="HPE",
            model="ProLiant DL380 Gen10 Plus",
            cpu="Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
            sockets=2,
            cores=16,
            mhz=2000,
            memory_gib=512,
            booted=datetime(2026, 11, 2, 3, 11, 8, 250000, tzinfo=UTC) + timedelta(hours=index),
        )
        for index, node in enumerate(NODES)
    ]
    switches = [
        switch(node, "vSwitch-Prod", 2, "HPE Ethernet 10/25Gb 2-port 640FLR-SFP28 Adapter")
        for node in NODES
    ]
    prod = {node: (s["Name"], s["Id"]) for node, s in zip(NODES, switches, strict=True)}
    created = datetime(2024, 6, 3, 12, 41, 9, 100000, tzinfo=UTC)
    web01_checkpoint = guid("cl-web01/before-patch-2026-11")
    n1, n2 = NODES
    web02_host = n1 if changed else n2

    def cl_vm(
        name: str,
        host: str,
        state: int,
        cpus: int,
        gib: float,
        up: timedelta,
        base: str = CSV1,
        **kw: Any,
    ) -> dict[str, Any]:
        running = state == 2
        return vm(
            r,
            collected,
            name=name,
            host=host,
            state=state,
            cpus=cpus,
            startup_gib=gib,
            uptime=up + later if running else timedelta(0),
            created=created,
            clustered=kw.pop("clustered", True),
            base=base,
            **kw,
        )

    vms = [
        cl_vm(
            "cl-web01",
            n1,
            2,
            4,
            8,
            timedelta(days=17, hours=2, minutes=7, seconds=1, milliseconds=5),
            dynamic=True,
            assigned_mib=6144,
            parent_snapshot=(web01_checkpoint, "before-patch-2026-11") if changed else None,
        ),
        cl_vm(
            "cl-web02",
            web02_host,
            2,
            4,
            8,
            timedelta(days=17, hours=2, minutes=3),
            dynamic=True,
            assigned_mib=6144,
        ),
        cl_vm(
            "cl-sql01",
            n1,
            2,
            16,
            64,
            timedelta(days=17, hours=1, minutes=58, seconds=12),
            base=CSV2,
            notes="SQL Server 2022 — ERP",
        ),
        cl_vm("cl-app01", n2, 3, 4, 8, timedelta(0)),
        cl_vm("cl-file01", n2, 6, 2, 4, timedelta(0), base=CSV2),
        cl_vm(
            "n1-scratch", n1, 2, 2, 4, timedelta(days=3, hours=4), base="D:\\VMs", clustered=False
        ),
    ]
    web01_vhdx = f"{CSV1}\\cl-web01\\Virtual Hard Disks\\cl-web01.vhdx"
    web01_avhdx = f"{CSV1}\\cl-web01\\Virtual Hard Disks\\cl-web01_{web01_checkpoint.upper()}.avhdx"
    data_gib = 300 if changed else 200
    drives = [
        drive("cl-web01", n1, web01_avhdx if changed else web01_vhdx),
        drive("cl-web02", web02_host, f"{CSV1}\\cl-web02\\Virtual Hard Disks\\cl-web02.vhdx"),
        drive("cl-sql01", n1, f"{CSV2}\\cl-sql01\\Virtual Hard Disks\\cl-sql01-os.vhdx"),
        drive(
            "cl-sql01", n1, f"{CSV2}\\cl-sql01\\Virtual Hard Disks\\cl-sql01-data.vhdx", location=1
        ),
        drive("cl-app01", n2, f"{CSV1}\\cl-app01\\Virtual Hard Disks\\cl-app01.vhdx"),
        drive("cl-file01", n2, f"{CSV2}\\cl-file01\\Virtual Hard Disks\\cl-file01.vhdx"),
        drive("n1-scratch", n1, "D:\\VMs\\n1-scratch\\Virtual Hard Disks\\n1-scratch.vhdx"),
    ]
    vhds = [
        vhd(n1, web01_avhdx, 127, 1_610_612_736, vhd_type=4, parent=web01_vhdx)
        if changed
        else vhd(n1, web01_vhdx, 127, 41_875_931_136),
        vhd(web02_host, drives[1]["Path"], 127, 40_802_189_312),
        vhd(n1, drives[2]["Path"], 127, 136_365_211_648, vhd_type=2),
        vhd(n1, drives[3]["Path"], data_gib, (171 if changed else 158) * GIB),
        vhd(n2, drives[4]["Path"], 127, 25_769_803_776),
        vhd(n2, drives[5]["Path"], 2048, 1_288_490_188_800),
        vhd(n1, drives[6]["Path"], 60, 18_253_611_008),
    ]
    dvd_drives = [
        dvd("cl-web01", n1, None),
        # The SQL Server installation media, ejected by the time of the second recording.
        dvd("cl-sql01", n1, None if changed else f"{CSV2}\\ISO\\SQLServer2022-x64-ENU.iso"),
    ]
    adapters = [
        adapter(
            "cl-web01",
            n1,
            prod[n1],
            mac(0x4E0101),
            ["10.20.1.11", "fe80::215:5dff:fe4e:101"],
            vlan=20,
        ),
        adapter("cl-web02", web02_host, prod[web02_host], mac(0x4E0102), ["10.20.1.12"], vlan=20),
        adapter("cl-sql01", n1, prod[n1], mac(0x4E0103), ["10.30.1.21", "10.30.1.22"], vlan=30),
        adapter("cl-app01", n2, prod[n2], mac(0x4E0104), [], vlan=20),
        adapter("cl-file01", n2, prod[n2], mac(0x4E0105), [], vlan=20),
        adapter("n1-scratch", n1, prod[n1], mac(0x4E0106), ["10.99.0.7"]),
    ]
    scratch_kernel = "6.1.0-17-amd64" if changed else "6.1.0-13-amd64"
    guests = [
        guest(
            "cl-web01",
            n1,
            "Windows Server 2022 Datacenter",
            "10.0.20348",
            "cl-web01.corp.example.com",
        ),
        guest(
            "cl-web02",
            web02_host,
            "Windows Server 2022 Datacenter",
            "10.0.20348",
            "cl-web02.corp.example.com",
        ),
        guest(
            "cl-sql01",
            n1,
            "Windows Server 2022 Standard",
            "10.0.20348",
            "cl-sql01.corp.example.com",
        ),
        guest("n1-scratch", n1, "Debian GNU/Linux 12 (bookworm)", scratch_kernel, "n1-scratch"),
    ]
    checkpoints = (
        [
            checkpoint(
                r,
                "cl-web01",
                n1,
                "before-patch-2026-11",
                datetime(2026, 11, 20, 9, 15, 42, tzinfo=UTC),
                None,
            )
        ]
        if changed
        else []
    )
    if changed:
        vms = [v for v in vms if v["Name"] != "cl-app01"]
        drives = [d for d in drives if d["VMName"] != "cl-app01"]
        vhds = [v for v in vhds if "cl-app01" not in v["Path"]]
        adapters = [a for a in adapters if a["VMName"] != "cl-app01"]
    volumes = [
        volume(n1, "C", "", "NTFS", 479_555_555_328, 401_123_456_000),
        volume(n1, "D", "LocalVMs", "NTFS", 959_999_111_168, 902_456_789_000),
        volume(n2, "C", "", "NTFS", 479_555_555_328, 398_765_432_000),
    ]
    csv_free = (
        (1_309_170_634_752, 603_979_776_000)
        if not changed
        else (1_331_725_139_968, 555_661_787_136)
    )
    csvs = []
    for index, (path, size, free, owner) in enumerate(
        ((CSV1, 2 * 1024 * GIB, csv_free[0], n1), (CSV2, 4 * 1024 * GIB, csv_free[1], n2)), start=1
    ):
        csvs.append(
            {
                "Name": f"Cluster Disk {index}",
                "Id": guid(f"csv{index}"),
                "State": 2,
                "OwnerNode": owner,
                "SharedVolumeInfo": [
                    {
                        "FriendlyVolumeName": path,
                        "MaintenanceMode": False,
                        "RedirectedAccess": False,
                        "Partition": {
                            "Name": f"\\\\?\\Volume{{{guid(f'csv{index}/partition')}}}\\",
                            "Size": size,
                            "FreeSpace": free,
                            "UsedSpace": size - free,
                            "PercentFree": round(free * 100 / size, 6),
                            "FileSystem": "CSVFS",
                        },
                    }
                ],
            }
        )
    nodes = [
        {
            "Name": node,
            "Id": str(index),
            "State": 0,
            "DrainStatus": 0,
            "Model": "ProLiant DL380 Gen10 Plus",
            "Manufacturer": "HPE",
            "SerialNumber": f"CZ2D1F0A{index:02d}",
            "BuildNumber": 20348,
            "MajorVersion": 10,
            "MinorVersion": 0,
            "Cluster": "HVCL01",
        }
        for index, node in enumerate(NODES, start=1)
    ]
    return envelope(
        {
            "Get-Date": [r.utc(collected)],
            "Get-VMHost": [h[0] for h in hosts],
            "Get-VM": vms,
            "Get-VMHardDiskDrive": drives,
            "Get-VHD": vhds,
            "Get-VMDvdDrive": dvd_drives,
            "Get-VMNetworkAdapter": adapters,
            "Msvm_KvpExchangeComponent": guests,
            "Get-VMSwitch": switches,
            "Get-VMSnapshot": checkpoints,
            "Get-Volume": volumes,
            "Win32_ComputerSystem": [h[1] for h in hosts],
            "Win32_OperatingSystem": [h[2] for h in hosts],
            "Win32_Processor": [p for h in hosts for p in h[3]],
            "Get-Cluster": [
                {
                    "Name": "HVCL01",
                    "Domain": CLUSTER_DOMAIN,
                    "Id": guid("cluster/HVCL01"),
                    "AutoBalancerMode": 2,
                    "AutoBalancerLevel": 1,
                }
            ],
            "Get-ClusterNode": nodes,
            "Get-ClusterSharedVolume": csvs,
        }
    )


def render(document: dict[str, list[Any]], edition: str) -> bytes:
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if edition == "5.1":
        # Windows PowerShell escapes the slashes of its date format, and starts with a BOM here.
        text = text.replace('"/Date(', '"\\/Date(').replace(')/"', ')\\/"')
        return "\ufeff".encode() + text.encode("utf-8") + b"\r\n"
    return text.encode("utf-8") + b"\n"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / "standalone.json").write_bytes(render(standalone(), "5.1"))
    (OUT / "cluster.json").write_bytes(
        render(cluster(changed=False), "5.1").removeprefix("\ufeff".encode())
    )
    (OUT / "cluster-changed.json").write_bytes(render(cluster(changed=True), "7"))


if __name__ == "__main__":
    main()
