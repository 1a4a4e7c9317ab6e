"""SQL statements per inventory request are pinned, as NetBox does, so an N+1 regression fails.

Counted are the statements each request sends to the app's engine, besides
authentication (statements on ``api_tokens``). A count that grows with the
number of rows returned is an N+1; a count that changes at all must be
updated here on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.api.inventory_fixtures import InventoryApi

LIST_QUERY_COUNTS = {
    "/vms": 1,  # the page, carrying the total and its VMs' datastore and network names
    "/hosts": 1,
    "/clusters": 1,
    "/datacenters": 1,
    "/datastores": 1,
    "/networks": 1,
    "/vcenter/vms": 1,
    "/hyperv/vms": 1,
    "/changes": 2,
    "/findings": 2,
    "/vcenter/inventory": 7,  # the counts, then every object of a type in one statement each
    "/hyperv/inventory": 7,
}
DETAIL_QUERY_COUNTS = {
    # ... + findings, and monitoring: Prometheus metrics, Zabbix hosts with their problems
    "vms": 12,  # object, disks, NICs, snapshots, datastores, networks, tags, changes, events,
    # findings, +2
    "hosts": 9,  # object, VM count, VMs, tags, changes, events, findings, +2
    "clusters": 9,  # object, hosts, VM count, VMs, VM totals, host totals, tags, changes, findings
    "datastores": 7,  # object, VM count, VMs, orphaned disks, tags, changes, findings
    "networks": 5,
    "datacenters": 5,  # object, counts, clusters, tags, changes
}
SUMMARY_QUERY_COUNT = 2  # the latest summaries, open findings per severity
STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")


@contextmanager
def counted(api: InventoryApi) -> Iterator[list[str]]:
    engine = api.client.app.state.runtime.db.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(STATEMENTS) and "api_tokens" not in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements(api: InventoryApi, path: str, **params: Any) -> int:
    with counted(api) as seen:
        api.get(path, **params)
    return len(seen)


@pytest.mark.parametrize(("path", "expected"), LIST_QUERY_COUNTS.items())
def test_list_query_count_is_pinned_and_independent_of_page_size(
    inventory_api: InventoryApi, path: str, expected: int
) -> None:
    small = statements(inventory_api, path, limit=1)
    large = statements(inventory_api, path, limit=1000)
    assert (small, large) == (expected, expected)


def test_filters_search_and_cursor_add_no_statement(inventory_api: InventoryApi) -> None:
    cursor = inventory_api.get("/vms", limit=3)["next_cursor"]
    for params in (
        {"q": "web", "power_state": "on", "cluster": "Prod", "datastore": "ds-ssd"},
        {"cursor": cursor, "platform": "vcenter", "integration": "vc1"},
        {"sort": "-memory_mib", "include_removed": "true"},
    ):
        assert statements(inventory_api, "/vms", **params) == LIST_QUERY_COUNTS["/vms"]


@pytest.mark.parametrize(("plural", "expected"), DETAIL_QUERY_COUNTS.items())
def test_detail_query_count_is_pinned(
    inventory_api: InventoryApi, plural: str, expected: int
) -> None:
    counts = {
        statements(inventory_api, f"/{plural}/{item['id']}")
        for item in inventory_api.all_items(f"/{plural}", include_removed="true")
    }
    assert counts == {expected}


def test_summary_statements_are_pinned(inventory_api: InventoryApi) -> None:
    assert statements(inventory_api, "/summary") == SUMMARY_QUERY_COUNT
