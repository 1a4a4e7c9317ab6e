"""Exports against real peers: a vCenter simulator and a Hyper-V WinRM endpoint, synced, exported.

The workbook and the CSV files are read back and compared with the database
(on SQLite and PostgreSQL), both platforms in the same sheets.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import rvtools_analyzer.main as avs_analyzer
from oci_rvtools import ingest as oci_ingest
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.exports.csv import cell_text, list_csv, write_csv_directory
from iroa.exports.service import SHEETS, resolve_scope, snapshot_connection
from iroa.exports.xlsx import write_xlsx
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.models import VmDisk, VmNic, VmSnapshot
from iroa.inventory.queries import list_objects
from iroa.sync.engine import run_sync
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology
from tests.sync.test_hyperv_sync import connector_for as hyperv_connector
from tests.sync.test_vcenter_sync import connector_for as vcenter_connector

MIB = 1 << 20
SHEET_NAMES = [
    "vInfo",
    "vCPU",
    "vMemory",
    "vDisk",
    "vPartition",
    "vNetwork",
    "vCD",
    "vUSB",
    "vSnapshot",
    "vTools",
    "vSource",
    "vRP",
    "vCluster",
    "vHost",
    "vHBA",
    "vNIC",
    "vSwitch",
    "vPort",
    "dvSwitch",
    "dvPort",
    "vSC_VMK",
    "vDatastore",
    "vMultiPath",
    "vLicense",
    "vHealth",
    "vMetaData",
]
POWER = {"on": "poweredOn", "off": "poweredOff", "suspended": "suspended"}
TOPOLOGY = Topology(clusters=1, hosts_per_cluster=2, standalone_hosts=1, vms_per_host=2)


@pytest.fixture
def estate(db: Database, box: SecretBox, vcsim: Any, winrm: Any) -> Database:
    """A vCenter simulator (with one snapshot) and a standalone Hyper-V host, both synced."""
    vcenter = vcsim(TOPOLOGY)
    si = ops.connect(vcenter)
    ops.create_snapshot(si, "DC0_H0_VM0", "before-patch")
    ops.set_custom_value(si, "DC0_H0_VM0", "Backup status", "ok")
    ops.set_guest_info(si, "DC0_H0_VM0", full_name="Oracle Linux 8 (64-bit)", state="running")
    hyperv = winrm("standalone")
    vc = add_integration(db, box, IntegrationInput("vcenter", "vc", vcenter.url)).id
    hv = add_integration(
        db, box, IntegrationInput("hyperv", "hv", hyperv.url, transport="basic")
    ).id
    assert run_sync(db, vc, vcenter_connector(vcenter)).succeeded
    assert run_sync(db, hv, hyperv_connector(hyperv)).succeeded
    return db


def read_sheets(path: Path) -> dict[str, list[dict[str, Any]]]:
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheets = {}
    for worksheet in workbook.worksheets:
        header, *rows = list(worksheet.iter_rows(values_only=True))
        sheets[worksheet.title] = [dict(zip(header, row, strict=True)) for row in rows]
    workbook.close()
    return sheets


def nics_of(db: Database) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = session.execute(select(VmNic.vm_id).where(VmNic.removed_at.is_(None))).all()
    return [{"vm_id": row.vm_id} for row in rows]


def present(db: Database, model: Any) -> int:
    with db.session() as session:
        return len(session.scalars(select(model.id).where(model.removed_at.is_(None))).all())


def test_workbook_holds_both_platforms_as_the_database_has_them(
    estate: Database, tmp_path: Path
) -> None:
    db = estate
    path = tmp_path / "inventory.xlsx"
    written = write_xlsx(db, path, now=utcnow() + timedelta(days=30))

    formatted = openpyxl.load_workbook(path)
    assert formatted.sheetnames == SHEET_NAMES
    for sheet in SHEETS:
        worksheet = formatted[sheet.name]
        headers = [cell.value for cell in worksheet[1]]
        with snapshot_connection(db) as conn:
            assert headers == [c.header for c in sheet.columns_for(conn, resolve_scope(conn, None))]
        assert headers[-2:] == ["Platform", "Integration"]
        assert all(cell.font.b for cell in worksheet[1])
        assert worksheet.freeze_panes == "A2"
        last = get_column_letter(len(headers))
        assert worksheet.auto_filter.ref == f"A1:{last}{written[sheet.name] + 1}"
        assert worksheet.column_dimensions["A"].width >= len(headers[0])
    formatted.close()

    sheets = read_sheets(path)
    assert {name: len(rows) for name, rows in sheets.items()} == written

    vms = {(vm["integration"], vm["name"]): vm for vm in list_objects(db, "vms")}
    info = {(row["Integration"], row["VM"]): row for row in sheets["vInfo"]}
    assert set(info) == set(vms)
    assert {row["Platform"] for row in info.values()} == {"vcenter", "hyperv"}
    for name, vm in vms.items():
        row = info[name]
        assert row["Powerstate"] == POWER.get(vm["power_state"], vm["power_state"])
        assert (row["CPUs"], row["Memory"]) == (vm["num_cpu"], vm["memory_mib"])
        assert (row["Host"], row["Cluster"], row["Datacenter"]) == (
            vm["host"],
            vm["cluster"],
            vm["datacenter"],
        )
        assert (row["VM ID"], row["VM UUID"]) == (vm["external_id"], vm["uuid"])
        assert row["OS according to the configuration file"] == vm["guest_os"]
        expected_mib = None if vm["used_bytes"] is None else round(vm["used_bytes"] / MIB)
        assert row["In Use MiB"] == expected_mib
        assert row["Template"] is vm["is_template"]
        assert row["Generation"] == (vm["generation"] if vm["platform"] == "hyperv" else None)
    assert any(row["Generation"] for row in info.values())  # Hyper-V fills it
    for name, vm in vms.items():
        if vm["platform"] == "hyperv":
            assert info[name]["Firmware"] == {1: "bios", 2: "efi"}.get(vm["generation"])
        else:
            assert info[name]["Firmware"] == "bios" and info[name]["Video Ram KiB"]
            assert info[name]["Connection state"] == "connected"
        assert info[name]["OS according to the VMware Tools"] == vm["tools_guest_os"]
        assert info[name]["VI SDK Server"] == ("127.0.0.1" if vm["platform"] == "vcenter" else None)
        expected_ca = "ok" if name == ("vc", "DC0_H0_VM0") else None
        assert info[name]["Backup status"] == expected_ca

    # Custom attributes are columns after Annotation, on every VM sheet, as RVTools has them.
    headers = {name: list(rows[0]) for name, rows in sheets.items() if rows}
    for name in ("vInfo", "vCPU", "vMemory", "vDisk", "vNetwork", "vSnapshot", "vTools"):
        at = headers[name].index("Annotation")
        assert headers[name][at + 1] == "Backup status", name
    nics = Counter((n["vm_id"]) for n in nics_of(db))
    for name, vm in vms.items():
        networks = [info[name][f"Network #{n}"] for n in range(1, 9)]
        count = nics.get(vm["id"], 0)
        assert not any(networks[count:]), name  # an unconnected NIC has no network
    assert all(row["Network #1"] for row in info.values() if row["Platform"] == "vcenter")

    memory = {(row["Integration"], row["VM"]): row for row in sheets["vMemory"]}
    for name, vm in vms.items():
        expected = vm["memory_assigned_mib"] if vm["platform"] == "hyperv" else None
        assert memory[name]["Assigned MiB"] == expected
        assert memory[name]["Size MiB"] == vm["memory_mib"]

    for per_vm in ("vCPU", "vTools"):
        assert Counter((r["Integration"], r["VM"]) for r in sheets[per_vm]) == Counter(list(vms))
    assert len(sheets["vDisk"]) == present(db, VmDisk)
    assert len(sheets["vNetwork"]) == present(db, VmNic)
    assert len(sheets["vSnapshot"]) == present(db, VmSnapshot) == 3
    for name in ("vDisk", "vNetwork", "vSnapshot"):
        assert {row["Platform"] for row in sheets[name]} == {"vcenter", "hyperv"}, name
    disks = {(r["Integration"], r["VM"], r["Disk"]): r for r in sheets["vDisk"]}
    for (platform_name, _, _), row in disks.items():
        if platform_name == "vc":
            assert isinstance(row["Disk Key"], int) and row["Raw"] is False
        else:
            assert row["Disk Key"] is None and row["Raw"] is (row["Disk Type"] == "PassThrough")
    assert {r["Name"] for r in sheets["vSnapshot"]} == {
        "before-patch",
        "before-iis-upgrade",
        "after-iis-upgrade",
    }
    # Read from layoutEx by the sync (the simulator's files are of size 0); Hyper-V: unknown.
    sizes = {
        (r["Platform"], r["Size MiB (vmsn)"], r["Size MiB (total)"]) for r in sheets["vSnapshot"]
    }
    assert sizes == {("vcenter", 0, 0), ("hyperv", None, None)}

    # Hyper-V's DVD drives: connected while they hold an ISO, as the CD rule reads them.
    hyperv_cds = {r["VM"]: r for r in sheets["vCD"] if r["Platform"] == "hyperv"}
    assert {
        vm: (r["Device Node"], r["Connected"], r["Starts Connected"], r["Device Type"])
        for vm, r in hyperv_cds.items()
    } == {
        "web01": (
            "DVD Drive on SCSI controller number 0 at location 1",
            True,
            None,
            "D:\\ISO\\en-us_windows_server_2022_x64_dvd.iso",
        ),
        "legacy-nt": ("DVD Drive on IDE controller number 1 at location 0", False, None, None),
    }
    cd_findings = {
        (r["Integration"], r["Name"])
        for r in sheets["vHealth"]
        if r["Rule"] == "vm_cdrom_connected"
    }
    assert ("hv", "web01") in cd_findings and ("hv", "legacy-nt") not in cd_findings

    hosts = {(h["integration"], h["name"]): h for h in list_objects(db, "hosts")}
    vhost = {(row["Integration"], row["Host"]): row for row in sheets["vHost"]}
    assert set(vhost) == set(hosts)
    vms_per_host = Counter(
        (vm["integration"], vm["host"]) for vm in vms.values() if not vm["is_template"]
    )
    for name, host in hosts.items():
        assert vhost[name]["# VMs"] == vms_per_host[name]
        assert vhost[name]["# Cores"] == host["cpu_cores"]
        assert vhost[name]["# Memory"] == host["memory_mib"]
        assert (vhost[name]["ESX Version"] is None) == (host["platform"] == "hyperv")

    datastores = {(d["integration"], d["name"]): d for d in list_objects(db, "datastores")}
    vdatastore = {(row["Integration"], row["Name"]): row for row in sheets["vDatastore"]}
    assert set(vdatastore) == set(datastores)
    assert {row["Platform"] for row in vdatastore.values()} == {"vcenter", "hyperv"}
    for name, datastore in datastores.items():
        for header, field in (("Capacity MiB", "capacity_bytes"), ("Free MiB", "free_bytes")):
            value = datastore[field]
            assert vdatastore[name][header] == (None if value is None else round(value / MIB))

    assert {row["Integration"] for row in sheets["vCluster"]} == {"vc"}

    metadata = {row["Integration"]: row for row in sheets["vMetaData"]}
    assert set(metadata) == {"vc", "hv"}
    assert metadata["vc"]["Server"] == "127.0.0.1" and metadata["hv"]["Server"] is None
    for row in metadata.values():
        assert (row["RVTools version"], row["Exported by"]) == (None, "IROA")
        assert isinstance(row["xlsx creation datetime"], datetime)

    # Thirty days on, every VM with a snapshot has one older than seven days.
    old = [row for row in sheets["vHealth"] if row["Rule"] == "snapshot_too_old"]
    assert sorted(row["Name"] for row in old) == sorted({r["VM"] for r in sheets["vSnapshot"]})
    assert all(row["Message"].endswith("older than 7 days") for row in old)


def test_csv_files_read_back_as_the_sheets_and_lists(estate: Database, tmp_path: Path) -> None:
    db = estate
    files = write_csv_directory(db, tmp_path / "csv", integration="hv")
    assert sorted(files) == sorted(SHEET_NAMES)
    with snapshot_connection(db) as conn:
        scope = resolve_scope(conn, "hv")
        for sheet in SHEETS:
            with files[sheet.name].open(newline="", encoding="utf-8") as stream:
                header, *rows = list(csv.reader(stream))
            assert header == [c.header for c in sheet.columns_for(conn, scope)]
            expected = [
                [cell_text(v) for v in row]
                for chunk, _ in sheet.chunks(conn, scope, 1000)
                for row in chunk
            ]
            if sheet.name == "vMetaData":  # exported moments apart: its creation time differs
                rows, expected = ([r[:2] + r[3:] for r in found] for found in (rows, expected))
            assert rows == expected, sheet.name
            assert {row[-1] for row in rows} <= {"hv"}
    info = list(csv.DictReader((tmp_path / "csv" / "vInfo.csv").open(encoding="utf-8")))
    assert len(info) == 12 and {row["Platform"] for row in info} == {"hyperv"}

    for plural in ("vms", "hosts", "datastores", "networks", "clusters", "datacenters"):
        items = list_objects(db, plural)
        text = "".join(list_csv(db, plural))
        read = list(csv.DictReader(io.StringIO(text, newline="")))
        assert read == [{k: cell_text(v) for k, v in item.items()} for item in items], plural


def test_rvtools_readers_find_every_column_they_look_up(
    estate: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two open-source programs from PyPI that read RVTools workbooks, run on IROA's: the AVS
    migration analyzer's web app (which answered 500, ``KeyError: 'Raw'``, before) and the OCI
    cost estimator's reader (which warned of missing vInfo columns)."""
    path = tmp_path / "estate.xlsx"
    write_xlsx(estate, path)

    # avs-rvtools-analyzer opens its SKU list relative to the working directory.
    monkeypatch.chdir(Path(avs_analyzer.__file__).parent.parent)
    avs_analyzer.app.config["PROPAGATE_EXCEPTIONS"] = True  # a KeyError fails the test
    with path.open("rb") as stream:
        response = avs_analyzer.app.test_client().post(
            "/analyze",
            data={"file": (stream, "estate.xlsx")},
            content_type="multipart/form-data",
        )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "before-patch" in page and "before-iis-upgrade" in page  # vSnapshot read
    assert "Oracle Linux 8 (64-bit)" in page  # vInfo's OS according to the VMware Tools

    warnings: list[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())  # type: ignore[method-assign]
    oci_log = logging.getLogger("oci_rvtools")
    oci_log.addHandler(handler)
    try:
        vinfo = oci_ingest.load_vinfo_dataframe(path)
    finally:
        oci_log.removeHandler(handler)
    assert vinfo is not None and len(vinfo) == len(list_objects(estate, "vms"))
    assert not [w for w in warnings if "missing" in w], warnings
