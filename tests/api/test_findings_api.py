"""``/api/v1/findings``: filters, sorting, keyset paging, counts and detail badges, on the
shared test estate (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from iroa.db.engine import Database
from tests.api.inventory_estate import hyperv_snapshot, sync_snapshot
from tests.api.inventory_fixtures import InventoryApi, open_inventory_api

# What the estate of tests/api/inventory_estate.py holds with the default thresholds.
OPEN = {
    ("host_unreachable", "host", "esx4.standalone", "critical"),
    ("snapshot_too_old", "vm", "App-00", "warning"),
    ("host_in_maintenance", "host", "esx2.prod", "info"),
    *{("guest_tools_not_running", "vm", f"hv-vm{i}", "warning") for i in range(4)},
}
SORTS = ("severity", "-severity", "rule", "-object_name", "first_seen_at", "-last_seen_at", "id")


def keys(items: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {(f["rule"], f["object_type"], f["object_name"], f["severity"]) for f in items}


def test_lists_open_findings_most_severe_first(inventory_api: InventoryApi) -> None:
    page = inventory_api.get("/findings")
    assert page["total"] == len(OPEN) and page["next_cursor"] is None
    assert keys(page["items"]) == OPEN
    levels = [("info", "warning", "critical").index(f["severity"]) for f in page["items"]]
    assert levels == sorted(levels, reverse=True)
    first = page["items"][0]
    assert first["integration"] == "vc1" and first["platform"] == "vcenter"
    assert first["rule_title"] == "Host disconnected" and first["status"] == "open"
    assert first["message"] == "connection state is disconnected"
    assert first["resolved_at"] is None and first["first_seen_at"] <= first["last_seen_at"]
    assert set(first) >= {"id", "object_id", "object_external_id"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": "warning"}, {k for k in OPEN if k[3] == "warning"}),
        ({"rule": "guest_tools_not_running"}, {k for k in OPEN if k[0].startswith("guest")}),
        ({"object_type": "host"}, {k for k in OPEN if k[1] == "host"}),
        ({"integration": "hv1"}, {k for k in OPEN if k[2].startswith("hv-")}),
        ({"platform": "vcenter"}, {k for k in OPEN if not k[2].startswith("hv-")}),
        ({"q": "ESX4"}, {k for k in OPEN if k[2] == "esx4.standalone"}),
        ({"q": "snapshot"}, {k for k in OPEN if k[0] == "snapshot_too_old"}),
        ({"q": "100%_"}, set()),
        ({"status": "resolved"}, set()),
        ({"status": "all"}, OPEN),
        ({"severity": "critical", "integration": "hv1"}, set()),
    ],
)
def test_filters(inventory_api: InventoryApi, params: dict[str, str], expected: set[Any]) -> None:
    page = inventory_api.get("/findings", **params)
    assert keys(page["items"]) == expected
    assert page["total"] == len(expected)


def test_object_id_filter_gives_one_objects_findings(inventory_api: InventoryApi) -> None:
    host = inventory_api.get("/hosts", q="esx4")["items"][0]
    page = inventory_api.get("/findings", object_type="host", object_id=host["id"])
    assert [f["rule"] for f in page["items"]] == ["host_unreachable"]


@pytest.mark.parametrize("sort", SORTS)
def test_keyset_pages_cover_the_list_once_in_order(inventory_api: InventoryApi, sort: str) -> None:
    whole = inventory_api.get("/findings", sort=sort, limit=1000)["items"]
    paged = inventory_api.all_items("/findings", sort=sort, limit=2)
    assert [f["id"] for f in paged] == [f["id"] for f in whole]
    assert len(paged) == len(OPEN)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "message"}, "cannot sort findings by 'message'"),
        ({"cursor": "garbage"}, "invalid cursor"),
        ({"severity": "fatal"}, ""),
        ({"rule": "no_such_rule"}, ""),
        ({"limit": 0}, ""),
    ],
)
def test_bad_parameters_get_422(
    inventory_api: InventoryApi, params: dict[str, Any], message: str
) -> None:
    response = inventory_api.client.get("/api/v1/findings", params=params)
    assert response.status_code == 422
    assert message in response.text


def test_a_cursor_belongs_to_its_sort(inventory_api: InventoryApi) -> None:
    cursor = inventory_api.get("/findings", sort="rule", limit=1)["next_cursor"]
    response = inventory_api.client.get(
        "/api/v1/findings", params={"sort": "-rule", "cursor": cursor}
    )
    assert response.status_code == 422 and "belongs to sort='rule'" in response.text


def test_counts_per_severity_on_the_summary(inventory_api: InventoryApi) -> None:
    expected = {"critical": 1, "warning": 5, "info": 1, "total": 7}
    assert inventory_api.get("/summary")["findings"] == expected
    summary = inventory_api.get("/findings/summary")
    assert summary["open"] == expected
    assert summary["by_rule"] == {
        "host_unreachable": {"critical": 1},
        "snapshot_too_old": {"warning": 1},
        "guest_tools_not_running": {"warning": 4},
        "host_in_maintenance": {"info": 1},
    }


def test_rule_catalogue(inventory_api: InventoryApi) -> None:
    rules = {rule["id"]: rule for rule in inventory_api.get("/findings/rules")}
    assert len(rules) == 26
    assert rules["guest_partition_low_free_space"]["condition"] == (
        "a guest file system (VMware Tools) with free space below 10% (warning) or 5% (critical)"
    )
    assert rules["vm_cdrom_connected"]["severity"] == "warning"
    assert rules["datastore_too_many_vms"]["condition"] == "more than 30 VMs on the datastore"
    assert rules["hardware_version_old"]["condition"] == "virtual hardware below vmx-13"
    assert rules["snapshot_too_old"]["condition"] == "oldest snapshot older than 7 days"
    assert rules["vm_idle"]["condition"].startswith("a running VM whose CPU use stayed under 5%")
    assert all(rule["condition"] for rule in rules.values() if rule["active"])
    assert rules["cpu_overcommit"]["object_types"] == ["cluster", "host"]
    assert all(rule["active"] and rule["needs"] is None for rule in rules.values())
    assert rules["vm_not_in_zabbix"]["condition"] == (
        "no monitored Zabbix host matches the VM (once an enabled Zabbix integration has synced)"
    )
    assert rules["vm_zabbix_problems"]["severity"] == "critical"
    assert rules["host_not_in_zabbix"]["object_types"] == ["host"]


def test_details_carry_their_open_findings(inventory_api: InventoryApi) -> None:
    host = inventory_api.get("/hosts", q="esx4")["items"][0]
    detail = inventory_api.get(f"/hosts/{host['id']}")
    assert [(f["rule"], f["severity"], f["rule_title"]) for f in detail["findings"]] == [
        ("host_unreachable", "critical", "Host disconnected")
    ]
    vm = inventory_api.get("/vms", q="App-00")["items"][0]
    assert [f["rule"] for f in inventory_api.get(f"/vms/{vm['id']}")["findings"]] == [
        "snapshot_too_old"
    ]
    for plural in ("clusters", "datastores"):
        first = inventory_api.get(f"/{plural}", limit=1)["items"][0]
        assert inventory_api.get(f"/{plural}/{first['id']}")["findings"] == []
    network = inventory_api.get("/networks", limit=1)["items"][0]
    assert "findings" not in inventory_api.get(f"/networks/{network['id']}")


def test_resolved_findings_are_listed_apart(db: Database, tmp_path: Path) -> None:
    with open_inventory_api(db, tmp_path) as api:
        fixed = hyperv_snapshot()
        fixed = dataclasses.replace(
            fixed, vms=[dataclasses.replace(v, tools_status="Up to date") for v in fixed.vms]
        )
        sync_snapshot(db, api.ids.hyperv_id, fixed)
        resolved = api.get("/findings", status="resolved")
        assert keys(resolved["items"]) == {k for k in OPEN if k[2].startswith("hv-")}
        assert all(f["status"] == "resolved" and f["resolved_at"] for f in resolved["items"])
        assert api.get("/findings")["total"] == 3
        assert api.get("/findings", status="all")["total"] == 7
        assert api.get("/summary")["findings"]["warning"] == 1
