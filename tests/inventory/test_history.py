"""The inventory as of a past moment, rebuilt after a sequence of syncs with known changes.

Each sync goes through the real engine on a real database (SQLite and
PostgreSQL); after each one the live lists and child tables are captured, and
later the inventory rebuilt for that moment must equal them exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.history.retention import prune_changes
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.history import (
    HistoryUnavailableError,
    clear_snapshots,
    inventory_as_of,
    parse_as_of,
)
from iroa.inventory.listing import ListParams, list_page
from iroa.inventory.queries import LISTABLE, list_objects
from iroa.inventory.types import OBJECT_TYPES
from iroa.paging import InvalidQueryError
from tests.inventory.history_estate import BOOT, run_sequence

CHILD_TABLES = [t for t in OBJECT_TYPES if not t.primary]


def child_rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every present row of the child tables, without lifecycle columns."""
    found: dict[str, list[dict[str, Any]]] = {}
    with db.engine.connect() as conn:
        for kind in CHILD_TABLES:
            table = kind.table
            rows = conn.execute(
                select(table.c.id, table.c.external_id, *kind.data_columns)
                .where(table.c.removed_at.is_(None))
                .order_by(table.c.id)
            )
            found[kind.plural] = [dict(r._mapping) for r in rows]
    return found


def everything(db: Database) -> dict[str, Any]:
    lists: dict[str, Any] = {plural: list_objects(db, plural) for plural in LISTABLE}
    return {**lists, **child_rows(db)}


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_snapshots()
    yield
    clear_snapshots()


@pytest.fixture
def history(db: Database, box: SecretBox) -> tuple[list[datetime], list[dict[str, Any]]]:
    """Run the sequence; the moments after each sync and what the inventory was then."""
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    states: list[dict[str, Any]] = []
    moments = run_sequence(db, integration_id, lambda: states.append(everything(db)))
    return moments, states


def test_as_of_each_moment_is_exactly_the_inventory_then(
    db: Database, history: tuple[list[datetime], list[dict[str, Any]]]
) -> None:
    moments, states = history
    assert states[1] != states[2] != states[3]
    for moment, state in zip(moments, states, strict=True):
        with inventory_as_of(db, moment) as past:
            assert everything(past) == state, moment


def test_as_of_values_of_a_renamed_moved_vm(
    db: Database, history: tuple[list[datetime], list[dict[str, Any]]]
) -> None:
    moments, _ = history
    with inventory_as_of(db, moments[1]) as past:
        vms = {v["external_id"]: v for v in list_objects(past, "vms")}
    assert sorted(vms) == ["vm-0", "vm-1", "vm-2"]
    assert vms["vm-0"]["name"] == "vm0"
    assert vms["vm-0"]["host"] == "esx1"
    assert vms["vm-0"]["ip_addresses"] == ["10.0.0.0"]
    assert vms["vm-0"]["boot_time"] == BOOT.isoformat()
    assert vms["vm-0"]["datastores"] == ["ds1"]
    with inventory_as_of(db, moments[2]) as past:
        vms = {v["external_id"]: v for v in list_objects(past, "vms")}
    assert sorted(vms) == ["vm-0", "vm-1", "vm-3"]
    assert (vms["vm-0"]["name"], vms["vm-0"]["host"], vms["vm-0"]["power_state"]) == (
        "vm0-renamed",
        "esx2",
        "off",
    )
    assert vms["vm-0"]["datastores"] == ["ds2"]


def test_as_of_lists_filter_sort_and_page(
    db: Database, history: tuple[list[datetime], list[dict[str, Any]]]
) -> None:
    moments, _ = history
    with inventory_as_of(db, moments[1]) as past:
        page = list_page(past, "vms", ListParams(sort="-name", limit=2))
        assert [v["name"] for v in page.items] == ["vm2", "vm1"]
        assert page.total == 3 and page.next_cursor is not None
        rest = list_page(past, "vms", ListParams(sort="-name", limit=2, cursor=page.next_cursor))
        assert [v["name"] for v in rest.items] == ["vm0"]
        on_esx1 = list_page(past, "vms", ListParams(filters={"host": "esx1"}))
        assert on_esx1.total == 3
        searched = list_page(past, "vms", ListParams(q="vm0"))
        assert [v["name"] for v in searched.items] == ["vm0"]
    with inventory_as_of(db, moments[2]) as past:
        off = list_page(past, "vms", ListParams(filters={"power_state": "off"}))
        assert [v["name"] for v in off.items] == ["vm0-renamed"]
        on_ds2 = list_page(past, "vms", ListParams(filters={"datastore": "ds2"}))
        assert on_ds2.total == 3


def test_a_moment_before_the_horizon_is_refused(
    db: Database, history: tuple[list[datetime], list[dict[str, Any]]]
) -> None:
    moments, states = history
    assert prune_changes(db, 1, now=moments[2] + timedelta(days=1) - timedelta(microseconds=1)) > 0
    with (
        pytest.raises(HistoryUnavailableError, match="before the history horizon"),
        inventory_as_of(db, moments[1]),
    ):
        pass
    with inventory_as_of(db, moments[3]) as past:
        assert everything(past) == states[3]


def test_parse_as_of() -> None:
    assert parse_as_of("2026-11-26T17:00:00Z") == datetime(2026, 11, 26, 17, tzinfo=UTC)
    assert parse_as_of("2026-11-26T18:00:00+01:00") == datetime(2026, 11, 26, 17, tzinfo=UTC)
    assert parse_as_of("2026-11-26") == datetime(2026, 11, 26, tzinfo=UTC)
    with pytest.raises(InvalidQueryError, match="as_of must be an ISO-8601 timestamp"):
        parse_as_of("yesterday")
