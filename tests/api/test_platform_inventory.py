"""``/api/v1/{vcenter,hyperv}/inventory``: every object, streamed from one read transaction.

More than 1,000 objects of a type (the bound the routes once had), on SQLite and
PostgreSQL; the statements sent do not grow with the estate; a client that goes
away ends the transaction (a real uvicorn server on PostgreSQL, as for the CSV
downloads).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from iroa.config import Settings
from iroa.connectors.base import DatastoreRecord, NetworkRecord, VmDatastoreRecord, VmNetworkRecord
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from tests.api.fixtures import Api, start_api
from tests.api.inventory_fixtures import InventoryApi
from tests.api.test_concurrent_readers import VMS, large_snapshot
from tests.api.test_inventory_query_counts import counted
from tests.inventory.history_estate import StaticConnector
from tests.web.test_streaming_downloads import in_transaction, served  # noqa: F401 (fixture)

TYPES = ["datacenters", "clusters", "hosts", "datastores", "networks", "vms"]


@pytest.fixture
def estate(settings: Settings, db: Database, box: SecretBox) -> Iterator[Api]:
    """2,000 vCenter VMs; every third on two datastores and two networks, every fifth on none."""
    snapshot = large_snapshot()
    vm_ds = [r for r in snapshot.vm_datastores if int(r.vm_external_id[3:]) % 5]
    vm_nets = [r for r in snapshot.vm_networks if int(r.vm_external_id[3:]) % 5]
    for i in range(0, VMS, 3):
        if i % 5:
            vm_ds.append(VmDatastoreRecord(f"vm-{i}/ds-2", f"vm-{i}", "ds-2"))
            vm_nets.append(VmNetworkRecord(f"vm-{i}/net-2", f"vm-{i}", "net-2"))
    snapshot = dataclasses.replace(
        snapshot,
        datastores=[*snapshot.datastores, DatastoreRecord("ds-2", "ds0", "dc")],
        networks=[*snapshot.networks, NetworkRecord("net-2", "Backup", "dc")],
        vm_datastores=vm_ds,
        vm_networks=vm_nets,
    )
    vcenter = add_integration(db, box, IntegrationInput("vcenter", "big", "https://big"))
    assert run_sync(db, vcenter.id, StaticConnector(snapshot)).succeeded
    add_integration(db, box, IntegrationInput("hyperv", "hv", "https://hv"))
    yield from start_api(settings)


def paged(api: Api, plural: str) -> list[dict[str, Any]]:
    """Every item of ``/api/v1/{plural}?platform=vcenter``, by name, page after page."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"platform": "vcenter", "sort": "name", "limit": 1000}
    while True:
        response = api.client.get(f"/api/v1/{plural}", params=params, headers=api.headers("viewer"))
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


def test_every_object_of_more_than_a_thousand_comes_as_the_lists_show_it(estate: Api) -> None:
    headers = estate.headers("viewer")
    with counted(InventoryApi(estate.client, estate.db, None)) as seen:  # type: ignore[arg-type]
        response = estate.client.get("/api/v1/vcenter/inventory", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert len(seen) == 7  # the counts, then one statement per type
    inventory = response.json()
    assert list(inventory) == TYPES
    assert len(inventory["vms"]) == VMS
    assert "X-Truncated" not in response.headers
    assert response.headers["X-Total-Counts"] == (
        f"datacenters=1,clusters=1,hosts=4,datastores=2,networks=2,vms={VMS}"
    )
    for plural in TYPES:
        assert inventory[plural] == paged(estate, plural), plural
    placements = {vm["name"]: (vm["datastores"], vm["networks"]) for vm in inventory["vms"]}
    assert placements["app-00003"] == (["ds0", "ds1"], ["Backup", "VM Network"])
    assert placements["app-00005"] == ([], [])
    assert placements["app-00001"] == (["ds1"], ["VM Network"])

    hyperv = estate.client.get("/api/v1/hyperv/inventory", headers=headers)
    assert hyperv.json() == {plural: [] for plural in TYPES}
    assert hyperv.headers["X-Total-Counts"].endswith(",vms=0")


def test_a_limit_still_bounds_each_list_and_names_the_types_cut_short(estate: Api) -> None:
    headers = estate.headers("viewer")
    response = estate.client.get(
        "/api/v1/vcenter/inventory", params={"limit": 1500}, headers=headers
    )
    assert response.status_code == 200
    assert [vm["name"] for vm in response.json()["vms"]] == [f"app-{i:05d}" for i in range(1500)]
    assert response.headers["X-Truncated"] == "vms"
    assert f"vms={VMS}" in response.headers["X-Total-Counts"]
    two = estate.client.get("/api/v1/vcenter/inventory", params={"limit": 1}, headers=headers)
    assert two.headers["X-Truncated"] == "hosts,datastores,networks,vms"
    for bad in ("0", "x"):
        refused = estate.client.get(
            "/api/v1/vcenter/inventory", params={"limit": bad}, headers=headers
        )
        assert refused.status_code == 422
    assert estate.client.get("/api/v1/vcenter/inventory").status_code == 401


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_client_that_goes_away_ends_the_inventory_transaction(
    served: tuple[str, str],  # noqa: F811
    db_url: str,
) -> None:
    base_url, token = served
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(3):
        client = httpx.Client(base_url=base_url, headers=headers, timeout=30)
        with client, client.stream("GET", "/api/v1/vcenter/inventory") as response:
            assert response.status_code == 200
            received = b""
            # Held in a name: a dropped iterator closes the connection at once (httpcore
            # closes an unfinished stream), and the server would see the client gone.
            chunks = response.iter_bytes()
            for chunk in chunks:
                received += chunk
                # Into the VMs (the hosts' and networks' facts may pass 4 KiB before them).
                if b'"vms":[' in received and len(received) >= 4096:
                    break
            assert received.startswith(b'{"datacenters":[{')
            assert in_transaction(db_url) == 1
        deadline = time.monotonic() + 10
        while (count := in_transaction(db_url)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count == 0
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        whole = json.loads(client.get("/api/v1/vcenter/inventory").content)
    assert len(whole["vms"]) == VMS
    assert in_transaction(db_url) == 0
