"""Rows sent in bulk are stored exactly as SQLAlchemy's own inserts store them, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Connection, Table, bindparam, insert, update

from iroa.crypto import SecretBox
from iroa.db.bulk import BulkInsert, BulkUpdate, reserve_ids
from iroa.db.engine import WRITE_OPTION, Database, large_write
from iroa.history.models import Change
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.models import Vm
from iroa.sync.models import SyncRun

VMS = Vm.metadata.tables[Vm.__tablename__]
CHANGES = Change.metadata.tables[Change.__tablename__]
# Everything COPY's text format must escape, and what SQLite keeps as text.
AWKWARD = 'tab\there, new\nline, back\\slash, \\N, "quoted", été, \x7f'
NOW = datetime(2026, 12, 4, 9, 30, 1, 250, tzinfo=UTC)


@pytest.fixture
def integration_id(db: Database, box: SecretBox) -> int:
    return add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id


def vm(n: int) -> dict[str, Any]:
    return {
        "external_id": f"vm-{n}",
        "name": f"{AWKWARD} {n}",
        "power_state": "on",
        "is_template": n % 2 == 0,
        "memory_dynamic": None,
        "num_cpu": 4,
        "memory_mib": 1 << 40,
        "ip_addresses": ("10.0.0.1", "fe80::1") if n % 2 else (),
        "boot_time": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=2))),
        "created_at": None,
        "notes": None if n % 2 else "",
    }


def stored(conn: Connection, table: Table, skip: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """The rows as the database driver returns them, without the columns in ``skip``."""
    columns = ", ".join(f'"{c.name}"' for c in table.columns if c.name not in skip)
    return [tuple(row) for row in conn.exec_driver_sql(f"SELECT {columns} FROM {table.name}")]


def test_rows_sent_in_bulk_are_stored_as_sqlalchemy_stores_them(
    db: Database, integration_id: int
) -> None:
    names = tuple(vm(0))
    constants = {"integration_id": integration_id, "first_seen_at": NOW, "last_seen_at": NOW}
    with db.engine.connect() as conn, conn.begin():
        conn.execute(insert(VMS), [{**vm(n), **constants} for n in range(4)])
        expected = stored(conn, VMS, ("id",))
        conn.exec_driver_sql("DELETE FROM vms")
        columns = [[vm(n)[name] for n in range(4)] for name in names]
        BulkInsert(conn, VMS, names, constants).send(columns)
        assert stored(conn, VMS, ("id",)) == expected


def test_change_rows_sent_in_bulk_are_stored_as_sqlalchemy_stores_them(
    db: Database, integration_id: int
) -> None:
    with db.write_session() as session:
        run = SyncRun(
            integration_id=integration_id,
            trigger="manual",
            status="running",
            started_at=NOW,
            totals={},
            counts={},
        )
        session.add(run)
        session.flush()
        run_id = run.id
    constants = {"sync_run_id": run_id, "integration_id": integration_id, "changed_at": NOW}
    added = {"object_id": 1, "external_id": "vm-1", "object_name": AWKWARD, "fields": None}
    modified = {
        "object_id": 2,
        "external_id": "vm-2",
        "object_name": None,
        "fields": {"name": ["a", AWKWARD], "ip_addresses": [[], ["10.0.0.1"]]},
    }
    rows = [
        {"object_type": "vm", "action": "added", **added},
        {"object_type": "vm", "action": "modified", **modified},
    ]
    with db.engine.connect() as conn, conn.begin():
        conn.execute(insert(CHANGES), [{**row, **constants} for row in rows])
        expected = stored(conn, CHANGES, ("id",))
        conn.exec_driver_sql("DELETE FROM changes")
        names = tuple(rows[0])
        BulkInsert(conn, CHANGES, names, constants).send(
            [[row[name] for row in rows] for name in names]
        )
        assert stored(conn, CHANGES, ("id",)) == expected


def test_rows_updated_in_bulk_are_stored_as_sqlalchemy_stores_them(
    db: Database, integration_id: int
) -> None:
    constants = {"integration_id": integration_id, "first_seen_at": NOW, "last_seen_at": NOW}
    later = NOW + timedelta(hours=1)
    new = [  # name, num_cpu, memory_mib, boot_time: every value changed, None among them
        (f"{AWKWARD} renamed", None, 1 << 41, later),
        ("plain", 8, None, None),
    ]
    names = ("name", "num_cpu", "memory_mib", "boot_time")
    with db.engine.connect() as conn, conn.begin():
        conn.execute(insert(VMS), [{**vm(n), **constants} for n in range(3)])
        ids = sorted(row[0] for row in conn.exec_driver_sql("SELECT id FROM vms"))
        targets = ids[:2]  # the third row is left as it was
        conn.execute(
            update(VMS).where(VMS.c.id == bindparam("target")),
            [
                {"target": i, **dict(zip(names, values, strict=True)), "last_seen_at": later}
                for i, values in zip(targets, new, strict=True)
            ],
        )
        expected = stored(conn, VMS, ())
    with db.engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("DELETE FROM vms")
        conn.execute(insert(VMS), [{**vm(n), **constants, "id": ids[n]} for n in range(3)])
        BulkUpdate(conn, VMS, names, {"last_seen_at": later}).send(
            targets, [list(column) for column in zip(*new, strict=True)]
        )
        assert stored(conn, VMS, ()) == expected


def test_reserved_ids_are_unused_and_later_inserts_come_after_them(
    db: Database, integration_id: int
) -> None:
    constants = {"integration_id": integration_id, "first_seen_at": NOW, "last_seen_at": NOW}
    names = ("id", *vm(0))
    with db.engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            first = conn.execute(
                insert(VMS).values(**vm(0), **constants).returning(VMS.c.id)
            ).scalar_one()
            ids = list(reserve_ids(conn, VMS, 3))
            rows = [ids, *([vm(n)[name] for n in range(1, 4)] for name in names[1:])]
            BulkInsert(conn, VMS, names, constants).send(rows)
            later = conn.execute(
                insert(VMS).values(**vm(4), **constants).returning(VMS.c.id)
            ).scalar_one()
    assert len(set(ids)) == 3 and first < min(ids) and max(ids) < later


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("vms", "kib"), [(0, 8_192), (20_000, 8_192), (100_000, 40_000), (1_000_000, 65_536)]
)
def test_a_large_write_on_sqlite_gets_a_page_cache_for_its_estate(
    db: Database, vms: int, kib: int
) -> None:
    with db.engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        with large_write(conn, vms):
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == -kib
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar_one() == before
