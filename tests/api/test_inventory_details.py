"""Detail endpoints: one object with its relations and changes; 404 for unknown ids."""

from __future__ import annotations

import pytest

from tests.api.inventory_estate import REMOVED_VM, RESIZED_VM, vc_vm_name
from tests.api.inventory_fixtures import InventoryApi


def find(api: InventoryApi, path: str, name: str, **params: object) -> dict:
    matches = [o for o in api.all_items(path, q=name, **params) if o["name"] == name]
    assert len(matches) == 1, (path, name)
    return matches[0]


def test_vm_detail_has_every_relation(inventory_api: InventoryApi) -> None:
    vm_id = find(inventory_api, "/vms", vc_vm_name(0))["id"]
    vm = inventory_api.get(f"/vms/{vm_id}")
    assert vm["name"] == "App-00"
    assert (vm["host"], vm["cluster"], vm["datacenter"]) == ("esx1.prod", "Prod", "DC1")
    assert vm["integration"] == "vc1" and vm["platform"] == "vcenter"
    assert [(d["label"], d["datastore"]) for d in vm["disks"]] == [("Hard disk 1", "ds-ssd")]
    assert [(n["label"], n["network"], n["mac_address"]) for n in vm["nics"]] == [
        ("Network adapter 1", "VM Network", "00:50:56:00:00:00")
    ]
    assert [s["name"] for s in vm["snapshots"]] == ["before upgrade", "after upgrade"]
    assert vm["snapshots"][1]["parent_external_id"] == "vm-0:snap-1"
    # The estate's snapshots carry no sizes: the fields are there, unknown.
    assert [(s["vmsn_bytes"], s["size_bytes"]) for s in vm["snapshots"]] == [(None, None)] * 2
    assert [d["name"] for d in vm["datastores"]] == ["ds-ssd"]
    assert [n["name"] for n in vm["networks"]] == ["VM Network"]
    assert vm["tags"] == [
        {"kind": "custom_attribute", "key": "backup", "value": "daily"},
        {"kind": "custom_attribute", "key": "owner", "value": "team-a"},
    ]
    assert [c["action"] for c in vm["changes"] if c["object_type"] == "vm"] == ["added"]
    assert {(c["object_type"], c["action"]) for c in vm["changes"]} == {
        (part, "added") for part in ("vm", "vm_disk", "vm_nic", "vm_snapshot")
    }
    assert vm["metrics"] is None


def test_vm_changes_are_newest_first_with_fields(inventory_api: InventoryApi) -> None:
    vm_id = find(inventory_api, "/vms", vc_vm_name(RESIZED_VM))["id"]
    changes = [c for c in inventory_api.get(f"/vms/{vm_id}")["changes"] if c["object_type"] == "vm"]
    assert [c["action"] for c in changes] == ["modified", "added"]
    assert changes[0]["fields"] == {"num_cpu": [2, 8]}
    assert changes[0]["changed_at"] > changes[1]["changed_at"]


def test_removed_vm_detail_stays_readable(inventory_api: InventoryApi) -> None:
    vm = find(inventory_api, "/vms", vc_vm_name(REMOVED_VM), include_removed="true")
    detail = inventory_api.get(f"/vms/{vm['id']}")
    assert detail["removed_at"] is not None
    assert detail["disks"] == [] and detail["datastores"] == []
    own = [c["action"] for c in detail["changes"] if c["object_type"] == "vm"]
    assert own == ["removed", "added"]


def test_host_detail(inventory_api: InventoryApi) -> None:
    host_id = find(inventory_api, "/hosts", "esx1.prod")["id"]
    host = inventory_api.get(f"/hosts/{host_id}")
    expected = inventory_api.all_items("/vms", host_id=host_id)
    assert host["vm_count"] == len(expected) == 7  # VMs 0, 4, … 20 and the template
    assert [vm["name"] for vm in host["vms"]] == [vm["name"] for vm in expected]
    assert set(host["vms"][0]) == {
        "id",
        "name",
        "power_state",
        "num_cpu",
        "memory_mib",
        "host",
        "cluster",
    }
    assert host["tags"] == [{"kind": "custom_attribute", "key": "rack", "value": "R12"}]
    assert host["cluster"] == "Prod"


def test_cluster_detail_with_totals(inventory_api: InventoryApi) -> None:
    cluster_id = find(inventory_api, "/clusters", "Prod")["id"]
    cluster = inventory_api.get(f"/clusters/{cluster_id}")
    assert [h["name"] for h in cluster["hosts"]] == ["esx1.prod", "esx2.prod"]
    vms = inventory_api.all_items("/vms", cluster_id=cluster_id)
    real = [vm for vm in vms if not vm["is_template"]]
    assert cluster["vm_count"] == len(vms)
    assert cluster["totals"] == {
        "hosts": 2,
        "host_cpu_cores": 32,
        "host_memory_mib": 2 * 262144,
        "vms": len(real),
        "vms_on": sum(vm["power_state"] == "on" for vm in real),
        "vcpus": sum(vm["num_cpu"] for vm in real),
        "vm_memory_mib": sum(vm["memory_mib"] for vm in real),
    }


def test_datastore_and_network_details_list_their_vms(inventory_api: InventoryApi) -> None:
    datastore = find(inventory_api, "/datastores", "ds-ssd")
    detail = inventory_api.get(f"/datastores/{datastore['id']}")
    on_it = inventory_api.all_items("/vms", datastore="ds-ssd")
    assert detail["vm_count"] == len(on_it) == 12
    assert [vm["id"] for vm in detail["vms"]] == [vm["id"] for vm in on_it]
    network = find(inventory_api, "/networks", "dvPG-Backend")
    detail = inventory_api.get(f"/networks/{network['id']}")
    assert detail["vm_count"] == 11
    assert detail["vlan_id"] == 20


def test_datacenter_detail_counts(inventory_api: InventoryApi) -> None:
    datacenter = find(inventory_api, "/datacenters", "DC1")
    detail = inventory_api.get(f"/datacenters/{datacenter['id']}")
    assert detail["counts"] == {
        "clusters": 2,
        "hosts": 4,
        "datastores": 2,
        "networks": 2,
        "vms": 24,
    }
    assert [c["name"] for c in detail["clusters"]] == ["Dev", "Prod"]


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("vms", "VM"),
        ("hosts", "host"),
        ("clusters", "cluster"),
        ("datacenters", "datacenter"),
        ("datastores", "datastore"),
        ("networks", "network"),
    ],
)
def test_unknown_ids_answer_404_and_bad_ids_422(
    inventory_api: InventoryApi, path: str, label: str
) -> None:
    response = inventory_api.client.get(f"/api/v1/{path}/999999")
    assert response.status_code == 404
    assert response.json()["detail"] == f"no {label} with id 999999"
    for bad in ("abc", "0", str(2**64)):
        assert inventory_api.client.get(f"/api/v1/{path}/{bad}").status_code == 422
