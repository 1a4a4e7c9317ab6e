"""Planning one scope of a run: the stored rows some objects speak for, against their records.

A run is applied scope by scope, within its one transaction: a delta is one
scope (the objects a watcher saw change); a full snapshot is a scope per part
(its containers, then VMs a batch at a time) and a last one for the objects it
no longer has. A scope is the objects it *touches*, by primary type, and
everything that hangs off them: a VM's disks, NICs, snapshots and placements,
any object's tags. Within it, stored rows and records are compared in *record
space* (:mod:`iroa.sync.reconcile`); every other row stays as stored.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ColumnElement,
    Connection,
    Integer,
    String,
    any_,
    bindparam,
    cast,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql

from iroa.connectors.base import Part, Rows
from iroa.inventory.types import BY_NAME, OBJECT_TYPES, ObjectType
from iroa.sync.reconcile import Plan, StoredRow, plan_type

log = logging.getLogger(__name__)

IdMaps = dict[str, dict[int, str]]
"""Stored rows' external ids by table and id: how stored references read in record space."""

_OWNER_FIELD = "vm_external_id"
_TAG_FIELDS = ("object_type", "object_external_id")
_IN_CHUNK = 2_000


class DeltaScopeError(ValueError):
    """A scope holds a record it cannot place (a connector's bug)."""


@dataclass(frozen=True)
class TypeFields:
    """How one object type's records line up with its table's columns."""

    type: ObjectType
    columns: tuple[str, ...]
    fields: tuple[str, ...]
    refs: tuple[tuple[int, str], ...]  # (position in fields, target table)
    name_index: int | None
    lists: tuple[int, ...]  # positions of JSON columns, which hold lists: tuples in records
    volatile: frozenset[str] = frozenset()
    """Fields stored but not tracked as changes (columns with ``info={"volatile": True}``)."""

    @classmethod
    def of(cls, object_type: ObjectType) -> TypeFields:
        columns = tuple(c.name for c in object_type.data_columns)
        fields = tuple(
            c.removesuffix("_id") + "_external_id" if c in object_type.refs else c for c in columns
        )
        refs = tuple((columns.index(c), table) for c, table in object_type.refs.items())
        name_index = next((fields.index(n) for n in ("name", "label") if n in fields), None)
        lists = tuple(
            pos for pos, c in enumerate(object_type.data_columns) if isinstance(c.type, JSON)
        )
        volatile = frozenset(
            field
            for field, c in zip(fields, object_type.data_columns, strict=True)
            if c.info.get("volatile")
        )
        return cls(object_type, columns, fields, refs, name_index, lists, volatile)

    def values_of(self, rows: Rows) -> list[tuple[str, tuple[Any, ...]]]:
        """``(external_id, values)`` of each row, values in the order of ``fields``."""
        if not rows:
            return []
        values: Iterable[Any] = map(rows.getter(*self.fields), rows.rows)
        if len(self.fields) == 1:
            values = zip(values)  # one-field tuples
        return list(zip(map(rows.getter("external_id"), rows.rows), values, strict=True))


TYPE_FIELDS = tuple(TypeFields.of(t) for t in OBJECT_TYPES)
CONTAINERS = tuple(tf for tf in TYPE_FIELDS if tf.type.primary and not tf.type.parts)
"""Primary types without parts: few, and referenced by many (a VM names its host)."""


def load_containers(conn: Connection, integration_id: int) -> tuple[IdMaps, dict[str, set[str]]]:
    """Every stored row of :data:`CONTAINERS` as ids (touched objects may reference any of
    them), and the external ids of those present, by plural."""
    id_to_external: IdMaps = {}
    present: dict[str, set[str]] = {}
    for tf in CONTAINERS:
        ids, present[tf.type.plural] = row_index(conn, tf, integration_id)
        id_to_external[tf.type.table.name] = {row_id: ext for ext, row_id in ids.items()}
    return id_to_external, present


def unstored_types(conn: Connection, integration_id: int) -> set[str]:
    """The types (by plural) of which the integration has no row at all, present or not:
    a first sync reads nothing of them while it writes them."""
    unstored = set()
    for tf in TYPE_FIELDS:
        table = tf.type.table
        found = conn.execute(
            select(table.c.id).where(table.c.integration_id == integration_id).limit(1)
        ).first()
        if found is None:
            unstored.add(tf.type.plural)
    return unstored


def row_index(
    conn: Connection, tf: TypeFields, integration_id: int
) -> tuple[dict[str, int], set[str]]:
    """One type's rows: the id of each external id (present or not), and those present."""
    table = tf.type.table
    rows = conn.execute(
        select(table.c.external_id, table.c.id, table.c.removed_at.is_(None)).where(
            table.c.integration_id == integration_id
        )
    ).all()
    return {row[0]: row[1] for row in rows}, {row[0] for row in rows if row[2]}


def plan_scope(
    conn: Connection,
    integration_id: int,
    part: Part,
    touched: Mapping[str, Collection[str]],
    known: Mapping[str, AbstractSet[str]],
    skipped: set[str],
    id_to_external: IdMaps,
    unstored: Collection[str] = (),
    row_ids: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Plan]:
    """Plan every type within one scope: ``part`` holds the current records of the objects
    ``touched`` names by type (those it lacks are gone) and of what hangs off them.

    References to objects outside ``known`` (by plural; a part's own objects are
    known) become None. ``id_to_external`` gets the ids of the rows read. Types in
    ``unstored`` (by plural) had no rows before the run: nothing is read for them.
    ``row_ids`` may give the row id of every stored object of a primary type (by
    plural, then external id): its touched rows are then read by id.
    """
    plans: dict[str, Plan] = {}
    for tf in TYPE_FIELDS:
        plural = tf.type.plural
        stored = (
            {}
            if plural in unstored
            else load_scope(conn, tf, integration_id, touched, id_to_external, row_ids)
        )
        incoming = tf.values_of(placed(tf, part[plural], touched))
        if plural not in known:
            known = {**known, plural: set(map(itemgetter(0), incoming))}
        plan = plan_type(tf.fields, stored, drop_dangling(tf, incoming, known), tf.volatile)
        if skipped:
            spare_skipped(tf, plan, skipped)
        plans[plural] = plan
    return plans


def placed(tf: TypeFields, rows: Rows, touched: Mapping[str, Collection[str]]) -> Rows:
    """The rows of a VM's parts and of tags whose owner the scope touches: one that names
    another owner cannot be placed (its owner's stored rows were not read) and is left
    out, as a snapshot without its owner would be."""
    if tf.type.primary or not rows:
        return rows
    if _OWNER_FIELD in tf.fields:
        vms = touched.get("vm", ())
        owner = rows.getter(_OWNER_FIELD)
        kept = [row for row in rows.rows if owner(row) in vms]
    else:
        tag_of = rows.getter(*_TAG_FIELDS)
        kept = [row for row in rows.rows if tag_of(row)[1] in touched.get(tag_of(row)[0], ())]
    if len(kept) == len(rows):
        return rows
    left_out = len(rows) - len(kept)
    log.warning("left out %d %s whose owner is not in the snapshot", left_out, tf.type.plural)
    return dataclasses.replace(rows, rows=kept)


def load_scope(
    conn: Connection,
    tf: TypeFields,
    integration_id: int,
    touched: Mapping[str, Collection[str]],
    id_to_external: IdMaps,
    row_ids: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, StoredRow]:
    """The stored rows of one type that the scope speaks for, keyed by external id: primary
    types' touched ones, a VM's parts by their VM (read before them), tags by their object."""
    table = tf.type.table
    if tf.type.primary:
        external_ids = touched.get(tf.type.name, ())
        index = row_ids.get(tf.type.plural) if row_ids is not None else None
        if index is not None:  # by primary key: the cheapest read on every database
            ids = sorted(index[e] for e in external_ids if e in index)
            return _load_in(conn, tf, integration_id, id_to_external, table.c.id, ids)
        listed = sorted(external_ids)
        return _load_in(conn, tf, integration_id, id_to_external, table.c.external_id, listed)
    if _OWNER_FIELD in tf.fields:
        owners = id_to_external.get(BY_NAME["vm"].table.name, {})
        return _load_in(conn, tf, integration_id, id_to_external, table.c.vm_id, sorted(owners))
    if all(field in tf.fields for field in _TAG_FIELDS):
        pairs = sorted(
            (object_type, external_id)
            for object_type, ids in touched.items()
            for external_id in ids
        )
        key = tuple_(table.c.object_type, table.c.object_external_id)
        return _load_in(conn, tf, integration_id, id_to_external, key, pairs)
    raise DeltaScopeError(f"no scope for {tf.type.plural}")


def _load_in(
    conn: Connection,
    tf: TypeFields,
    integration_id: int,
    id_to_external: IdMaps,
    column: ColumnElement[Any],
    values: Sequence[Any],
) -> dict[str, StoredRow]:
    """:func:`load_stored` of the rows whose ``column`` is one of ``values``, in chunks."""
    stored: dict[str, StoredRow] = {}
    scoped, bind = one_of(conn, column)
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start : start + _IN_CHUNK]
        stored |= load_stored(
            conn, tf, integration_id, id_to_external, scoped, params={"scope": bind(chunk)}
        )
    return stored


def one_of(
    conn: Connection, column: ColumnElement[Any]
) -> tuple[ColumnElement[bool], Callable[[Sequence[Any]], Any]]:
    """``column`` is one of the values bound to ``scope``, and how to bind them.

    A plain column takes its values as one parameter: a JSON array on SQLite, an
    array on PostgreSQL. An ``IN`` of thousands of placeholders costs SQLAlchemy about
    a microsecond a value to build and render, and the database as much to parse: a
    second or two of a sync of 100,000 VMs.
    """
    if isinstance(column, Column):
        if conn.dialect.name == "sqlite":
            listed = func.json_each(bindparam("scope")).table_valued("value")
            return column.in_(select(listed.c.value).scalar_subquery()), json.dumps
        if conn.dialect.name == "postgresql":
            if isinstance(column.type, Integer):
                # An array literal: psycopg checks every element of a list it binds.
                ids = cast(bindparam("scope", type_=String), postgresql.ARRAY(BigInteger))
                return column == any_(ids), _int_array
            array = bindparam("scope", type_=postgresql.ARRAY(column.type))
            return column == any_(array), list
    return column.in_(bindparam("scope", expanding=True)), list


def _int_array(values: Sequence[Any]) -> str:
    return "{" + ",".join(map(str, map(int, values))) + "}"


def load_stored(
    conn: Connection,
    tf: TypeFields,
    integration_id: int,
    id_to_external: IdMaps,
    *where: ColumnElement[bool],
    params: Mapping[str, Any] | None = None,
) -> dict[str, StoredRow]:
    """Load one type's rows (those matching ``where``, bound with ``params``) in record
    space, and remember their ids for later references."""
    table = tf.type.table
    columns = [table.c[name] for name in tf.columns]
    rows = conn.execute(
        select(table.c.id, table.c.external_id, table.c.removed_at.is_not(None), *columns).where(
            table.c.integration_id == integration_id, *where
        ),
        dict(params or {}),
    ).all()
    ids = id_to_external.setdefault(table.name, {})
    if not rows:
        return {}
    # Column by column, so that most steps are one pass in C rather than Python per value.
    row_ids, external_ids, removed, *data = zip(*rows, strict=True)
    values: list[Iterable[Any]] = list(data)
    for pos, target in tf.refs:
        values[pos] = map(id_to_external.get(target, {}).get, values[pos])
    for pos in tf.lists:
        values[pos] = [tuple(v) if isinstance(v, list) else v for v in values[pos]]
    ids.update(zip(row_ids, external_ids, strict=True))
    return dict(
        zip(
            external_ids,
            map(StoredRow, row_ids, zip(*values, strict=True), removed),
            strict=True,
        )
    )


def drop_dangling(
    tf: TypeFields,
    incoming: list[tuple[str, tuple[Any, ...]]],
    known_ids: Mapping[str, AbstractSet[str]],
) -> list[tuple[str, tuple[Any, ...]]]:
    """References to objects not known (by table) become None."""
    targets = [(pos, known_ids[table]) for pos, table in tf.refs]
    dangling = []
    for pos, known in targets:
        refs = set(map(itemgetter(pos), map(itemgetter(1), incoming)))
        refs.discard(None)
        if not refs <= known:
            dangling.append((pos, known))
    if not dangling:
        return incoming
    fixed = []
    for external_id, values in incoming:
        if any(values[pos] is not None and values[pos] not in known for pos, known in dangling):
            patched = list(values)
            for pos, known in dangling:
                if patched[pos] not in known:
                    patched[pos] = None
            values = tuple(patched)
        fixed.append((external_id, values))
    return fixed


def spare_skipped(tf: TypeFields, plan: Plan, skipped: set[str]) -> None:
    """Keep, as stored, objects the source had but could not map, and what hangs off them;
    and tags of a kind it could not read (skipped under the kind's name, ``vsphere_tag``)."""
    owners = [
        tf.fields.index(f)
        for f in ("vm_external_id", "object_external_id", "kind")
        if f in tf.fields
    ]
    plan.removals = [
        removal
        for removal in plan.removals
        if removal[1] not in skipped and not any(removal[2][pos] in skipped for pos in owners)
    ]
