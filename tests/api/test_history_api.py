"""``as_of`` on the API lists, and the change feed's filters, after syncs with known changes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import openpyxl
import pytest

from iroa.history.retention import prune_changes
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.history import clear_snapshots
from tests.api.fixtures import Api
from tests.inventory.history_estate import run_sequence


@pytest.fixture
def synced(api: Api) -> Iterator[tuple[Api, list[datetime]]]:
    clear_snapshots()
    integration = add_integration(
        api.db, api.app.state.runtime.box, IntegrationInput("vcenter", "vc1", "https://vc1")
    )
    yield api, run_sequence(api.db, integration.id)
    clear_snapshots()


def get(api: Api, path: str, **params: object) -> dict:
    response = api.client.get(f"/api/v1{path}", params=params, headers=api.headers("viewer"))
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


def names(page: dict) -> list[str]:
    return [item["name"] for item in page["items"]]


def test_vms_as_of_each_moment(synced: tuple[Api, list[datetime]]) -> None:
    api, moments = synced
    expected = [
        [],
        ["vm0", "vm1", "vm2"],
        ["vm0-renamed", "vm1", "vm3"],
        ["vm0-final", "vm2", "vm3"],
    ]
    for moment, vms in zip(moments, expected, strict=True):
        assert names(get(api, "/vms", as_of=moment.isoformat())) == vms
    assert names(get(api, "/vms")) == expected[-1]
    first = get(api, "/vms", as_of=moments[1].isoformat().replace("+00:00", "Z"), limit=2)
    assert names(first) == ["vm0", "vm1"] and first["total"] == 3
    second = get(api, "/vms", as_of=moments[1].isoformat(), limit=2, cursor=first["next_cursor"])
    assert names(second) == ["vm2"] and second["next_cursor"] is None
    hosts = get(api, "/hosts", as_of=moments[1].isoformat(), sort="-name")
    assert names(hosts) == ["esx2", "esx1"]
    assert names(get(api, "/vms", as_of=moments[2].isoformat(), host="esx2")) == ["vm0-renamed"]
    for path in ("/clusters", "/datacenters", "/datastores", "/networks"):
        assert get(api, path, as_of=moments[0].isoformat())["total"] == 0
        assert get(api, path, as_of=moments[1].isoformat())["total"] > 0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"as_of": "yesterday"}, "as_of must be an ISO-8601 timestamp"),
        ({"as_of": "2026-11-26T10:00:00Z", "include_removed": "true"}, "include_removed cannot"),
    ],
)
def test_bad_as_of_answers_422(
    synced: tuple[Api, list[datetime]], params: dict[str, str], message: str
) -> None:
    api, _ = synced
    response = api.client.get("/api/v1/vms", params=params, headers=api.headers("viewer"))
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_as_of_before_the_horizon_answers_422(synced: tuple[Api, list[datetime]]) -> None:
    api, moments = synced
    prune_changes(api.db, 1, now=moments[2] + timedelta(days=1))
    response = api.client.get(
        "/api/v1/vms", params={"as_of": moments[1].isoformat()}, headers=api.headers("viewer")
    )
    assert response.status_code == 422
    assert "before the history horizon" in response.json()["detail"]
    assert names(get(api, "/vms", as_of=moments[3].isoformat())) == ["vm0-final", "vm2", "vm3"]


def test_change_feed_filters(synced: tuple[Api, list[datetime]]) -> None:
    api, moments = synced
    everything = get(api, "/changes", limit=1000)
    assert everything["total"] == len(everything["items"]) > 0
    memory = get(api, "/changes", field="memory_mib")["items"]
    assert [(c["object_name"], c["action"], c["fields"]["memory_mib"]) for c in memory] == [
        ("vm2", "added", [4096, 16384]),
        ("vm0-renamed", "modified", [4096, 8192]),
    ]
    moved = get(api, "/changes", field="host_external_id", object_type="vm")["items"]
    assert [c["fields"]["host_external_id"] for c in moved] == [["host-1", "host-2"]]
    second = get(
        api, "/changes", since=moments[1].isoformat(), until=moments[2].isoformat(), limit=1000
    )["items"]
    assert second and all(moments[1].isoformat() <= c["changed_at"] for c in second)
    assert {c["sync_run_id"] for c in second} == {second[0]["sync_run_id"]}
    removed_vms = get(api, "/changes", action="removed", object_type="vm")["items"]
    assert sorted(c["object_name"] for c in removed_vms) == ["vm1", "vm2"]
    vm0 = get(api, "/vms", q="vm0-final")["items"][0]
    own = get(api, "/changes", object_type="vm", object_id=vm0["id"])["items"]
    assert [c["action"] for c in own] == ["modified", "modified", "added"]
    assert get(api, "/changes", integration="vc1")["total"] == everything["total"]
    assert get(api, "/changes", integration="other")["total"] == 0
    response = api.client.get(
        "/api/v1/changes", params={"field": "no_such_field"}, headers=api.headers("viewer")
    )
    assert response.status_code == 422 and "unknown field" in response.json()["detail"]


def test_vm_timeline_holds_its_parts_with_old_and_new_values(
    synced: tuple[Api, list[datetime]],
) -> None:
    api, _ = synced
    vm0 = get(api, "/vms", q="vm0-final")["items"][0]
    timeline = get(api, f"/vms/{vm0['id']}")["changes"]
    kinds = [(c["object_type"], c["action"]) for c in timeline]
    assert ("vm_disk", "modified") in kinds and ("vm_snapshot", "added") in kinds
    renames = [c["fields"]["name"] for c in timeline if c["fields"] and "name" in c["fields"]]
    assert renames == [["vm0-renamed", "vm0-final"], ["vm0", "vm0-renamed"]]
    disk = next(c for c in timeline if c["object_type"] == "vm_disk" and c["fields"])
    assert disk["fields"]["datastore_external_id"] == ["ds-1", "ds-2"]


def test_exports_as_of(synced: tuple[Api, list[datetime]]) -> None:
    api, moments = synced
    operator = api.headers("operator")
    response = api.client.get(
        "/api/v1/export/vms.csv", params={"as_of": moments[1].isoformat()}, headers=operator
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["name"] for row in rows] == ["vm0", "vm1", "vm2"]
    response = api.client.get(
        "/api/v1/export.xlsx", params={"as_of": moments[2].isoformat()}, headers=operator
    )
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    vinfo = list(workbook["vInfo"].iter_rows(values_only=True))
    assert sorted(str(row[0]) for row in vinfo[1:]) == ["vm0-renamed", "vm1", "vm3"]
    workbook.close()
    bad = api.client.get("/api/v1/export.xlsx", params={"as_of": "x"}, headers=operator)
    assert bad.status_code == 422 and "as_of must be" in bad.json()["detail"]
    prune_changes(api.db, 1, now=moments[2] + timedelta(days=1))
    for path in ("/api/v1/export.xlsx", "/api/v1/export/vInfo.csv"):
        early = api.client.get(path, params={"as_of": moments[1].isoformat()}, headers=operator)
        assert early.status_code == 422, path
        assert "before the history horizon" in early.json()["detail"]
