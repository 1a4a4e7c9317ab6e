"""The estate at a glance: KPIs per integration, platform and in total, and the change log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_, type_coerce
from sqlalchemy.dialects.postgresql import JSONB

from iroa.connectors.registry import INVENTORY_KINDS
from iroa.db.engine import Database
from iroa.errors import check_choice
from iroa.history.models import Change, Summary
from iroa.integrations.models import Integration
from iroa.inventory.queries import jsonable_rows
from iroa.inventory.types import BY_NAME
from iroa.paging import (
    MAX_INT,
    InvalidQueryError,
    Page,
    check_limit,
    check_text,
    decode_cursor,
    encode_cursor,
    to_utc,
)
from iroa.vocabulary import ChangeAction

COUNT_KPIS = (
    "datacenters",
    "clusters",
    "hosts",
    "datastores",
    "networks",
    "vms",
    "vms_on",
    "vms_off",
    "vms_suspended",
    "templates",
    "vcpus",
    "vcpus_on",
    "vm_memory_mib",
    "vm_memory_on_mib",
    "host_cpu_cores",
    "host_cpu_threads",
    "host_memory_mib",
    "storage_capacity_bytes",
    "storage_free_bytes",
    "storage_used_bytes",
    "vm_provisioned_bytes",
)
"""KPIs that add up across integrations; the two ratios are recomputed from the sums."""


def get_summary(db: Database) -> dict[str, Any]:
    """KPIs of each inventory integration from its latest successful run, summed up.

    An integration that never synced successfully is listed with ``sync_run_id``
    null and null KPIs, and counts in no total.
    """
    latest = (
        select(func.max(Summary.id).label("id")).group_by(Summary.integration_id).subquery("latest")
    )
    stmt = (
        select(Integration.id, Integration.name, Integration.kind, Summary)
        .outerjoin(
            Summary,
            (Summary.integration_id == Integration.id) & Summary.id.in_(select(latest.c.id)),
        )
        .where(Integration.kind.in_(INVENTORY_KINDS))
        .order_by(Integration.name)
    )
    with db.session() as session:
        rows = session.execute(stmt).all()
    integrations = []
    totals = _empty()
    platforms: dict[str, dict[str, Any]] = {kind: _empty() for kind in INVENTORY_KINDS}
    for integration_id, name, kind, summary in rows:
        entry: dict[str, Any] = {"id": integration_id, "name": name, "platform": kind}
        if summary is None:
            entry |= {"sync_run_id": None, "taken_at": None}
            entry |= dict.fromkeys((*COUNT_KPIS, "vcpu_per_core", "memory_overcommit"))
        else:
            entry |= {"sync_run_id": summary.sync_run_id, "taken_at": summary.taken_at.isoformat()}
            entry |= {kpi: getattr(summary, kpi) for kpi in COUNT_KPIS}
            entry |= {
                "vcpu_per_core": summary.vcpu_per_core,
                "memory_overcommit": summary.memory_overcommit,
            }
            for bucket in (totals, platforms[kind]):
                bucket["integrations"] += 1
                for kpi in COUNT_KPIS:
                    bucket[kpi] += getattr(summary, kpi)
        integrations.append(entry)
    for bucket in (totals, *platforms.values()):
        _add_ratios(bucket)
    return {"totals": totals, "platforms": platforms, "integrations": integrations}


def _empty() -> dict[str, Any]:
    return {"integrations": 0, **dict.fromkeys(COUNT_KPIS, 0)}


def _add_ratios(bucket: dict[str, Any]) -> None:
    cores, memory = bucket["host_cpu_cores"], bucket["host_memory_mib"]
    bucket["vcpu_per_core"] = round(bucket["vcpus_on"] / cores, 3) if cores else None
    bucket["memory_overcommit"] = round(bucket["vm_memory_on_mib"] / memory, 3) if memory else None


CHANGE_OBJECT_TYPES = tuple(BY_NAME)
CHANGES_SORT = "-changed_at"


def list_changes(
    db: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    object_type: str | None = None,
    object_id: int | None = None,
    integration: str | None = None,
    action: str | None = None,
    field: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """Changes newest first (``since`` inclusive, ``until`` exclusive), paged by keyset.

    ``field`` keeps the changes that changed that field (``memory_mib``; references
    by their record name, ``host_external_id``); ``actor`` those that an event of that
    vCenter user explains.
    """
    limit = check_limit(limit)
    conditions: list[ColumnElement[bool]] = []
    if since is not None:
        conditions.append(Change.changed_at >= to_utc(since, "since"))
    if until is not None:
        conditions.append(Change.changed_at < to_utc(until, "until"))
    if object_type is not None:
        check_choice("object_type", object_type, CHANGE_OBJECT_TYPES, InvalidQueryError)
        conditions.append(Change.object_type == object_type)
    if object_id is not None:
        if abs(object_id) > MAX_INT:
            raise InvalidQueryError("object_id is out of range")
        conditions.append(Change.object_id == object_id)
    if integration is not None:
        check_text("integration", integration)
        conditions.append(
            Change.integration_id.in_(select(Integration.id).where(Integration.name == integration))
        )
    if action is not None:
        check_choice("action", action, ChangeAction, InvalidQueryError)
        conditions.append(Change.action == action)
    if field is not None:
        conditions.append(_changed_field(db, field))
    if actor is not None:
        check_text("actor", actor)
        conditions.append(Change.actor == actor)
    stmt = (
        select(
            Change.id,
            Change.changed_at,
            Change.sync_run_id,
            Integration.name.label("integration"),
            Integration.kind.label("platform"),
            Change.object_type,
            Change.object_id,
            Change.external_id,
            Change.object_name,
            Change.action,
            Change.fields,
            Change.actor,
            Change.event,
        )
        .select_from(Change)
        .outerjoin(Integration, Integration.id == Change.integration_id)
        .where(*conditions)
    )
    if cursor is not None:
        changed_at, last_id = _decode_change_cursor(cursor)
        stmt = stmt.where(tuple_(Change.changed_at, Change.id) < tuple_(changed_at, last_id))
    stmt = stmt.order_by(Change.changed_at.desc(), Change.id.desc()).limit(limit + 1)
    count = select(func.count()).select_from(Change).where(*conditions)
    with db.engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = conn.execute(stmt).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(CHANGES_SORT, rows[-1].changed_at, rows[-1].id)
    return Page(jsonable_rows(rows), total, next_cursor)


def latest_field_change(
    db: Database, object_type: str, object_id: int, field: str
) -> dict[str, Any] | None:
    """The object's latest change of ``field`` (its time, action, fields, actor and event),
    or None: one statement, as a page's header needs no total."""
    stmt = (
        select(
            Change.id,
            Change.changed_at,
            Change.object_type,
            Change.object_id,
            Change.action,
            Change.fields,
            Change.actor,
            Change.event,
        )
        .where(
            Change.object_type == object_type,
            Change.object_id == object_id,
            _changed_field(db, field),
        )
        .order_by(Change.changed_at.desc(), Change.id.desc())
        .limit(1)
    )
    with db.engine.connect() as conn:
        found = jsonable_rows(conn.execute(stmt).all())
    return found[0] if found else None


CHANGE_FIELDS = frozenset(
    column.name.removesuffix("_id") + "_external_id" if column.name in kind.refs else column.name
    for kind in BY_NAME.values()
    for column in kind.data_columns
)
"""Every field a change can record (references by external id, as the sync compares them)."""


def _changed_field(db: Database, field: str) -> ColumnElement[bool]:
    if field not in CHANGE_FIELDS:
        raise InvalidQueryError(
            f"unknown field {field!r}: choose a field of an object type, such as "
            "name, power_state, memory_mib or host_external_id"
        )
    if db.is_sqlite:
        return func.json_type(Change.fields, f'$."{field}"').is_not(None)
    has_key: ColumnElement[bool] = type_coerce(Change.fields, JSONB).has_key(field)
    return has_key


def _decode_change_cursor(cursor: str) -> tuple[datetime, int]:
    value, last_id = decode_cursor(cursor, CHANGES_SORT, datetime)
    if value is None:
        raise InvalidQueryError("invalid cursor: use the next_cursor of a previous page as is")
    return value, last_id


TREND_RUNS = 500


def vm_count_trend(db: Database, runs: int = TREND_RUNS) -> dict[str, list[dict[str, Any]]]:
    """VM counts after each of the latest successful runs, per integration, oldest first."""
    stmt = (
        select(
            Integration.name,
            Summary.taken_at,
            Summary.vms,
            Summary.vms_on,
        )
        .join(Integration, Integration.id == Summary.integration_id)
        .order_by(Summary.id.desc())
        .limit(runs)
    )
    trend: dict[str, list[dict[str, Any]]] = {}
    with db.session() as session:
        for name, taken_at, vms, vms_on in session.execute(stmt):
            trend.setdefault(name, []).append(
                {"taken_at": taken_at.isoformat(), "vms": vms, "vms_on": vms_on}
            )
    for points in trend.values():
        points.reverse()
    return dict(sorted(trend.items()))
