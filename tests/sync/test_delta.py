"""A watcher's delta writes what a full sync of the same state writes, on both backends.

Two integrations start from the same full snapshot; one then gets the next state as a
full snapshot, the other as a delta of the objects that changed. Their inventories and
their change rows must match, and a full sync after the delta must write nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from sqlalchemy import select

from iroa.connectors.base import (
    Delta,
    Snapshot,
    TagRecord,
    VmDatastoreRecord,
    VmDiskRecord,
    VmNetworkRecord,
    VmNicRecord,
    VmRecord,
)
from iroa.db.engine import Database
from iroa.db.locks import sync_lock
from iroa.history.models import Change
from iroa.inventory.queries import LISTABLE, list_objects
from iroa.inventory.types import OBJECT_TYPES
from iroa.sync.delta import DeltaScopeError, sync_delta
from iroa.sync.policy import SyncPolicy
from iroa.sync.runs import SyncAlreadyRunningError
from iroa.vocabulary import RunStatus
from tests.api.inventory_estate import add_inventory_integration, sync_snapshot, vcenter_snapshot

GIB = 1 << 30
VOLATILE = {"id", "first_seen_at", "last_seen_at", "removed_at", "integration"}
"""What differs between two integrations holding the same inventory (and ``*_id`` refs)."""


def restrict(snapshot: Snapshot, touched: dict[str, set[str]]) -> Delta:
    """The delta of ``snapshot`` for the touched objects: them, their parts and tags."""
    vms = touched.get("vm", set())
    pairs = {(name, ext) for name, ids in touched.items() for ext in ids}
    parts: dict[str, Any] = {}
    for object_type in OBJECT_TYPES:
        records = getattr(snapshot, object_type.plural)
        if object_type.primary:
            ids = touched.get(object_type.name, set())
            parts[object_type.plural] = [r for r in records if r.external_id in ids]
        elif hasattr(object_type.model, "vm_id"):
            parts[object_type.plural] = [r for r in records if r.vm_external_id in vms]
        else:
            parts[object_type.plural] = [
                r for r in records if (r.object_type, r.object_external_id) in pairs
            ]
    restricted = dataclasses.replace(snapshot, **parts)
    return Delta(restricted, {name: frozenset(ids) for name, ids in touched.items()})


def next_state(first: Snapshot) -> Snapshot:
    """``first`` with a resized, a renamed and moved, a removed and a new VM; a tag and a
    snapshot changed; a host out of maintenance."""
    vms = []
    for vm in first.vms:
        if vm.external_id == "vm-1":
            vm = dataclasses.replace(vm, num_cpu=8, memory_mib=16384)
        elif vm.external_id == "vm-2":
            vm = dataclasses.replace(
                vm, name="renamed-02", host_external_id="host-3", cluster_external_id="c-dev"
            )
        elif vm.external_id == "vm-23":
            continue
        vms.append(vm)
    vms.append(
        VmRecord(
            "vm-new",
            "fresh-vm",
            "dc-1",
            "c-prod",
            "host-1",
            "on",
            num_cpu=2,
            memory_mib=4096,
            ip_addresses=("10.9.0.1",),
        )
    )

    def kept(records: Any) -> list[Any]:
        return [r for r in records if getattr(r, "vm_external_id", None) != "vm-23"]

    return dataclasses.replace(
        first,
        hosts=[
            dataclasses.replace(h, in_maintenance=False) if h.external_id == "host-2" else h
            for h in first.hosts
        ],
        vms=vms,
        vm_disks=[
            *kept(first.vm_disks),
            VmDiskRecord("vm-new:2000", "vm-new", "Hard disk 1", "ds-1", 40 * GIB),
        ],
        vm_nics=[
            *kept(first.vm_nics),
            VmNicRecord("vm-new:4000", "vm-new", "Network adapter 1", "net-2", "dvPG-Backend"),
        ],
        vm_snapshots=[s for s in first.vm_snapshots if s.external_id != "vm-0:snap-2"],
        vm_datastores=[
            *kept(first.vm_datastores),
            VmDatastoreRecord("vm-new:ds-1", "vm-new", "ds-1"),
        ],
        vm_networks=[*kept(first.vm_networks), VmNetworkRecord("vm-new:net-2", "vm-new", "net-2")],
        tags=[
            *(
                dataclasses.replace(t, value="weekly") if t.key == "backup" else t
                for t in first.tags
            ),
            TagRecord("vm:vm-new:101", "vm", "vm-new", "owner", "team-b"),
        ],
    )


TOUCHED = {"vm": {"vm-0", "vm-1", "vm-2", "vm-23", "vm-new"}, "host": {"host-2"}}


def _is_ref(key: str) -> bool:
    return key.endswith("_id") and key != "external_id"


def inventory(db: Database, integration: str) -> dict[str, list[dict[str, Any]]]:
    return {
        plural: sorted(
            (
                {
                    k: v
                    for k, v in row.items()
                    if k not in VOLATILE and (k == "external_id" or not k.endswith("_id"))
                }
                for row in list_objects(db, plural, integration=integration, include_removed=True)
            ),
            key=lambda row: row["external_id"],
        )
        for plural in LISTABLE
    }


def changes_of(db: Database, run_id: int) -> list[tuple[Any, ...]]:
    with db.session() as session:
        rows = session.execute(
            select(Change.object_type, Change.external_id, Change.action, Change.fields).where(
                Change.sync_run_id == run_id
            )
        ).all()
    return sorted((t, e, a, repr(sorted((f or {}).items()))) for t, e, a, f in rows)


def test_a_delta_writes_what_a_full_sync_writes(db: Database) -> None:
    first = vcenter_snapshot()
    second = next_state(first)
    full_id = add_inventory_integration(db, "vcenter", "full")
    watched_id = add_inventory_integration(db, "vcenter", "watched")
    sync_snapshot(db, full_id, first)
    sync_snapshot(db, watched_id, first)

    full = sync_snapshot(db, full_id, second)
    delta = sync_delta(db, watched_id, restrict(second, TOUCHED), SyncPolicy())

    assert delta.status == RunStatus.SUCCEEDED
    assert changes_of(db, delta.run_id) == changes_of(db, full.run_id)
    assert len(changes_of(db, delta.run_id)) >= 10  # every kind of change was exercised
    assert inventory(db, "watched") == inventory(db, "full")
    again = sync_snapshot(db, watched_id, second)
    assert changes_of(db, again.run_id) == []


def test_a_delta_that_removes_too_much_is_held(db: Database) -> None:
    first = vcenter_snapshot()
    integration_id = add_inventory_integration(db, "vcenter", "vc1")
    sync_snapshot(db, integration_id, first)
    gone = {vm.external_id for vm in first.vms[:20]}
    survivors = dataclasses.replace(
        first, vms=[vm for vm in first.vms if vm.external_id not in gone]
    )

    result = sync_delta(db, integration_id, restrict(survivors, {"vm": gone}), SyncPolicy())

    assert result.status == RunStatus.HELD
    assert "it would remove 20 of 25 vms" in (result.error or "")
    assert len(list_objects(db, "vms", integration="vc1")) == 25
    forced = sync_delta(
        db, integration_id, restrict(survivors, {"vm": gone}), SyncPolicy(), force=True
    )
    assert forced.status == RunStatus.SUCCEEDED
    assert len(list_objects(db, "vms", integration="vc1")) == 5


def test_a_delta_only_holds_what_it_touches(db: Database) -> None:
    integration_id = add_inventory_integration(db, "vcenter", "vc1")
    sync_snapshot(db, integration_id, vcenter_snapshot())
    stray = restrict(vcenter_snapshot(), {"vm": {"vm-1", "vm-2"}})
    stray = Delta(stray.snapshot, {"vm": frozenset({"vm-1"})})

    with pytest.raises(DeltaScopeError, match="vm 'vm-2'"):
        sync_delta(db, integration_id, stray, SyncPolicy())


def test_a_delta_waits_for_a_running_sync(db: Database) -> None:
    integration_id = add_inventory_integration(db, "vcenter", "vc1")
    sync_snapshot(db, integration_id, vcenter_snapshot())
    delta = restrict(vcenter_snapshot(), {"vm": {"vm-1"}})
    with sync_lock(db, integration_id) as taken:
        assert taken
        with pytest.raises(SyncAlreadyRunningError):
            sync_delta(db, integration_id, delta, SyncPolicy())
