"""Inventory lists over HTTP: filters, search, sort, keyset paging and 422s, on both backends."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.inventory_estate import HV_VMS, REMOVED_VM, RESIZED_VM, VC_VMS, vc_vm_name
from tests.api.inventory_fixtures import InventoryApi

PRESENT_VC_VMS = VC_VMS  # 24 VMs + 1 template - 1 removed
ALL_VMS = PRESENT_VC_VMS + HV_VMS


def names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


def test_page_shape_and_contract_keys(inventory_api: InventoryApi) -> None:
    page = inventory_api.get("/vms", limit=5)
    assert set(page) == {"items", "total", "next_cursor"}
    assert page["total"] == ALL_VMS
    assert len(page["items"]) == 5
    assert isinstance(page["next_cursor"], str)
    vm = page["items"][0]
    for key in (
        "id",
        "name",
        "power_state",
        "num_cpu",
        "memory_mib",
        "host",
        "cluster",
        "datacenter",
        "integration",
        "platform",
        "external_id",
        "uuid",
        "ip_addresses",
        "guest_os",
    ):
        assert key in vm


def test_items_match_the_cli_rows(inventory_api: InventoryApi) -> None:
    from iroa.inventory.queries import list_objects

    cli_rows = {row["id"]: row for row in list_objects(inventory_api.db, "hosts")}
    api_rows = inventory_api.all_items("/hosts")
    assert {row["id"]: row for row in api_rows} == cli_rows


@pytest.mark.parametrize(
    ("path", "total"),
    [("/hosts", 6), ("/clusters", 3), ("/datacenters", 1), ("/datastores", 3), ("/networks", 3)],
)
def test_every_type_is_listed(inventory_api: InventoryApi, path: str, total: int) -> None:
    page = inventory_api.get(path)
    assert page["total"] == total == len(page["items"])
    assert page["next_cursor"] is None


def test_cursor_paging_visits_every_vm_exactly_once(inventory_api: InventoryApi) -> None:
    for sort in ("name", "-name", "num_cpu", "-memory_mib", "guest_os", "-created_at", "-id"):
        seen = inventory_api.all_items("/vms", sort=sort, limit=4)
        ids = [vm["id"] for vm in seen]
        assert len(ids) == len(set(ids)) == ALL_VMS, sort


def test_sort_both_directions(inventory_api: InventoryApi) -> None:
    asc = inventory_api.all_items("/vms", sort="num_cpu", limit=7)
    desc = inventory_api.all_items("/vms", sort="-num_cpu", limit=7)
    assert [(v["num_cpu"], v["id"]) for v in asc] == sorted((v["num_cpu"], v["id"]) for v in asc)
    assert [(v["num_cpu"], v["id"]) for v in desc] == sorted(
        ((v["num_cpu"], v["id"]) for v in desc), reverse=True
    )
    by_name = inventory_api.all_items("/vms", sort="name", limit=7)
    by_name_desc = inventory_api.all_items("/vms", sort="-name", limit=7)
    assert by_name_desc == list(reversed(by_name))
    assert by_name == inventory_api.all_items("/vms", limit=7)  # name is the default


def test_nulls_sort_last_both_ways_and_page_through(inventory_api: InventoryApi) -> None:
    for sort in ("guest_os", "-guest_os"):
        items = inventory_api.all_items("/vms", sort=sort, limit=3)
        values = [v["guest_os"] for v in items]
        first_null = values.index(None)
        assert all(v is None for v in values[first_null:])
        assert all(v is not None for v in values[:first_null])
        assert len(items) == ALL_VMS


def test_filters(inventory_api: InventoryApi) -> None:
    api = inventory_api
    off = api.all_items("/vms", power_state="off")
    assert off and all(vm["power_state"] == "off" for vm in off)
    assert api.get("/vms", power_state="off")["total"] == len(off) == 6 + 1 + 2
    assert names(api.all_items("/vms", is_template="true")) == ["tmpl-ubuntu"]
    assert api.get("/vms", platform="hyperv")["total"] == HV_VMS
    assert api.get("/vms", platform="vcenter")["total"] == PRESENT_VC_VMS
    assert api.get("/vms", integration="hv1")["total"] == HV_VMS
    assert api.get("/vms", integration="nope")["total"] == 0
    prod = api.all_items("/vms", cluster="Prod")
    assert prod and {vm["cluster"] for vm in prod} == {"Prod"}
    assert api.all_items("/vms", cluster_id=prod[0]["cluster_id"]) == prod
    assert {vm["host"] for vm in api.all_items("/vms", host="esx3.dev")} == {"esx3.dev"}
    assert {vm["datacenter"] for vm in api.all_items("/vms", datacenter="DC1")} == {"DC1"}
    on_ssd = api.all_items("/vms", datastore="ds-ssd")
    assert len(on_ssd) == 12  # the even VMs
    on_backend = api.all_items("/vms", network="dvPG-Backend")
    assert len(on_backend) == 11  # VMs 12-22 (23 was removed)
    combined = api.all_items("/vms", datastore="ds-ssd", power_state="on", platform="vcenter")
    assert combined and all(vm["power_state"] == "on" for vm in combined)
    assert api.get("/vms", guest_os="Ubuntu Linux (64-bit)")["total"] == 11
    assert api.get("/hosts", cluster="Prod")["total"] == 2
    assert api.get("/hosts", in_maintenance="true")["total"] == 1
    assert api.get("/hosts", power_state="unknown")["total"] == 1
    assert api.get("/hosts", connection_state="disconnected")["total"] == 1
    assert api.get("/clusters", datacenter="DC1")["total"] == 2
    assert api.get("/datastores", type="CSV")["total"] == 1
    assert api.get("/datastores", platform="vcenter")["total"] == 2
    assert api.get("/networks", vlan_id=20)["total"] == 1
    assert api.get("/networks", type="external")["total"] == 1


def test_search_is_case_insensitive_over_name_hostname_ips_and_uuid(
    inventory_api: InventoryApi,
) -> None:
    api = inventory_api
    apps = names(api.all_items("/vms", q="app-"))
    assert sorted(apps) == sorted(vc_vm_name(i) for i in range(VC_VMS) if i % 3 == 0)
    assert names(api.all_items("/vms", q="HOST07.CORP")) == [vc_vm_name(7)]
    assert names(api.all_items("/vms", q="10.1.0.14")) == [vc_vm_name(4)]
    assert names(api.all_items("/vms", q="42110005")) == [vc_vm_name(5)]
    assert api.get("/vms", q="%")["total"] == 0  # wildcards are literal
    assert api.get("/vms", q="_")["total"] == 0
    assert api.get("/vms", q="  ")["total"] == ALL_VMS
    assert names(api.all_items("/hosts", q="HV-node")) == ["HV-NODE1", "HV-NODE2"]
    assert api.get("/datastores", q="nfs")["total"] == 1


def test_removed_objects_are_hidden_unless_asked_for(inventory_api: InventoryApi) -> None:
    removed_name = vc_vm_name(REMOVED_VM)
    assert removed_name not in names(inventory_api.all_items("/vms"))
    everything = inventory_api.all_items("/vms", include_removed="true")
    assert len(everything) == ALL_VMS + 1
    removed = [vm for vm in everything if vm["name"] == removed_name]
    assert removed[0]["removed_at"] is not None


def test_modified_values_are_current(inventory_api: InventoryApi) -> None:
    resized = inventory_api.all_items("/vms", q=vc_vm_name(RESIZED_VM))
    assert [vm["num_cpu"] for vm in resized] == [8]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "secret"}, "cannot sort vms by 'secret'"),
        ({"sort": "-ip_addresses"}, "cannot sort vms"),
        ({"sort": "host_id"}, "cannot sort vms"),
        ({"cursor": "not-a-cursor"}, "invalid cursor"),
        ({"cursor": "eyJ4IjoxfQ"}, "invalid cursor"),
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"power_state": "poweredOn"}, "power_state"),
        ({"platform": "xen"}, "platform"),
        ({"is_template": "maybe"}, "is_template"),
        ({"host_id": "x"}, "host_id"),
        ({"q": "x" * 201}, "q"),
        ({"integration": "a\x00b"}, "NUL"),
    ],
)
def test_bad_values_answer_422_with_a_clear_message(
    inventory_api: InventoryApi, params: dict, message: str
) -> None:
    response = inventory_api.client.get("/api/v1/vms", params=params)
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]


def test_cursor_of_another_sort_or_forged_values_is_refused(inventory_api: InventoryApi) -> None:
    cursor = inventory_api.get("/vms", sort="name", limit=2)["next_cursor"]
    response = inventory_api.client.get("/api/v1/vms", params={"sort": "-name", "cursor": cursor})
    assert response.status_code == 422
    assert "sort='name'" in response.json()["detail"]

    def forged(value: object, last_id: object = 1, sort: str = "num_cpu") -> str:
        raw = json.dumps({"s": sort, "v": value, "i": last_id}).encode()
        return base64.urlsafe_b64encode(raw).decode()

    for cursor, sort in [
        (forged("four"), "num_cpu"),
        (forged(2**70), "num_cpu"),
        (forged(2, last_id=2**70), "num_cpu"),
        (forged(True), "num_cpu"),
        (forged("yesterday", sort="created_at"), "created_at"),
        (forged("2025-01-01T00:00:00", sort="created_at"), "created_at"),
        (forged("0001-01-01T00:00:00+05:00", sort="created_at"), "created_at"),
        (base64.urlsafe_b64encode(b"[" * 1400).decode(), "name"),
        (forged(3, sort="is_template"), "is_template"),
    ]:
        response = inventory_api.client.get("/api/v1/vms", params={"sort": sort, "cursor": cursor})
        assert response.status_code == 422, (cursor, response.text)
    valid = forged("2025-06-01T12:00:00+00:00", last_id=0, sort="created_at")
    page = inventory_api.get("/vms", sort="created_at", cursor=valid)
    assert page["total"] == ALL_VMS


def test_lists_need_a_token(inventory_api: InventoryApi) -> None:
    for path in ("/vms", "/hosts", "/vcenter/vms", "/summary", "/changes"):
        response = inventory_api.client.get(f"/api/v1{path}", headers={"Authorization": ""})
        assert response.status_code == 401, path


def test_platform_vm_views_are_vms_with_the_platform_fixed(inventory_api: InventoryApi) -> None:
    api = inventory_api
    assert api.get("/vcenter/vms", limit=1000) == api.get("/vms", platform="vcenter", limit=1000)
    hyperv = api.get("/hyperv/vms", power_state="on")
    assert hyperv == api.get("/vms", platform="hyperv", power_state="on")
    assert hyperv["total"] == 4
    assert {vm["platform"] for vm in hyperv["items"]} == {"hyperv"}
    paged = api.all_items("/hyperv/vms", limit=2)
    assert len(paged) == HV_VMS


def test_platform_inventory_views(inventory_api: InventoryApi) -> None:
    response = inventory_api.client.get("/api/v1/hyperv/inventory")
    assert response.status_code == 200
    inventory = response.json()
    assert list(inventory) == ["datacenters", "clusters", "hosts", "datastores", "networks", "vms"]
    assert inventory["datacenters"] == []
    assert names(inventory["clusters"]) == ["HVC"]
    assert names(inventory["hosts"]) == ["HV-NODE1", "HV-NODE2"]
    assert len(inventory["vms"]) == HV_VMS
    assert {o["platform"] for items in inventory.values() for o in items} == {"hyperv"}
    assert "X-Truncated" not in response.headers
    assert "vms=6" in response.headers["X-Total-Counts"]

    capped = inventory_api.client.get("/api/v1/vcenter/inventory", params={"limit": 3})
    assert len(capped.json()["vms"]) == 3
    assert "vms" in capped.headers["X-Truncated"].split(",")
    assert f"vms={PRESENT_VC_VMS}" in capped.headers["X-Total-Counts"]
    full = inventory_api.get("/vcenter/inventory")
    assert len(full["vms"]) == PRESENT_VC_VMS
    assert names(full["clusters"]) == names(
        inventory_api.all_items("/clusters", platform="vcenter")
    )
