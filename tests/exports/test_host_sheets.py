"""RVTools' host network and storage sheets, filled from a synced vCenter simulator, and the
change feed of the facts behind them."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from iroa.connectors.base import NullProgress
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.exports.xlsx import write_xlsx
from iroa.inventory.queries import list_objects
from iroa.sync.engine import run_sync
from tests.exports.test_exports import TOPOLOGY, estate, read_sheets  # noqa: F401
from tests.sync.test_engine import StaticConnector
from tests.sync.test_vcenter_sync import (
    change_rows,
    changes_of,
    connector_for,
    new_integration,
    sync,
)


def test_host_sheets_hold_what_the_simulator_configures(estate: Database, tmp_path: Path) -> None:  # noqa: F811
    path = tmp_path / "inventory.xlsx"
    write_xlsx(estate, path)
    sheets = read_sheets(path)
    hosts = [h for h in list_objects(estate, "hosts") if h["platform"] == "vcenter"]
    names = {h["name"] for h in hosts}

    nics = sheets["vNIC"]
    assert {row["Host"] for row in nics} == names  # Hyper-V hosts have none collected
    vmnic0 = next(r for r in nics if r["Network Device"] == "vmnic0")
    assert (vmnic0["Driver"], vmnic0["Speed"], vmnic0["Duplex"]) == ("nvmxnet3", 10000, True)
    assert (vmnic0["MAC"], vmnic0["PCI"], vmnic0["Switch"]) == (
        "00:0c:29:81:d8:a0",
        "0000:0b:00.0",
        "vSwitch0",
    )
    assert vmnic0["Uplink port"] is None and vmnic0["VI SDK Server"] == "127.0.0.1"

    switches = [r for r in sheets["vSwitch"] if r["Platform"] == "vcenter"]
    assert {(r["Host"], r["Switch"]) for r in switches} == {(n, "vSwitch0") for n in names}
    assert all(r["MTU"] == 1500 and r["Mac Changes"] is True for r in switches)
    # A Hyper-V host's virtual switches: their names, nothing else collected.
    hyperv = [r for r in sheets["vSwitch"] if r["Platform"] == "hyperv"]
    assert [r["Switch"] for r in hyperv] == [
        "vSwitch-External",
        "vSwitch-Internal",
        "vSwitch-Isolated",
    ]
    assert all(r["Host"] and r["# Ports"] is None and r["MTU"] is None for r in hyperv)

    ports = {(r["Host"], r["Port Group"]): r for r in sheets["vPort"]}
    for name in names:
        assert ports[(name, "Management Network")]["Switch"] == "vSwitch0"
        assert ports[(name, "Management Network")]["Policy"] == "loadbalance_srcid"
        assert ports[(name, "VM Network")]["VLAN"] == 0

    vmks = sheets["vSC_VMK"]
    assert {(r["Host"], r["Device"]) for r in vmks} == {(n, "vmk0") for n in names}
    vmk0 = vmks[0]
    assert (vmk0["Port Group"], vmk0["DHCP"], vmk0["MTU"]) == ("Management Network", True, 1500)
    assert vmk0["IP Address"] and vmk0["Subnet mask"] and vmk0["Mac Address"]

    hbas = {(r["Host"], r["Device"]): r for r in sheets["vHBA"]}
    for name in names:
        vmhba0 = hbas[(name, "vmhba0")]
        assert (vmhba0["Type"], vmhba0["Driver"], vmhba0["Model"]) == (
            "ParallelScsiHba",
            "pvscsi",
            "PVSCSI SCSI Controller",
        )
        assert vmhba0["WWN"] is None  # neither Fibre Channel nor iSCSI
    vhost = {row["Host"]: row for row in sheets["vHost"]}
    for name in names:
        nic_count = sum(1 for r in nics if r["Host"] == name)
        assert vhost[name]["# NICs"] == nic_count
        assert vhost[name]["# HBAs"] == sum(1 for key in hbas if key[0] == name)
    assert all(row["# NICs"] is None for row in vhost.values() if row["Platform"] == "hyperv")

    dvswitch = sheets["dvSwitch"]
    assert [r["Switch"] for r in dvswitch] == ["DVS0"]
    assert dvswitch[0]["Host members"] and dvswitch[0]["Object ID"].startswith("dvs-")
    assert (
        dvswitch[0]["# VMs"]
        == sum(
            1
            for vm in list_objects(estate, "vms")
            if vm["platform"] == "vcenter" and vm["networks"]
        )
        or dvswitch[0]["# VMs"] == 0
    )
    dvport = {r["Port"]: r for r in sheets["dvPort"]}
    assert "DC0_DVPG0" in dvport and all(r["Switch"] == "DVS0" for r in dvport.values())
    assert all(r["Object ID"].startswith("dvportgroup-") for r in dvport.values())
    uplinks = next(r for name, r in dvport.items() if "Uplinks" in name)
    assert (uplinks["VLAN"], uplinks["VLAN Ranges"]) == (None, "0-4094")  # a trunk


def test_host_facts_change_only_when_the_host_does(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(TOPOLOGY)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded

    unchanged = sync(db, integration_id, server)
    assert not changes_of(db, unchanged.run_id)  # facts read back from JSON compare equal

    # vcsim cannot reconfigure a host's network: the next read is changed before it is applied.
    snapshot = connector_for(server).collect(NullProgress()).whole()
    host = next(h for h in snapshot.hosts if h.name == "DC0_H0")
    slower = ({**host.physical_nics[0], "speed_mbps": 1000}, *host.physical_nics[1:])
    hosts = [replace(h, physical_nics=slower) if h is host else h for h in snapshot.hosts]
    changed = run_sync(db, integration_id, StaticConnector(replace(snapshot, hosts=hosts)))
    assert changes_of(db, changed.run_id) == Counter({("host", "modified"): 1})
    (row,) = change_rows(db, changed.run_id, "host")
    assert row.object_name == "DC0_H0" and set(row.fields or {}) == {"physical_nics"}
    old, new = row.fields["physical_nics"]
    assert [
        (o["device"], o["speed_mbps"], n["speed_mbps"])
        for o, n in zip(old, new, strict=True)
        if o != n
    ] == [("vmnic0", 10000, 1000)]


def test_vmultipath_has_a_row_per_lun_of_each_vcenter_host(
    estate: Database,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "inventory.xlsx"
    write_xlsx(estate, path)
    rows = read_sheets(path)["vMultiPath"]
    hosts = [h for h in list_objects(estate, "hosts") if h["platform"] == "vcenter"]

    # Hyper-V hosts have none collected; each vcsim host has its local disk and its CD-ROM.
    assert [(r["Host"], r["Disk"]) for r in rows] == [
        (host["name"], lun["canonical_name"])
        for host in sorted(hosts, key=lambda h: h["name"])
        for lun in host["multipaths"]
    ]
    assert {r["Disk"] for r in rows} == {"mpx.vmhba0:C0:T0:L0", "mpx.vmhba1:C0:T0:L0"}
    disk = next(r for r in rows if r["Disk"] == "mpx.vmhba0:C0:T0:L0")
    assert (disk["Display name"], disk["Policy"], disk["SATP"], disk["Oper. State"]) == (
        "Local VMware, Disk (mpx.vmhba0:C0:T0:L0)",
        "VMW_PSP_FIXED",
        "VMW_SATP_LOCAL",
        "ok",
    )
    assert (disk["Path 1"], disk["Path 1 state"], disk["Path 2"], disk["# Paths"]) == (
        "vmhba0:C0:T0:L0",
        "active",
        None,
        1,
    )
    assert (disk["Queue depth"], disk["Level"], disk["Revision"], disk["Serial #"]) == (
        1024,
        2,
        "1.0 ",
        "unavailable",
    )
    assert (disk["UUID"], disk["vStorage"], disk["Working Paths"]) == (
        "0000000000766d686261303a303a30",
        "vStorageUnsupported",
        "vmhba0:C0:T0:L0",
    )
    assert disk["Datastore"] is None and disk["Object ID"] is None  # not read, not guessed
    assert disk["Cluster"] == next(h["cluster"] for h in hosts if h["name"] == disk["Host"])
    assert all(r["Platform"] == "vcenter" and r["VI SDK Server"] == "127.0.0.1" for r in rows)


def test_a_path_going_dead_is_a_change_of_its_host(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(TOPOLOGY)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).succeeded
    assert not changes_of(db, sync(db, integration_id, server).run_id)

    # vcsim cannot fail a path: the next read is changed before it is applied.
    snapshot = connector_for(server).collect(NullProgress()).whole()
    host = next(h for h in snapshot.hosts if h.name == "DC0_H0")
    disk, *others = host.multipaths
    dead = {**disk, "paths": [{**disk["paths"][0], "state": "dead", "working": False}]}
    hosts = [replace(h, multipaths=(dead, *others)) if h is host else h for h in snapshot.hosts]
    changed = run_sync(db, integration_id, StaticConnector(replace(snapshot, hosts=hosts)))
    assert changes_of(db, changed.run_id) == Counter({("host", "modified"): 1})
    (row,) = change_rows(db, changed.run_id, "host")
    assert row.object_name == "DC0_H0" and set(row.fields or {}) == {"multipaths"}
    old, new = row.fields["multipaths"]
    states = [
        (o["paths"][0]["state"], n["paths"][0]["state"]) for o, n in zip(old, new, strict=True)
    ]
    assert states == [
        ("active", "dead"),
        ("active", "active"),
    ]
