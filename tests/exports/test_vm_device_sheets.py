"""vPartition, vCD, vUSB, vSource, vRP and vLicense: from real peers, synced, exported, read back.

A vCenter simulator with an ISO in a drive, a USB device and a license of its
own is synced and exported (SQLite and PostgreSQL); the sheets must hold what
the simulator has. vcsim reports no guest partitions, so a prepared snapshot
carries them through the sync engine for vPartition.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from pyVmomi import vim

from iroa.connectors.base import Snapshot, SourceInfo, VmPartitionRecord, VmRecord
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.exports.xlsx import write_xlsx
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology
from tests.sync.test_engine import StaticConnector
from tests.sync.test_vcenter_sync import connector_for as vcenter_connector

MIB = 1 << 20
LICENSE_KEY = "AB1CD-EF2GH-IJ3KL-MN4OP-QR5ST"


def read_sheets(path: Path) -> dict[str, list[dict[str, Any]]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheets = {}
    for worksheet in workbook.worksheets:
        header, *rows = list(worksheet.iter_rows(values_only=True))
        sheets[worksheet.title] = [dict(zip(header, row, strict=True)) for row in rows]
    workbook.close()
    return sheets


def test_vcd_vusb_vsource_and_vlicense_hold_what_the_vcenter_has(
    db: Database, box: SecretBox, vcsim: Any, tmp_path: Path
) -> None:
    server = vcsim(Topology(clusters=1, hosts_per_cluster=1, vms_per_host=2, pools=1))
    si = ops.connect(server)
    ops.insert_iso(si, "DC0_C0_RP0_VM0", "[LocalDS_0] iso/rhel-9.iso")
    ops.add_usb_device(si, "DC0_C0_RP0_VM1", "path:1/0/2 version:2")
    si.content.licenseManager.AddLicense(licenseKey=LICENSE_KEY)
    cds = {
        vm["name"]: [
            d for d in vm["config.hardware.device"] if isinstance(d, vim.vm.device.VirtualCdrom)
        ]
        for vm in ops.retrieve(si, vim.VirtualMachine, ["name", "config.hardware.device"])
    }
    about = si.content.about
    vc = add_integration(db, box, IntegrationInput("vcenter", "vc", server.url)).id
    assert run_sync(db, vc, vcenter_connector(server)).succeeded

    path = tmp_path / "estate.xlsx"
    write_xlsx(db, path)
    sheets = read_sheets(path)

    assert sorted((r["VM"], r["Device Node"]) for r in sheets["vCD"]) == sorted(
        (vm, cd.deviceInfo.label) for vm, drives in cds.items() for cd in drives
    )
    iso = next(r for r in sheets["vCD"] if r["VM"] == "DC0_C0_RP0_VM0")
    assert (iso["Device Type"], iso["Starts Connected"]) == ("[LocalDS_0] iso/rhel-9.iso", True)
    assert iso["Powerstate"] == "poweredOn" and iso["VM ID"] and iso["Platform"] == "vcenter"
    [usb] = sheets["vUSB"]
    assert (usb["VM"], usb["Device Type"], usb["Connected"]) == (
        "DC0_C0_RP0_VM1",
        "path:1/0/2 version:2",
        True,
    )
    assert usb["OS according to the VMware tools"] is None  # vcsim reports no guest OS

    [source] = sheets["vSource"]
    assert (source["Name"], source["API version"], source["Version"], source["Build"]) == (
        about.name,
        about.apiVersion,
        about.version,
        about.build,
    )
    assert (source["Fullname"], source["VI SDK UUID"]) == (about.fullName, about.instanceUuid)
    assert source["VI SDK Server"] == "127.0.0.1"

    licenses = {row["Name"]: row for row in sheets["vLicense"]}
    assert licenses["Evaluation Mode"]["Key"] == "*****-*****-*****-*****-00000"
    assert "vSphere Distributed Switch" in licenses["Evaluation Mode"]["Features"]
    assert {row["Key"] for row in sheets["vLicense"]} >= {"*****-*****-*****-*****-QR5ST"}
    with zipfile.ZipFile(path) as workbook:
        written = b"".join(workbook.read(name) for name in workbook.namelist())
    assert LICENSE_KEY.encode() not in written


def test_vrp_counts_each_pool_s_vms_and_shows_its_settings(
    db: Database, box: SecretBox, vcsim: Any, tmp_path: Path
) -> None:
    server = vcsim(
        Topology(clusters=1, hosts_per_cluster=2, standalone_hosts=1, vms_per_host=2, pools=2)
    )
    si = ops.connect(server)
    ops.move_vm_to_pool(si, "DC0_C0_RP0_VM0", "DC0_C0_RP1")
    pools = {
        pool["obj"]._moId: pool
        for pool in ops.retrieve(si, vim.ResourcePool, ["config.cpuAllocation"])
    }
    vc = add_integration(db, box, IntegrationInput("vcenter", "vc", server.url)).id
    assert run_sync(db, vc, vcenter_connector(server)).succeeded

    path = tmp_path / "estate.xlsx"
    write_xlsx(db, path)
    sheets = read_sheets(path)

    rows = {row["Object ID"]: row for row in sheets["vRP"]}
    assert rows.keys() == pools.keys()
    vms = [(vm["Resource pool"], vm["CPUs"], vm["Memory"]) for vm in sheets["vInfo"]]
    for pool_id, row in rows.items():
        own = [vm for vm in vms if vm[0] == row["Resource Pool path"]]
        under = [vm for vm in vms if vm[0] and vm[0].startswith(row["Resource Pool path"] + "/")]
        assert (row["# VMs"], row["# VMs total"]) == (len(own), len(own) + len(under))
        assert (row["# vCPUs"], row["Mem Configured"]) == (
            sum(vm[1] for vm in own),
            sum(vm[2] for vm in own),
        )
        cpu = pools[pool_id]["config.cpuAllocation"]
        assert (row["CPU limit"], row["CPU reservation"], row["CPU level"]) == (
            cpu.limit,
            cpu.reservation,
            cpu.shares.level,
        )
        assert row["Status"] == "green" and row["VI SDK Server"] == "127.0.0.1"
        assert row["QS overallCpuUsage"] is None  # quick stats: not collected
        assert row["CPU overallUsage"] is None  # live consumption: not read
    root = next(
        row for row in rows.values() if row["Resource Pool name"] == "Resources" and row["Cluster"]
    )
    assert root["# VMs total"] > root["# VMs"] > 0  # the child pool's VM counts in the total
    assert any(row["Mem maxUsage"] for row in rows.values())


def test_vpartition_shows_each_guest_file_system_in_mib(
    db: Database, box: SecretBox, tmp_path: Path
) -> None:
    vm = VmRecord(external_id="vm-1", name="db-01", power_state="on")
    partitions = [
        VmPartitionRecord("vm-1:partition:/", "vm-1", "/", 40 * 1024 * MIB, 30 * 1024 * MIB, 2000),
        VmPartitionRecord("vm-1:partition:/boot", "vm-1", "/boot", 1024 * MIB, 256 * MIB),
    ]
    snapshot = Snapshot(
        source=SourceInfo(name="vc", product="test"), vms=[vm], vm_partitions=partitions
    )
    vc = add_integration(db, box, IntegrationInput("vcenter", "vc", "https://vc.example.com")).id
    assert run_sync(db, vc, StaticConnector(snapshot)).succeeded

    path = tmp_path / "estate.xlsx"
    write_xlsx(db, path)
    rows = read_sheets(path)["vPartition"]

    assert [
        (r["VM"], r["Disk"], r["Disk Key"], r["Capacity MiB"], r["Consumed MiB"], r["Free MiB"])
        for r in rows
    ] == [("db-01", "/", 2000, 40960, 10240, 30720), ("db-01", "/boot", None, 1024, 768, 256)]
    assert [r["Free %"] for r in rows] == [75, 25]
    assert read_sheets(path)["vSource"] == []  # a source without ``about``: nothing to show
