"""Every health rule on purpose-built estates, through the real sync engine, on both backends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from iroa.config import Settings, get_settings
from iroa.connectors.base import VmPartitionRecord
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.findings.catalog import RULES
from iroa.findings.models import Finding
from iroa.findings.rules import Thresholds
from iroa.findings.service import refresh_all_findings, refresh_findings
from iroa.integrations.models import Integration
from iroa.inventory.models import Vm
from iroa.sync.engine import run_sync
from iroa.sync.policy import SyncPolicy
from iroa.sync.runs import SyncResult
from tests.findings.estate import GIB, StaticConnector, hyperv_estate, vcenter_estate

VCENTER_FINDINGS = {
    ("cpu_overcommit", "cluster", "Busy", "warning"),
    ("cpu_overcommit", "host", "esx-lonely", "warning"),
    ("memory_overcommit", "cluster", "Busy", "warning"),
    ("host_unreachable", "host", "esx-lonely", "critical"),
    ("host_in_maintenance", "host", "esx-calm", "info"),
    ("datastore_low_free_space", "datastore", "ds-warn", "warning"),
    ("datastore_low_free_space", "datastore", "ds-crit", "critical"),
    ("snapshot_too_old", "vm", "VM-SNAP-OLD", "warning"),
    ("snapshot_too_many", "vm", "VM-SNAP-MANY", "warning"),
    ("guest_tools_not_running", "vm", "VM-TOOLS-OFF", "warning"),
    ("guest_tools_outdated", "vm", "VM-TOOLS-OLD", "info"),
    ("guest_tools_outdated", "vm", "VM-TOOLS-TOO-OLD", "warning"),
    ("consolidation_needed", "vm", "VM-CONSOLIDATE", "warning"),
    ("hardware_version_old", "vm", "VM-OLD-HW", "info"),
    ("overall_status", "vm", "VM-ALARM", "critical"),
    ("overall_status", "host", "esx-busy", "warning"),
    ("overall_status", "cluster", "Calm", "critical"),
    ("overall_status", "datastore", "ds-crowded", "warning"),
    ("datastore_inaccessible", "datastore", "ds-gone", "critical"),
    ("datastore_too_many_vms", "datastore", "ds-crowded", "warning"),
    ("disk_datastore_not_on_host", "vm", "VM-MISPLACED", "critical"),
    ("vm_cdrom_connected", "vm", "VM-CD", "warning"),
    ("guest_partition_low_free_space", "vm", "VM-FULL", "critical"),
    ("guest_partition_low_free_space", "vm", "VM-FILLING", "warning"),
}
THRESHOLD_FREE = {
    (rule, name, severity)
    for rule, _, name, severity in VCENTER_FINDINGS
    if rule
    in {
        "host_unreachable",
        "host_in_maintenance",
        "guest_tools_not_running",
        "guest_tools_outdated",
        "consolidation_needed",
        "overall_status",
        "datastore_inaccessible",
        "disk_datastore_not_on_host",
        "vm_cdrom_connected",
    }
}
"""The vCenter findings no threshold decides."""
HYPERV_FINDINGS = {
    ("host_unreachable", "host", "HV-NODE1", "critical"),
    ("host_in_maintenance", "host", "HV-NODE2", "info"),
    ("datastore_low_free_space", "datastore", "Volume1", "critical"),
    ("guest_tools_not_running", "vm", "hv-silent", "warning"),
    ("guest_tools_outdated", "vm", "hv-old-is", "info"),
    ("vm_cdrom_connected", "vm", "hv-old-is", "warning"),
}


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    """Settings are read once per process: each test reads its own environment."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def add_integration(db: Database, kind: str, name: str) -> int:
    with db.write_session() as session:
        integration = Integration(kind=kind, name=name, url=f"https://{name}.example", options={})
        session.add(integration)
        session.flush()
        return integration.id


def sync(db: Database, integration_id: int, snapshot: Any, **kw: Any) -> SyncResult:
    result = run_sync(db, integration_id, StaticConnector(snapshot), **kw)
    assert result.succeeded, result.error
    return result


def findings(db: Database, integration_id: int, *, open_only: bool = True) -> list[Finding]:
    stmt = select(Finding).where(Finding.integration_id == integration_id).order_by(Finding.id)
    if open_only:
        stmt = stmt.where(Finding.resolved_at.is_(None))
    with db.session() as session:
        return list(session.scalars(stmt))


def summary(found: list[Finding]) -> set[tuple[str, str, str | None, str]]:
    return {(f.rule, f.object_type, f.object_name, f.severity) for f in found}


def test_each_vcenter_rule_holds_after_a_sync(db: Database) -> None:
    vc = add_integration(db, "vcenter", "vc")
    sync(db, vc, vcenter_estate(utcnow()))
    found = findings(db, vc)
    assert summary(found) == VCENTER_FINDINGS
    by_rule = {(f.rule, f.object_name): f for f in found}
    assert by_rule[("cpu_overcommit", "Busy")].message.startswith("4.50 vCPUs per core (18 vCPUs")
    assert by_rule[("cpu_overcommit", "esx-lonely")].message.startswith("8.00 vCPUs per core")
    assert by_rule[("memory_overcommit", "Busy")].message.startswith("memory overcommit 1.50")
    assert by_rule[("datastore_low_free_space", "ds-crit")].message == (
        "5.0% free (5.0 GiB of 100.0 GiB): below 10%"
    )
    assert by_rule[("datastore_low_free_space", "ds-warn")].message.endswith("below 20%")
    assert by_rule[("snapshot_too_old", "VM-SNAP-OLD")].message.endswith("older than 7 days")
    assert by_rule[("snapshot_too_many", "VM-SNAP-MANY")].message == "4 snapshots: more than 3"
    assert "toolsNotRunning" in by_rule[("guest_tools_not_running", "VM-TOOLS-OFF")].message
    assert by_rule[("host_unreachable", "esx-lonely")].message == (
        "connection state is notResponding"
    )
    assert by_rule[("guest_tools_outdated", "VM-TOOLS-TOO-OLD")].message == (
        "VMware Tools need an update: guestToolsTooOld"
    )
    assert by_rule[("hardware_version_old", "VM-OLD-HW")].message == (
        "virtual hardware version vmx-10: below vmx-13"
    )
    assert by_rule[("datastore_too_many_vms", "ds-crowded")].message == "31 VMs: more than 30"
    assert by_rule[("overall_status", "esx-busy")].message.startswith("vCenter status is yellow")
    assert by_rule[("disk_datastore_not_on_host", "VM-MISPLACED")].message == (
        "a disk on ds-local, which its host esx-calm does not mount"
    )
    assert by_rule[("vm_cdrom_connected", "VM-CD")].message == (
        "CD/DVD drive 1 is connected to the ISO image [ds-ok] iso/rhel-9.4.iso; "
        "CD/DVD drive 2 is connected to the device /vmfs/devices/cdrom/mpx.vmhba0:C0:T0:L0; "
        "CD/DVD drive 3 is connected to a device it does not name"
    )
    assert by_rule[("guest_partition_low_free_space", "VM-FULL")].message == (
        "C:\\ 2.5% free (1.0 GiB of 40.0 GiB): below 5%; "
        "D:\\ 8.0% free (8.0 GiB of 100.0 GiB): below 10%"
    )
    assert by_rule[("guest_partition_low_free_space", "VM-FILLING")].message == (
        "/boot 9.0% free (92 MiB of 1.0 GiB): below 10%"
    )
    for f in found:
        assert f.first_seen_at == f.last_seen_at and f.resolved_at is None
        assert f.object_external_id and f.object_id > 0


def test_each_hyperv_rule_holds_after_a_sync(db: Database) -> None:
    hv = add_integration(db, "hyperv", "hv")
    sync(db, hv, hyperv_estate())
    found = findings(db, hv)
    assert summary(found) == HYPERV_FINDINGS
    silent = next(f for f in found if f.rule == "guest_tools_not_running")
    assert silent.message == "Hyper-V integration services report no state on a running VM"
    dvd = next(f for f in found if f.rule == "vm_cdrom_connected")
    assert dvd.message == (
        "DVD Drive on IDE controller number 1 at location 0 is connected to the ISO image "
        "C:\\ISO\\WindowsServer2022.ISO"
    )


def test_a_partition_finding_names_the_fullest_partitions_and_follows_them(
    db: Database,
) -> None:
    """One finding per VM: the three fullest partitions named, the rest counted; the same
    finding turns warning when the critical partition gets space back."""
    vc = add_integration(db, "vcenter", "vc")
    estate = vcenter_estate(utcnow())
    crowded = [
        VmPartitionRecord(f"vm-full:partition:/mnt/{i}", "vm-full", f"/mnt/{i}", 100 * GIB, i * GIB)
        for i in (4, 6, 7, 9)
    ]
    sync(db, vc, dataclasses.replace(estate, vm_partitions=[*estate.vm_partitions, *crowded]))
    [before] = [f for f in findings(db, vc) if f.object_name == "VM-FULL"]
    assert (before.severity, before.message) == (
        "critical",
        "C:\\ 2.5% free (1.0 GiB of 40.0 GiB): below 5%; "
        "/mnt/4 4.0% free (4.0 GiB of 100.0 GiB): below 5%; "
        "/mnt/6 6.0% free (6.0 GiB of 100.0 GiB): below 10%; and 3 more below 10%",
    )
    roomier = [
        dataclasses.replace(p, free_bytes=p.capacity_bytes)
        if p.disk_path in ("C:\\", "/mnt/4") and p.capacity_bytes
        else p
        for p in (*estate.vm_partitions, *crowded)
    ]
    sync(db, vc, dataclasses.replace(estate, vm_partitions=roomier))
    [after] = [f for f in findings(db, vc) if f.object_name == "VM-FULL"]
    assert after.id == before.id
    assert (after.severity, after.message) == (
        "warning",
        "/mnt/6 6.0% free (6.0 GiB of 100.0 GiB): below 10%; "
        "/mnt/7 7.0% free (7.0 GiB of 100.0 GiB): below 10%; "
        "D:\\ 8.0% free (8.0 GiB of 100.0 GiB): below 10%; and 1 more below 10%",
    )
    sync(db, vc, estate)  # the mounts are gone: removed partitions are no claim
    [gone] = [f for f in findings(db, vc) if f.object_name == "VM-FULL"]
    assert (gone.id, gone.message) == (
        before.id,
        "C:\\ 2.5% free (1.0 GiB of 40.0 GiB): below 5%; "
        "D:\\ 8.0% free (8.0 GiB of 100.0 GiB): below 10%",
    )


def test_integrations_are_evaluated_apart(db: Database) -> None:
    vc = add_integration(db, "vcenter", "vc")
    hv = add_integration(db, "hyperv", "hv")
    sync(db, vc, vcenter_estate(utcnow()))
    sync(db, hv, hyperv_estate())
    sync(db, hv, hyperv_estate(fixed=True))
    assert summary(findings(db, vc)) == VCENTER_FINDINGS
    assert findings(db, hv) == []


def test_findings_resolve_when_the_condition_ends_and_reopen_as_new(db: Database) -> None:
    vc = add_integration(db, "vcenter", "vc")
    sync(db, vc, vcenter_estate(utcnow()))
    first = {(f.rule, f.object_id): f for f in findings(db, vc)}
    sync(db, vc, vcenter_estate(utcnow()))
    second = {(f.rule, f.object_id): f for f in findings(db, vc)}
    assert second.keys() == first.keys()
    for key, finding in second.items():
        assert finding.id == first[key].id
        assert finding.first_seen_at == first[key].first_seen_at
        assert finding.last_seen_at > first[key].last_seen_at
    sync(db, vc, vcenter_estate(utcnow(), fixed=True))
    assert findings(db, vc) == []
    resolved = findings(db, vc, open_only=False)
    assert len(resolved) == len(first)
    assert all(f.resolved_at is not None and f.resolved_at >= f.last_seen_at for f in resolved)
    sync(db, vc, vcenter_estate(utcnow()))
    reopened = findings(db, vc)
    assert summary(reopened) == VCENTER_FINDINGS
    assert not {f.id for f in reopened} & {f.id for f in resolved}
    assert len(findings(db, vc, open_only=False)) == 2 * len(first)


def test_severity_and_message_follow_the_object_in_the_same_finding(db: Database) -> None:
    vc = add_integration(db, "vcenter", "vc")
    estate = vcenter_estate(utcnow())
    sync(db, vc, estate)
    before = next(f for f in findings(db, vc) if f.object_name == "ds-warn")
    worse = [
        dataclasses.replace(d, free_bytes=2 << 30) if d.name == "ds-warn" else d
        for d in estate.datastores
    ]
    sync(db, vc, dataclasses.replace(estate, datastores=worse))
    after = next(f for f in findings(db, vc) if f.object_name == "ds-warn")
    assert after.id == before.id
    assert (before.severity, after.severity) == ("warning", "critical")
    assert after.severity_level == 3 and after.message.startswith("2.0% free")


def test_removed_objects_lose_their_findings(db: Database) -> None:
    hv = add_integration(db, "hyperv", "hv")
    estate = hyperv_estate()
    sync(db, hv, estate)
    without = dataclasses.replace(estate, vms=[v for v in estate.vms if v.name != "hv-silent"])
    sync(db, hv, without)
    assert "guest_tools_not_running" not in {f.rule for f in findings(db, hv)}


def test_vm_powered_off_long_counts_from_the_power_change(db: Database) -> None:
    vc = add_integration(db, "vcenter", "vc")
    hv = add_integration(db, "hyperv", "hv")
    sync(db, vc, vcenter_estate(utcnow(), fixed=True))  # VM-OFF is on
    sync(db, vc, vcenter_estate(utcnow()))  # … and now off: a change records it
    sync(db, hv, hyperv_estate())  # hv-off was off when first seen
    thresholds = Thresholds()
    for integration_id in (vc, hv):
        refresh_findings(db, integration_id, thresholds, now=utcnow() + timedelta(days=29))
        assert "vm_powered_off_long" not in {f.rule for f in findings(db, integration_id)}
    today = utcnow().strftime("%Y-%m-%d")
    refresh_findings(db, vc, thresholds, now=utcnow() + timedelta(days=31))
    off = [f for f in findings(db, vc) if f.rule == "vm_powered_off_long"]
    assert [(f.object_name, f.message) for f in off] == [
        ("VM-OFF", f"powered off since {today}: over 30 days")
    ]
    refresh_findings(db, hv, thresholds, now=utcnow() + timedelta(days=31))
    off = [f for f in findings(db, hv) if f.rule == "vm_powered_off_long"]
    assert [(f.object_name, f.message) for f in off] == [
        ("hv-off", f"powered off since at least {today}, when IROA first saw it: over 30 days")
    ]


def test_powered_off_clock_restarts_when_the_vm_runs_again(db: Database) -> None:
    vc = add_integration(db, "vcenter", "vc")
    sync(db, vc, vcenter_estate(utcnow()))
    with db.write_session() as session:  # IROA has known this VM, off, for 60 days
        session.execute(
            update(Vm).where(Vm.name == "VM-OFF").values(first_seen_at=utcnow() - timedelta(60))
        )
    refresh_findings(db, vc, Thresholds())
    assert "vm_powered_off_long" in {f.rule for f in findings(db, vc)}
    sync(db, vc, vcenter_estate(utcnow(), fixed=True))
    sync(db, vc, vcenter_estate(utcnow()))
    assert "vm_powered_off_long" not in {f.rule for f in findings(db, vc)}


def test_thresholds_come_from_settings(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IROA_FINDINGS_SNAPSHOT_MAX_COUNT", "4")
    monkeypatch.setenv("IROA_FINDINGS_SNAPSHOT_MAX_AGE_DAYS", "45")
    monkeypatch.setenv("IROA_FINDINGS_DATASTORE_FREE_WARNING_PCT", "60")
    monkeypatch.setenv("IROA_FINDINGS_DATASTORE_FREE_CRITICAL_PCT", "16")
    monkeypatch.setenv("IROA_FINDINGS_VCPU_PER_CORE_MAX", "10")
    monkeypatch.setenv("IROA_FINDINGS_MEMORY_OVERCOMMIT_MAX", "1.6")
    monkeypatch.setenv("IROA_FINDINGS_DATASTORE_VM_MAX", "40")
    monkeypatch.setenv("IROA_FINDINGS_HARDWARE_VERSION_MIN", "21")
    monkeypatch.setenv("IROA_FINDINGS_PARTITION_FREE_WARNING_PCT", "60")
    monkeypatch.setenv("IROA_FINDINGS_PARTITION_FREE_CRITICAL_PCT", "8.5")
    vc = add_integration(db, "vcenter", "vc")
    sync(db, vc, vcenter_estate(utcnow()), policy=SyncPolicy.from_settings(Settings()))
    found = summary(findings(db, vc))
    assert {(rule, name, severity) for rule, _, name, severity in found} == {
        ("datastore_low_free_space", "ds-ok", "warning"),
        ("datastore_low_free_space", "ds-warn", "critical"),
        ("datastore_low_free_space", "ds-crit", "critical"),
        ("hardware_version_old", "VM-OLD-HW", "info"),
        ("hardware_version_old", "VM-OK", "info"),
        ("guest_partition_low_free_space", "VM-FULL", "critical"),
        ("guest_partition_low_free_space", "VM-FILLING", "warning"),
        ("guest_partition_low_free_space", "VM-OK", "warning"),
        *THRESHOLD_FREE,
    }


def test_thresholds_read_every_setting() -> None:
    settings = Settings(
        findings_snapshot_max_age_days=1,
        findings_snapshot_max_count=2,
        findings_datastore_free_warning_pct=30,
        findings_datastore_free_critical_pct=3,
        findings_powered_off_days=5,
        findings_vcpu_per_core_max=6,
        findings_memory_overcommit_max=1.5,
        findings_datastore_vm_max=7,
        findings_hardware_version_min=15,
        findings_idle_cpu_pct=7.5,
        findings_idle_syncs=4,
        findings_idle_min_samples=2,
        findings_partition_free_warning_pct=12,
        findings_partition_free_critical_pct=2,
    )
    assert Thresholds.from_settings(settings) == Thresholds(
        1, 2, 30, 3, 5, 6, 1.5, 7, 15, 7.5, 4, 2, 12, 2
    )
    assert Thresholds.from_settings(Settings()) == Thresholds()


def test_monitoring_rules_hold_for_nothing_without_monitoring(db: Database) -> None:
    monitoring = {
        "vm_not_in_zabbix",
        "vm_zabbix_problems",
        "vm_without_prometheus_metrics",
        "host_not_in_zabbix",
        "host_zabbix_problems",
    }
    assert monitoring <= {rule.id for rule in RULES if rule.active}
    vc = add_integration(db, "vcenter", "vc")
    zbx = add_integration(db, "zabbix", "zbx")  # never synced: no claim either
    sync(db, vc, vcenter_estate(utcnow()))
    assert zbx and not {f.rule for f in findings(db, vc)} & monitoring


def test_a_failed_refresh_does_not_fail_the_sync(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("rule exploded")

    monkeypatch.setattr("iroa.sync.engine.refresh_findings", broken)
    vc = add_integration(db, "vcenter", "vc")
    result = run_sync(db, vc, StaticConnector(vcenter_estate(utcnow())))
    assert result.succeeded
    assert findings(db, vc) == []
    assert "refreshing health findings failed" in caplog.text


def test_refresh_all_applies_new_thresholds_to_every_integration(db: Database) -> None:
    vc = add_integration(db, "vcenter", "vc")
    hv = add_integration(db, "hyperv", "hv")
    add_integration(db, "zabbix", "zbx")  # not an inventory: not refreshed
    sync(db, vc, vcenter_estate(utcnow()))
    sync(db, hv, hyperv_estate())
    results = refresh_all_findings(db, Thresholds(datastore_free_critical_pct=1))
    assert set(results) == {"vc", "hv"}
    assert results["vc"].open == len(VCENTER_FINDINGS)
    severities = {f.object_name: f.severity for f in findings(db, vc) + findings(db, hv)}
    assert severities["ds-crit"] == "warning" and severities["Volume1"] == "warning"
