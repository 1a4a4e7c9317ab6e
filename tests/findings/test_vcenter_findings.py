"""The rules on what vCenter reports: states set in the simulator, read by a real sync."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyVmomi import vim

from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.exports.health import VHEALTH
from iroa.exports.service import resolve_scope, snapshot_connection
from iroa.findings.rules import Thresholds
from iroa.findings.service import refresh_findings
from tests.findings.test_findings import findings
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology
from tests.sync.test_vcenter_sync import new_integration, sync


def set_vm_properties(si: Any, vm_name: str, **values: object) -> None:
    """Assign VM properties vcsim has no operation for (its ``SET.`` extraConfig keys)."""
    options = [vim.option.OptionValue(key=f"SET.{k}", value=v) for k, v in values.items()]
    ops.wait_for_task(
        ops.find_vm(si, vm_name).ReconfigVM_Task(spec=vim.vm.ConfigSpec(extraConfig=options))
    )


def add_disk_on(si: Any, vm_name: str, datastore: str) -> None:
    """A new 1 GiB disk for the VM, its file on ``datastore``."""
    vm = ops.find_vm(si, vm_name)
    controller = next(
        d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualSCSIController)
    )
    disk = vim.vm.device.VirtualDisk(
        key=-1,
        controllerKey=controller.key,
        unitNumber=5,
        capacityInKB=1 << 20,
        backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
            fileName=f"[{datastore}] {vm_name}/{vm_name}_5.vmdk", diskMode="persistent"
        ),
    )
    change = vim.vm.device.VirtualDeviceSpec(operation="add", fileOperation="create", device=disk)
    ops.wait_for_task(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])))


def test_vcenter_states_become_findings_and_vhealth_rows(
    db: Database, box: SecretBox, vcsim: Any, tmp_path: Path
) -> None:
    server = vcsim(Topology(clusters=1, hosts_per_cluster=2, standalone_hosts=0, vms_per_host=4))
    si = ops.connect(server)
    set_vm_properties(si, "DC0_C0_RP0_VM0", **{"runtime.consolidationNeeded": True})
    set_vm_properties(si, "DC0_C0_RP0_VM1", **{"guest.toolsVersionStatus2": "guestToolsTooOld"})
    set_vm_properties(si, "DC0_C0_RP0_VM2", overallStatus="red", **{"config.version": "vmx-10"})
    # vcsim's VMs come with their host's drive connected (VM0, VM3); VM1's holds an ISO,
    # VM2's is disconnected: no claim.
    ops.insert_iso(si, "DC0_C0_RP0_VM1", "[LocalDS_0] iso/rhel-9.iso", connected=True)
    ops.insert_iso(si, "DC0_C0_RP0_VM2", "[LocalDS_0] iso/old.iso")
    # A datastore only the host of VM3 mounts, a disk of VM3 on it; then VM3 moves to the
    # cluster's other host (vcsim, like vCenter, takes a disk only on its host's datastores).
    moved = "DC0_C0_RP0_VM3"
    host = ops.properties(si, ops.find_vm(si, moved), ["runtime.host"])["runtime.host"]
    other = next(h.name for h in host.parent.host if h.name != host.name)
    (tmp_path / "local" / moved).mkdir(parents=True)
    host.configManager.datastoreSystem.CreateLocalDatastore("local", str(tmp_path / "local"))
    add_disk_on(si, moved, "local")
    ops.relocate_vm(si, moved, other)

    vc = new_integration(db, box, server)
    assert sync(db, vc, server).succeeded
    found = {(f.rule, f.object_name, f.severity) for f in findings(db, vc)}
    checked = {
        "consolidation_needed",
        "guest_tools_outdated",
        "overall_status",
        "hardware_version_old",
        "disk_datastore_not_on_host",
        "vm_cdrom_connected",
    }
    assert {f for f in found if f[0] in checked} == {
        ("consolidation_needed", "DC0_C0_RP0_VM0", "warning"),
        ("guest_tools_outdated", "DC0_C0_RP0_VM1", "warning"),
        ("overall_status", "DC0_C0_RP0_VM2", "critical"),
        ("hardware_version_old", "DC0_C0_RP0_VM2", "info"),
        ("disk_datastore_not_on_host", moved, "critical"),
        ("vm_cdrom_connected", "DC0_C0_RP0_VM0", "warning"),
        ("vm_cdrom_connected", "DC0_C0_RP0_VM1", "warning"),
        ("vm_cdrom_connected", moved, "warning"),
    }
    drives = {f.object_name: f.message for f in findings(db, vc) if f.rule == "vm_cdrom_connected"}
    # vcsim labels drives cdrom-<key>
    assert drives["DC0_C0_RP0_VM1"].startswith("cdrom-")
    assert drives["DC0_C0_RP0_VM1"].endswith(
        " is connected to the ISO image [LocalDS_0] iso/rhel-9.iso"
    )
    assert " is connected to the device cdrom-" in drives["DC0_C0_RP0_VM0"]
    assert not {rule for rule, _, _ in found} & {"datastore_too_many_vms", "datastore_inaccessible"}

    # Four VMs on LocalDS_0: above a limit of three.
    thresholds = Thresholds(datastore_vm_max=3)
    now = utcnow()
    refresh_findings(db, vc, thresholds, now=now)
    crowded = [f for f in findings(db, vc) if f.rule == "datastore_too_many_vms"]
    assert [(f.object_name, f.message) for f in crowded] == [("LocalDS_0", "4 VMs: more than 3")]
    with snapshot_connection(db) as conn:
        scope = resolve_scope(conn, None, now, thresholds)
        rows = [row for cells, _ in VHEALTH.chunks(conn, scope, 100) for row in cells]
    assert sorted((r[7], r[0], r[1]) for r in rows) == sorted(
        (f.rule, f.object_name, f.message) for f in findings(db, vc)
    )
