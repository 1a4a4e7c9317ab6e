"""The summary (KPIs from the latest successful runs) and the change log."""

from __future__ import annotations

from datetime import datetime, timedelta

from iroa.db.engine import Database
from iroa.inventory.overview import get_summary
from iroa.sync.history import list_runs
from iroa.sync.models import SyncRun
from tests.api.inventory_estate import (
    GIB,
    HV_VMS,
    REMOVED_VM,
    VC_VMS,
    add_inventory_integration,
    build_estate,
    vc_vm_name,
)
from tests.api.inventory_fixtures import InventoryApi


def test_summary_matches_what_was_synced(inventory_api: InventoryApi) -> None:
    summary = inventory_api.get("/summary")
    assert set(summary) == {"totals", "platforms", "integrations", "findings"}
    by_name = {i["name"]: i for i in summary["integrations"]}
    vc, hv = by_name["vc1"], by_name["hv1"]
    vms = inventory_api.all_items("/vms", platform="vcenter")
    real = [vm for vm in vms if not vm["is_template"]]
    assert vc["vms"] == len(real) == VC_VMS - 1
    assert vc["templates"] == 1
    assert vc["vms_on"] == sum(vm["power_state"] == "on" for vm in real)
    assert vc["vcpus"] == sum(vm["num_cpu"] for vm in real)
    assert vc["vm_memory_mib"] == sum(vm["memory_mib"] for vm in real)
    assert vc["hosts"] == 4 and vc["clusters"] == 2 and vc["datastores"] == 2
    assert vc["storage_capacity_bytes"] == 6000 * GIB
    assert vc["storage_free_bytes"] == 3800 * GIB
    assert vc["sync_run_id"] == max(r["id"] for r in list_runs(inventory_api.db, "vc1"))
    assert hv["vms"] == HV_VMS and hv["vms_on"] == 4 and hv["host_cpu_cores"] == 64
    assert summary["platforms"]["vcenter"]["vms"] == vc["vms"]
    assert summary["platforms"]["hyperv"]["hosts"] == 2
    totals = summary["totals"]
    assert totals["integrations"] == 2
    assert totals["vms"] == vc["vms"] + hv["vms"]
    assert totals["storage_capacity_bytes"] == (6000 + 8000) * GIB
    assert totals["vcpu_per_core"] == round(
        (vc["vcpus_on"] + hv["vcpus_on"]) / (vc["host_cpu_cores"] + hv["host_cpu_cores"]), 3
    )


def test_summary_uses_latest_succeeded_run_and_lists_unsynced_integrations(
    db: Database,
) -> None:
    ids = build_estate(db)
    add_inventory_integration(db, "hyperv", "never-synced")
    with db.write_session() as session:  # a later failed run must not hide the last good one
        session.add(
            SyncRun(
                integration_id=ids.vcenter_id,
                trigger="manual",
                status="failed",
                started_at=datetime.now().astimezone(),
                error="cannot connect",
            )
        )
    summary = get_summary(db)
    by_name = {i["name"]: i for i in summary["integrations"]}
    assert by_name["vc1"]["vms"] == VC_VMS - 1
    assert by_name["never-synced"]["sync_run_id"] is None
    assert by_name["never-synced"]["vms"] is None
    assert summary["platforms"]["hyperv"]["integrations"] == 1


def test_changes_filters_and_paging(inventory_api: InventoryApi) -> None:
    api = inventory_api
    everything = api.all_items("/changes", limit=37)
    assert len(everything) == api.get("/changes")["total"]
    keys = [(c["changed_at"], c["id"]) for c in everything]
    assert keys == sorted(keys, reverse=True)
    assert len({c["id"] for c in everything}) == len(everything)

    removed = api.get("/changes", action="removed", object_type="vm")
    assert [c["object_name"] for c in removed["items"]] == [vc_vm_name(REMOVED_VM)]
    assert removed["items"][0]["integration"] == "vc1"
    modified = api.get("/changes", action="modified")["items"]
    assert [(c["object_type"], c["fields"]) for c in modified] == [("vm", {"num_cpu": [2, 8]})]
    hv = api.all_items("/changes", integration="hv1")
    assert hv and {c["platform"] for c in hv} == {"hyperv"}
    assert {c["action"] for c in hv} == {"added"}
    one_vm = api.get("/changes", object_type="vm", object_id=modified[0]["object_id"])
    assert [c["action"] for c in one_vm["items"]] == ["modified", "added"]

    latest = datetime.fromisoformat(everything[0]["changed_at"])
    since = api.get("/changes", since=latest.isoformat())
    assert since["total"] == sum(c["changed_at"] == everything[0]["changed_at"] for c in everything)
    until = api.get("/changes", until=latest.isoformat())
    assert until["total"] == len(everything) - since["total"]
    naive = latest.replace(tzinfo=None) + timedelta(seconds=1)
    assert api.get("/changes", since=naive.isoformat())["total"] == 0


def test_changes_refuse_bad_values(inventory_api: InventoryApi) -> None:
    for params, message in [
        ({"object_type": "vms"}, "unknown object_type 'vms'"),
        ({"action": "deleted"}, "action"),
        ({"since": "yesterday"}, "since"),
        ({"cursor": "zzz"}, "invalid cursor"),
        ({"limit": 5000}, "limit"),
    ]:
        response = inventory_api.client.get("/api/v1/changes", params=params)
        assert response.status_code == 422, params
        assert message in response.json()["detail"]


def test_timestamps_beyond_utc_range_answer_422(inventory_api: InventoryApi) -> None:
    for since in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"):
        response = inventory_api.client.get("/api/v1/changes", params={"since": since})
        assert response.status_code == 422, response.text
        assert "since is out of range" in response.json()["detail"]
