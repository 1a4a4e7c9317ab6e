"""Usage figures (vCenter quickStats) through the real sync engine, on both backends: stored
beside the inventory, never compared, sampled per full sync, and the idle VM finding."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from iroa.config import Settings, get_settings
from iroa.connectors.base import (
    Delta,
    HostRecord,
    Snapshot,
    SourceInfo,
    VmRecord,
)
from iroa.db.engine import Database
from iroa.findings.catalog import describe_conditions
from iroa.findings.models import Finding
from iroa.findings.rules import Thresholds
from iroa.history.models import Change
from iroa.integrations.models import Integration
from iroa.inventory.listing import ListParams, list_page, sortable_fields
from iroa.inventory.models import UsageLatest, VmCpuSample
from iroa.paging import InvalidQueryError
from iroa.sync.delta import sync_delta
from iroa.sync.engine import run_sync
from iroa.sync.forget import delete_integration
from iroa.sync.policy import SyncPolicy
from tests.findings.estate import StaticConnector

HOST_MHZ = 2000
"""Each VM has 2 vCPUs on a 2,000 MHz host: 4,000 MHz, of which 5% (the default) is 200."""


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def add_integration(db: Database) -> int:
    with db.write_session() as session:
        integration = Integration(kind="vcenter", name="vc", url="https://vc.example", options={})
        session.add(integration)
        session.flush()
        return integration.id


def estate(cpu: dict[str, int | None], *, off: frozenset[str] = frozenset()) -> Snapshot:
    """One host and a VM per entry of ``cpu`` (its CPU use in MHz); the other figures
    follow it, so each read differs from the one before."""
    vms = [
        VmRecord(
            external_id=vm_id,
            name=vm_id.upper(),
            host_external_id="host-1",
            power_state="off" if vm_id in off else "on",
            num_cpu=2,
            memory_mib=4096,
            cpu_used_mhz=mhz,
            guest_memory_used_mib=None if mhz is None else mhz + 1,
            host_memory_used_mib=None if mhz is None else mhz + 2,
            uptime_s=None if mhz is None else mhz * 10,
        )
        for vm_id, mhz in cpu.items()
    ]
    total = sum(mhz or 0 for mhz in cpu.values())
    host = HostRecord(
        "host-1",
        "esx1",
        cpu_mhz=HOST_MHZ,
        cpu_cores=8,
        memory_mib=65536,
        cpu_used_mhz=total,
        memory_used_mib=total + 3,
        uptime_s=86400 + total,
    )
    return Snapshot(source=SourceInfo("vc", "test"), hosts=[host], vms=vms)


def sync(db: Database, integration_id: int, snapshot: Snapshot, policy: SyncPolicy) -> None:
    result = run_sync(db, integration_id, StaticConnector(snapshot), policy=policy)
    assert result.succeeded, result.error


def latest(db: Database, integration_id: int) -> dict[tuple[str, str], tuple[object, ...]]:
    with db.session() as session:
        rows = session.execute(
            select(
                UsageLatest.object_type,
                UsageLatest.external_id,
                UsageLatest.cpu_used_mhz,
                UsageLatest.memory_used_mib,
                UsageLatest.guest_memory_used_mib,
                UsageLatest.host_memory_used_mib,
                UsageLatest.uptime_s,
            ).where(UsageLatest.integration_id == integration_id)
        ).all()
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def samples(db: Database, integration_id: int) -> dict[str, list[int]]:
    with db.session() as session:
        rows = session.execute(
            select(VmCpuSample.external_id, VmCpuSample.cpu_used_mhz)
            .where(VmCpuSample.integration_id == integration_id)
            .order_by(VmCpuSample.run_id)
        ).all()
    found: dict[str, list[int]] = {}
    for external_id, mhz in rows:
        found.setdefault(external_id, []).append(mhz)
    return found


def idle(db: Database, integration_id: int) -> dict[str, str]:
    with db.session() as session:
        rows = session.execute(
            select(Finding.object_external_id, Finding.message).where(
                Finding.integration_id == integration_id,
                Finding.rule == "vm_idle",
                Finding.resolved_at.is_(None),
            )
        ).all()
    return dict(rows)  # type: ignore[arg-type]


def changes(db: Database) -> int:
    with db.session() as session:
        return int(session.execute(select(func.count(Change.id))).scalar_one())


def test_usage_is_stored_apart_and_never_a_change(db: Database) -> None:
    vc = add_integration(db)
    policy = SyncPolicy()
    sync(db, vc, estate({"vm-1": 100, "vm-2": None}), policy)
    added = changes(db)
    assert latest(db, vc) == {
        ("vm", "vm-1"): (100, None, 101, 102, 1000),
        ("host", "host-1"): (100, 103, None, None, 86500),
    }
    for mhz in (150, 180, 120):
        result = run_sync(db, vc, StaticConnector(estate({"vm-1": mhz, "vm-2": None})))
        assert result.succeeded
        assert all(not c["modified"] for c in result.counts.values()), result.counts
    assert changes(db) == added, "usage figures made change rows"
    assert latest(db, vc)[("vm", "vm-1")] == (120, None, 121, 122, 1200)
    assert samples(db, vc) == {"vm-1": [100, 150, 180, 120]}


def rows_of(db: Database, integration_id: int) -> dict[str, tuple[int, int]]:
    """The id and run of each VM's and host's row of latest figures."""
    with db.session() as session:
        rows = session.execute(
            select(UsageLatest.external_id, UsageLatest.id, UsageLatest.run_id).where(
                UsageLatest.integration_id == integration_id
            )
        ).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def read_at(db: Database) -> dict[str, datetime | None]:
    """When each VM's and host's figures were read, as their list items say."""
    items: list[Mapping[str, Any]] = [
        *list_page(db, "vms", ListParams()).items,
        *list_page(db, "hosts", ListParams()).items,
    ]
    return {item["external_id"]: item["usage_sampled_at"] for item in items}


def test_a_full_sync_writes_only_the_figures_that_changed(db: Database) -> None:
    vc = add_integration(db)
    sync(db, vc, estate({"vm-1": 10, "vm-2": 20, "vm-3": 30}), SyncPolicy())
    before = rows_of(db, vc)
    sync(db, vc, estate({"vm-1": 10, "vm-2": 25, "vm-3": None}), SyncPolicy())
    after = rows_of(db, vc)
    assert after["vm-1"] == before["vm-1"], "unchanged figures were written again"
    assert after["vm-2"][0] == before["vm-2"][0] and after["vm-2"][1] > before["vm-2"][1]
    assert after["host-1"][1] > before["host-1"][1]  # its figures follow the VMs'
    assert "vm-3" not in after  # read without figures
    figures = latest(db, vc)
    assert figures[("vm", "vm-1")] == (10, None, 11, 12, 100)
    assert figures[("vm", "vm-2")] == (25, None, 26, 27, 250)
    # Unchanged or not, every figure was read by the last sync, and says so.
    with db.session() as session:
        last = session.execute(select(Integration.last_success_at)).scalar_one()
    assert read_at(db) == {"vm-1": last, "vm-2": last, "vm-3": None, "host-1": last}
    assert samples(db, vc) == {"vm-1": [10, 10], "vm-2": [20, 25], "vm-3": [30]}


def test_a_watched_change_after_a_full_sync_shows_its_own_time(db: Database) -> None:
    vc = add_integration(db)
    sync(db, vc, estate({"vm-1": 10, "vm-2": 20}), SyncPolicy())
    full = read_at(db)["vm-2"]
    read = estate({"vm-1": 10})  # read again by a watcher: figures as they were
    delta = Delta(dataclasses.replace(read, hosts=[]), {"vm": frozenset({"vm-1"})})
    assert sync_delta(db, vc, delta, SyncPolicy()).succeeded
    shown = read_at(db)
    watched = shown["vm-1"]
    assert shown["vm-2"] == full
    assert watched is not None and full is not None and watched > full
    # The next full sync read them all again: unchanged, they show its time.
    sync(db, vc, estate({"vm-1": 10, "vm-2": 20}), SyncPolicy())
    again = read_at(db)
    assert again["vm-1"] is not None and again["vm-1"] == again["vm-2"]
    assert again["vm-1"] > watched


def test_samples_keep_the_last_syncs_and_only_running_vms(db: Database) -> None:
    vc = add_integration(db)
    policy = SyncPolicy(thresholds=Thresholds(idle_syncs=3))
    for mhz in (10, 20, 30, 40, 50):
        sync(db, vc, estate({"vm-1": mhz, "vm-off": 7}, off=frozenset({"vm-off"})), policy)
    assert samples(db, vc) == {"vm-1": [30, 40, 50]}
    # A powered-off VM keeps its latest figures (vCenter reports zeros) but gives no sample.
    assert ("vm", "vm-off") in latest(db, vc)


def test_vms_gone_lose_their_latest_figures(db: Database) -> None:
    vc = add_integration(db)
    sync(db, vc, estate({"vm-1": 10, "vm-2": 20}), SyncPolicy())
    sync(db, vc, estate({"vm-1": 10}), SyncPolicy())
    assert {key for key in latest(db, vc) if key[0] == "vm"} == {("vm", "vm-1")}


def test_a_watched_change_replaces_the_latest_figures_of_what_it_read(db: Database) -> None:
    vc = add_integration(db)
    sync(db, vc, estate({"vm-1": 10, "vm-2": 20}), SyncPolicy())
    before = changes(db)
    read = estate({"vm-1": 999})
    renamed = dataclasses.replace(read.vms[0], name="RENAMED")
    delta = Delta(
        dataclasses.replace(read, hosts=[], vms=[renamed]),
        {"vm": frozenset({"vm-1", "vm-2"})},  # vm-2 is gone
    )
    assert sync_delta(db, vc, delta, SyncPolicy()).succeeded
    figures = latest(db, vc)
    assert figures[("vm", "vm-1")] == (999, None, 1000, 1001, 9990)
    assert ("vm", "vm-2") not in figures
    assert figures[("host", "host-1")][0] == 30  # untouched: as the full sync read it
    assert samples(db, vc) == {"vm-1": [10], "vm-2": [20]}  # samples come from full syncs
    assert changes(db) == before + 2  # the rename and the removal, nothing for the figures


def test_idle_vms_need_enough_low_samples(db: Database) -> None:
    vc = add_integration(db)
    policy = SyncPolicy()  # under 5% of 4,000 MHz, at least 3 of the last 6 syncs
    reads = [
        {"vm-idle": 20, "vm-busy": 20, "vm-spiky": 20, "vm-late": None},
        {"vm-idle": 150, "vm-busy": 3000, "vm-spiky": 20, "vm-late": None},
        {"vm-idle": 199, "vm-busy": 2500, "vm-spiky": 400, "vm-late": 10},
    ]
    for n, cpu in enumerate(reads, start=1):
        sync(db, vc, estate(cpu), policy)
        if n < 3:
            assert idle(db, vc) == {}, "fewer samples than the minimum"
    found = idle(db, vc)
    assert set(found) == {"vm-idle"}
    assert found["vm-idle"] == (
        "CPU use at most 199 MHz at each of the last 3 syncs: under 5% of its 2 vCPUs "
        "at 2,000 MHz (4,000 MHz)"
    )
    # Powered off, it is no longer an idle running VM.
    sync(db, vc, estate({**reads[-1], "vm-idle": 0}, off=frozenset({"vm-idle"})), policy)
    assert idle(db, vc) == {}


def test_idle_threshold_window_and_minimum_come_from_settings(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IROA_FINDINGS_IDLE_CPU_PCT", "50")
    monkeypatch.setenv("IROA_FINDINGS_IDLE_SYNCS", "2")
    monkeypatch.setenv("IROA_FINDINGS_IDLE_MIN_SAMPLES", "2")
    policy = SyncPolicy.from_settings(Settings())
    assert policy.thresholds.idle_cpu_pct == 50
    vc = add_integration(db)
    sync(db, vc, estate({"vm-1": 3900}), policy)  # busy, then out of the window of 2
    sync(db, vc, estate({"vm-1": 1900}), policy)
    assert idle(db, vc) == {}
    sync(db, vc, estate({"vm-1": 1000}), policy)
    assert set(idle(db, vc)) == {"vm-1"}
    assert (
        "under 50% of its vCPUs' capacity at each of its samples (at least 2) of the last 2"
        in (describe_conditions(policy.thresholds)["vm_idle"])
    )


def test_deleting_the_integration_deletes_its_figures(db: Database) -> None:
    vc = add_integration(db)
    sync(db, vc, estate({"vm-1": 10}), SyncPolicy())
    delete_integration(db, vc)
    assert latest(db, vc) == {} and samples(db, vc) == {}


def test_lists_sort_by_usage_and_items_carry_it(db: Database) -> None:
    vc = add_integration(db)
    sync(db, vc, estate({"vm-a": 300, "vm-b": None, "vm-c": 100, "vm-d": 200}), SyncPolicy())
    first = list_page(db, "vms", ListParams(sort="-cpu_used_mhz", limit=2))
    assert [(i["name"], i["cpu_used_mhz"]) for i in first.items] == [("VM-A", 300), ("VM-D", 200)]
    assert first.items[0]["guest_memory_used_mib"] == 301
    assert first.items[0]["uptime_s"] == 3000
    assert first.items[0]["usage_sampled_at"] is not None
    rest = list_page(db, "vms", ListParams(sort="-cpu_used_mhz", limit=2, cursor=first.next_cursor))
    assert [i["name"] for i in rest.items] == ["VM-C", "VM-B"]  # unknown last
    ascending = list_page(db, "vms", ListParams(sort="host_memory_used_mib"))
    assert [i["name"] for i in ascending.items] == ["VM-C", "VM-D", "VM-A", "VM-B"]
    hosts = list_page(db, "hosts", ListParams(sort="-memory_used_mib")).items
    assert [(h["cpu_used_mhz"], h["memory_used_mib"], h["uptime_s"]) for h in hosts] == [
        (600, 603, 87000)
    ]
    with pytest.raises(InvalidQueryError, match="cannot sort hosts by 'guest_memory_used_mib'"):
        list_page(db, "hosts", ListParams(sort="guest_memory_used_mib"))
    assert "cpu_used_mhz" in sortable_fields("vms") and "uptime_s" in sortable_fields("hosts")
