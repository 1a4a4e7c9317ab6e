"""The read side of who did it, end to end against VMware's simulator: events and actors as
real syncs leave them, read by the events list, the change feed, details and the VM page's
header."""

from __future__ import annotations

from typing import Any

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.inventory.details import get_object
from iroa.inventory.events import list_events
from iroa.inventory.listing import ListParams, list_page
from iroa.inventory.overview import list_changes
from iroa.web.inventory import powered_by
from tests.peers import vsphere_ops as ops
from tests.sync.test_vcenter_sync import SMALL, new_integration, sync


def test_a_vm_powered_off_in_vcenter_reads_as_powered_off_by_its_user(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(SMALL)
    si = ops.connect(server)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).status == "succeeded"
    ops.power_off(si, "DC0_H0_VM0")
    assert sync(db, integration_id, server).status == "succeeded"

    vm = list_page(db, "vms", ListParams(q="DC0_H0_VM0")).items[0]
    offs = list_events(db, event_type="VmPoweredOffEvent").items
    assert [(e["user"], e["object_type"], e["object_id"]) for e in offs] == [
        (server.username, "vm", vm["id"])
    ]
    assert list_events(db, object_type="vm", object_id=vm["id"]).items[0] == offs[0]
    by_user = list_changes(db, actor=server.username).items
    assert [(c["object_id"], c["event"]) for c in by_user] == [(vm["id"], "VmPoweredOffEvent")]
    detail = get_object(db, "vms", vm["id"])
    assert detail is not None and detail["events"][0]["type"] == "VmPoweredOffEvent"
    header = powered_by(db, detail)
    assert header is not None and header["actor"] == server.username
    assert header["at"].isoformat() == offs[0]["created_at"]  # when vCenter logged it
