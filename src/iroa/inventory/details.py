"""One inventory object with its relations, for detail pages and ``GET /api/v1/{type}/{id}``.

A detail is a fixed, small number of statements, one per relation. Lists of
related objects that can grow with the estate (a cluster's VMs) are capped at
:data:`RELATED_LIMIT` by name and come with their full count; the paged lists
(``/vms?cluster_id=…``) give the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Executable, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from iroa.db.engine import Database
from iroa.history.models import Change
from iroa.inventory import models
from iroa.inventory.events import events_of
from iroa.inventory.queries import PLACEMENTS, object_type, row_keys, select_objects
from iroa.inventory.rows import (
    ChangeRow,
    ClusterHost,
    ClusterRef,
    Detail,
    NamedRef,
    OrphanedDiskRow,
    TagRow,
    VmDiskRow,
    VmNicRow,
    VmSnapshotRow,
    VmSummary,
)
from iroa.inventory.types import BY_PLURAL, ObjectType

RELATED_LIMIT = 1000
EVENTS_OF = frozenset({"vms", "hosts"})
"""The details that carry their object's latest vCenter events."""
CHANGES_LIMIT = 100
DATACENTER_COUNTS = ("clusters", "hosts", "datastores", "networks", "vms")
VM_SUMMARY_FIELDS = ("id", "name", "power_state", "num_cpu", "memory_mib", "host", "cluster")

Vm = models.Vm
Host = models.Host


Row = TypeVar("Row")


def get_object(db: Database, plural: str, object_id: int) -> Detail | None:
    """The object of type ``plural`` with this id and its relations, or None if there is none."""
    with db.session() as session:
        return read_object(session, plural, object_id)


def read_object(session: Session, plural: str, object_id: int) -> Detail | None:
    """:func:`get_object` in the caller's session, so that more can be read beside it."""
    kind = object_type(plural)
    row = session.execute(select_objects(kind).where(kind.table.c.id == object_id)).first()
    if row is None:
        return None
    detail: dict[str, Any] = dict(zip(row_keys([row]), row, strict=True))
    detail.update(_RELATIONS[plural](session, detail))
    detail["tags"] = _tags(session, kind, detail)
    detail["changes"] = _changes(session, kind, object_id)
    if plural in EVENTS_OF:
        detail["events"] = events_of(session, kind.name, detail)
    # The one place a detail's keys meet its type: tests/inventory/test_rows.py holds
    # DETAILS to what this returns.
    return cast(Detail, detail)


def _rows(session: Session, stmt: Executable, _: type[Row]) -> list[Row]:
    """The rows of ``stmt`` as dicts of the row type its columns make."""
    rows = session.execute(stmt).all()
    keys = row_keys(rows)
    return [cast(Row, dict(zip(keys, row, strict=True))) for row in rows]


def _present_children(plural: str, parent_column: str, parent_id: int) -> Select[Any]:
    """A VM's disks, NICs, snapshots or relations that are still there."""
    table = BY_PLURAL[plural].table
    return select_objects(BY_PLURAL[plural]).where(
        table.c[parent_column] == parent_id, table.c.removed_at.is_(None)
    )


def _vms_where(session: Session, condition: ColumnElement[bool]) -> tuple[int, list[VmSummary]]:
    """The count of present VMs matching ``condition`` and the first of them by name."""
    vms = BY_PLURAL["vms"]
    present = (condition, Vm.removed_at.is_(None))
    count = session.execute(select(func.count()).select_from(Vm).where(*present)).scalar_one()
    stmt = select_objects(vms).where(*present).order_by(Vm.name, Vm.id).limit(RELATED_LIMIT)
    stmt = stmt.with_only_columns(*(stmt.selected_columns[k] for k in VM_SUMMARY_FIELDS))
    return int(count), _rows(session, stmt, VmSummary)


def _vm_relations(session: Session, vm: dict[str, Any]) -> dict[str, Any]:
    vm_id = vm["id"]
    disks = _rows(
        session,
        _present_children("vm_disks", "vm_id", vm_id).order_by(models.VmDisk.label),
        VmDiskRow,
    )
    nics = _rows(
        session,
        _present_children("vm_nics", "vm_id", vm_id).order_by(models.VmNic.label),
        VmNicRow,
    )
    snapshots = _rows(
        session,
        _present_children("vm_snapshots", "vm_id", vm_id).order_by(
            models.VmSnapshot.created_at, models.VmSnapshot.id
        ),
        VmSnapshotRow,
    )
    placements = {
        key: _rows(
            session,
            select(target.id, target.name)
            .join(relation, target_id == target.id)
            .where(relation.vm_id == vm_id, relation.removed_at.is_(None))
            .order_by(target.name, target.id),
            NamedRef,
        )
        for key, relation, target_id, target in PLACEMENTS
    }
    return {"disks": disks, "nics": nics, "snapshots": snapshots, **placements, "metrics": None}


def _host_relations(session: Session, host: dict[str, Any]) -> dict[str, Any]:
    vm_count, vms = _vms_where(session, Vm.host_id == host["id"])
    return {"vm_count": vm_count, "vms": vms}


def _cluster_relations(session: Session, cluster: dict[str, Any]) -> dict[str, Any]:
    cluster_id = cluster["id"]
    hosts = _rows(
        session,
        select(
            Host.id,
            Host.name,
            Host.connection_state,
            Host.power_state,
            Host.in_maintenance,
            Host.cpu_cores,
            Host.memory_mib,
        )
        .where(Host.cluster_id == cluster_id, Host.removed_at.is_(None))
        .order_by(Host.name, Host.id)
        .limit(RELATED_LIMIT),
        ClusterHost,
    )
    vm_count, vms = _vms_where(session, Vm.cluster_id == cluster_id)
    is_vm = Vm.is_template.is_(False)
    on = is_vm & (Vm.power_state == "on")
    vm_totals = session.execute(
        select(
            func.count().filter(is_vm),
            func.count().filter(on),
            func.coalesce(func.sum(Vm.num_cpu).filter(is_vm), 0),
            func.coalesce(func.sum(Vm.memory_mib).filter(is_vm), 0),
        ).where(Vm.cluster_id == cluster_id, Vm.removed_at.is_(None))
    ).one()
    host_totals = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(Host.cpu_cores), 0),
            func.coalesce(func.sum(Host.memory_mib), 0),
        ).where(Host.cluster_id == cluster_id, Host.removed_at.is_(None))
    ).one()
    totals = {
        "hosts": int(host_totals[0] or 0),
        "host_cpu_cores": int(host_totals[1] or 0),
        "host_memory_mib": int(host_totals[2] or 0),
        "vms": int(vm_totals[0] or 0),
        "vms_on": int(vm_totals[1] or 0),
        "vcpus": int(vm_totals[2] or 0),
        "vm_memory_mib": int(vm_totals[3] or 0),
    }
    return {"hosts": hosts, "vm_count": vm_count, "vms": vms, "totals": totals}


def _vms_placed(relation: str, target: str) -> Callable[[Session, dict[str, Any]], dict[str, Any]]:
    """The relations of a datastore or network: the VMs with a disk or NIC on it, through
    the ``relation`` type's ``target`` column."""
    table = BY_PLURAL[relation].table

    def relations(session: Session, placed: dict[str, Any]) -> dict[str, Any]:
        present = select(table.c.vm_id).where(
            table.c[target] == placed["id"], table.c.removed_at.is_(None)
        )
        vm_count, vms = _vms_where(session, Vm.id.in_(present))
        return {"vm_count": vm_count, "vms": vms}

    return relations


_vms_on_datastore = _vms_placed("vm_datastores", "datastore_id")


def _datastore_relations(session: Session, datastore: dict[str, Any]) -> dict[str, Any]:
    """The VMs with a disk on a datastore, and the disks on it no VM uses."""
    ds = models.Datastore
    orphaned = (
        select(
            models.OrphanedDisk.path,
            models.OrphanedDisk.size_bytes,
            models.OrphanedDisk.first_seen_at,
        )
        .join(
            ds,
            and_(
                ds.integration_id == models.OrphanedDisk.integration_id,
                ds.external_id == models.OrphanedDisk.datastore_external_id,
            ),
        )
        .where(ds.id == datastore["id"])
        .order_by(
            func.coalesce(models.OrphanedDisk.size_bytes, -1).desc(), models.OrphanedDisk.path
        )
    )
    return {
        **_vms_on_datastore(session, datastore),
        "orphaned_disks": _rows(session, orphaned, OrphanedDiskRow),
    }


def _datacenter_relations(session: Session, datacenter: dict[str, Any]) -> dict[str, Any]:
    datacenter_id = datacenter["id"]
    tables = [BY_PLURAL[plural].table for plural in DATACENTER_COUNTS]
    counts = [
        select(func.count())
        .select_from(table)
        .where(table.c.datacenter_id == datacenter_id, table.c.removed_at.is_(None))
        .scalar_subquery()
        .label(table.name)
        for table in tables
    ]
    row = session.execute(select(*counts)).one()
    clusters = _rows(
        session,
        select(models.Cluster.id, models.Cluster.name, models.Cluster.host_count)
        .where(models.Cluster.datacenter_id == datacenter_id, models.Cluster.removed_at.is_(None))
        .order_by(models.Cluster.name, models.Cluster.id)
        .limit(RELATED_LIMIT),
        ClusterRef,
    )
    return {"counts": dict(row._mapping), "clusters": clusters}


_RELATIONS = {
    "vms": _vm_relations,
    "hosts": _host_relations,
    "clusters": _cluster_relations,
    "datastores": _datastore_relations,
    "networks": _vms_placed("vm_networks", "network_id"),
    "datacenters": _datacenter_relations,
}


def _tags(session: Session, kind: ObjectType, detail: dict[str, Any]) -> list[TagRow]:
    """Tags and custom attributes of the object, by key."""
    tag = models.Tag
    stmt = (
        select(tag.kind, tag.key, tag.value)
        .where(
            tag.integration_id
            == select(kind.table.c.integration_id)
            .where(kind.table.c.id == detail["id"])
            .scalar_subquery(),
            tag.object_type == kind.name,
            tag.object_external_id == detail["external_id"],
            tag.removed_at.is_(None),
        )
        .order_by(tag.kind, tag.key)
    )
    return _rows(session, stmt, TagRow)


def _changes(session: Session, kind: ObjectType, object_id: int) -> list[ChangeRow]:
    """The object's latest changes, newest first; a VM's include its disks', NICs', snapshots'."""
    mine = and_(Change.object_type == kind.name, Change.object_id == object_id)
    condition: ColumnElement[bool] = mine
    if kind.parts:
        parts = [
            and_(
                Change.object_type == BY_PLURAL[plural].name,
                Change.object_id.in_(
                    select(BY_PLURAL[plural].table.c.id).where(
                        BY_PLURAL[plural].table.c[f"{kind.name}_id"] == object_id
                    )
                ),
            )
            for plural in kind.parts
        ]
        condition = or_(mine, *parts)
    stmt = (
        select(
            Change.id,
            Change.changed_at,
            Change.sync_run_id,
            Change.object_type,
            Change.object_id,
            Change.object_name,
            Change.action,
            Change.fields,
            Change.actor,
            Change.event,
        )
        .where(condition)
        .order_by(Change.changed_at.desc(), Change.id.desc())
        .limit(CHANGES_LIMIT)
    )
    return _rows(session, stmt, ChangeRow)
