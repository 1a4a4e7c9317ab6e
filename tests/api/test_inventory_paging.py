"""Keyset paging stays exact while a sync changes the list between two pages."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from iroa.connectors.base import VmRecord
from iroa.db.engine import Database
from iroa.paging import encode_cursor
from tests.api.inventory_estate import sync_snapshot, vcenter_snapshot
from tests.api.inventory_fixtures import open_inventory_api


def test_paging_neither_repeats_nor_skips_when_objects_come_and_go(
    db: Database, tmp_path: Path
) -> None:
    with open_inventory_api(db, tmp_path) as api:
        first = api.get("/vms", sort="name", limit=10)
        before = {vm["id"]: vm["name"] for vm in api.all_items("/vms", sort="name")}
        cursor_name = first["items"][-1]["name"]
        snapshot = vcenter_snapshot()
        later = [vm for vm in snapshot.vms if vm.name > cursor_name]
        gone = later[-1]  # not yet seen: removed between the pages
        snapshot = dataclasses.replace(
            snapshot,
            vms=[
                *(vm for vm in snapshot.vms if vm.external_id != gone.external_id),
                VmRecord("vm-new-early", "AAA-first", power_state="on"),  # before the cursor
                VmRecord("vm-new-late", "zzz-last", power_state="on"),  # after the cursor
            ],
            vm_disks=[d for d in snapshot.vm_disks if d.vm_external_id != gone.external_id],
            vm_nics=[n for n in snapshot.vm_nics if n.vm_external_id != gone.external_id],
            vm_datastores=[
                r for r in snapshot.vm_datastores if r.vm_external_id != gone.external_id
            ],
            vm_networks=[r for r in snapshot.vm_networks if r.vm_external_id != gone.external_id],
        )
        sync_snapshot(db, api.ids.vcenter_id, snapshot)
        rest: list[dict] = []
        cursor = first["next_cursor"]
        while cursor:
            page = api.get("/vms", sort="name", limit=10, cursor=cursor)
            rest += page["items"]
            cursor = page["next_cursor"]
        seen = [vm["id"] for vm in first["items"] + rest]
        assert len(seen) == len(set(seen))
        stayed = {i for i, name in before.items() if name != gone.name}
        assert stayed <= set(seen)
        assert gone.name not in {vm["name"] for vm in rest}
        assert "AAA-first" not in {vm["name"] for vm in rest}
        assert "zzz-last" in {vm["name"] for vm in rest}


def test_search_follows_renames_and_removals(db: Database, tmp_path: Path) -> None:
    """On SQLite the search index is kept by triggers: it must see every sync's writes."""
    with open_inventory_api(db, tmp_path) as api:
        renamed = vcenter_snapshot({5: {"name": "Renamed-Box", "ip_addresses": ("172.16.9.9",)}})
        snapshot = dataclasses.replace(
            renamed, vms=[vm for vm in renamed.vms if vm.external_id != "vm-7"]
        )
        sync_snapshot(db, api.ids.vcenter_id, snapshot)
        assert [vm["name"] for vm in api.all_items("/vms", q="renamed-box")] == ["Renamed-Box"]
        assert [vm["name"] for vm in api.all_items("/vms", q="172.16.9")] == ["Renamed-Box"]
        assert api.get("/vms", q="web-05")["total"] == 0
        assert api.get("/vms", q="web-07")["total"] == 0
        removed = api.all_items("/vms", q="web-07", include_removed="true")
        assert [vm["removed_at"] is not None for vm in removed] == [True]
        sync_snapshot(db, api.ids.vcenter_id, vcenter_snapshot())  # vm-7 comes back
        assert api.get("/vms", q="web-07")["total"] == 1
        assert api.get("/vms", q="renamed")["total"] == 0


def test_every_page_carries_the_total_even_past_the_last_object(
    db: Database, tmp_path: Path
) -> None:
    with open_inventory_api(db, tmp_path) as api:
        for plural in ("vms", "hosts", "datastores"):
            total = api.get(f"/{plural}")["total"]
            assert total > 1
            first = api.get(f"/{plural}", limit=1)
            assert first["total"] == total and len(first["items"]) == 1
            # A cursor past the last object (its objects removed after the page was read):
            # no row carries the total, so it is counted on its own.
            beyond = encode_cursor("name", "\U0010ffff", 2**62)
            empty = api.get(f"/{plural}", cursor=beyond)
            assert (empty["items"], empty["total"], empty["next_cursor"]) == ([], total, None)
            nothing = api.get(f"/{plural}", q="no-object-is-called-this")
            assert (nothing["items"], nothing["total"]) == ([], 0)
