"""End to end: changes made in VMware's simulator reach the database through a watcher
within 2 s (both backends), and a full sync afterwards finds nothing left to write."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from pyVmomi import vim
from sqlalchemy import select

from iroa.connectors.base import ConnectionOptions
from iroa.connectors.vcenter.connector import VCenterConnector
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.history.models import Change, Event
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.models import Tag, VmSnapshot
from iroa.inventory.queries import list_objects
from iroa.sync.engine import run_sync
from iroa.sync.models import SyncRun
from iroa.sync.runs import SyncResult
from iroa.sync.service import SyncDeps
from iroa.sync.watching import Backoff, WatchStatus, watch_integration
from iroa.vocabulary import RunStatus, Trigger, WatchState
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology, VcsimServer
from tests.peers.vsphere_tags import Tagging

# Asserts on wall-clock delays: runs after the parallel tests, alone (see the Makefile).
pytestmark = pytest.mark.serial

TOPOLOGY = Topology(
    datacenters=1, clusters=1, hosts_per_cluster=2, standalone_hosts=1, vms_per_host=5
)
"""Ten VMs: enough for the safeguard to weigh their removal."""
DELAY_S = 2.0
"""How soon a change in vCenter must be in the database."""


@dataclass
class Watching:
    db: Database
    server: VcsimServer
    si: Any
    integration_id: int
    statuses: list[WatchStatus] = field(default_factory=list)
    results: list[SyncResult] = field(default_factory=list)

    def vm(self, name: str, include_removed: bool = False) -> dict[str, Any] | None:
        rows = list_objects(self.db, "vms", include_removed=include_removed)
        return next((row for row in rows if row["name"] == name), None)

    def host(self, name: str) -> dict[str, Any]:
        return next(row for row in list_objects(self.db, "hosts") if row["name"] == name)

    def within(self, what: str, check: Callable[[], bool], timeout: float = DELAY_S) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, (
                f"{what}: not within {timeout} s (last state: {self.statuses[-1:]})"
            )
            time.sleep(0.05)

    def state(self) -> WatchState | None:
        return self.statuses[-1].state if self.statuses else None


@pytest.fixture
def watching(db: Database, box: SecretBox, vcsim: Any) -> Iterator[Watching]:
    server: VcsimServer = vcsim(TOPOLOGY)
    integration = add_integration(
        db,
        box,
        IntegrationInput(
            "vcenter", "vc", server.url, username=server.username, password=server.password
        ),
    )
    watch = Watching(db, server, ops.connect(server), integration.id)
    stop = threading.Event()
    thread = threading.Thread(
        target=watch_integration,
        args=(SyncDeps(db, box), integration.id, stop),
        kwargs={
            "on_status": watch.statuses.append,
            "on_result": watch.results.append,
            "backoff": Backoff(first_s=0.2, max_s=1.0, failed_s=1.0),
            "wait_s": 1.0,
            "events_idle_s": 1.0,
        },
        daemon=True,
    )
    thread.start()
    try:
        watch.within("the baseline", lambda: watch.state() == WatchState.LIVE, timeout=60)
        yield watch
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the watcher did not stop"
    assert watch.state() == WatchState.OFF


DISK_NOISE = {"free_bytes", "provisioned_bytes"}
"""The simulator reads its datastores' free space from the local disk at every read, and
never reports it changing: a full sync may see other free space than the watcher did."""


def full_sync_changes(watch: Watching) -> list[tuple[Any, ...]]:
    """What a full sync writes now, but for the simulator's own disk noise."""
    options = ConnectionOptions(
        url=watch.server.url, username=watch.server.username, password=watch.server.password
    )
    result = run_sync(watch.db, watch.integration_id, VCenterConnector(options))
    assert result.status == RunStatus.SUCCEEDED, result.error
    with watch.db.session() as session:
        rows = session.execute(
            select(Change.object_type, Change.external_id, Change.action, Change.fields).where(
                Change.sync_run_id == result.run_id
            )
        ).all()
    return [
        tuple(row)
        for row in rows
        if not (row.object_type == "datastore" and set(row.fields or {}) <= DISK_NOISE)
    ]


def test_every_kind_of_change_arrives_within_two_seconds(watching: Watching) -> None:
    w, si = watching, watching.si
    names = ops.list_vm_names(si)
    assert w.results[0].status == RunStatus.SUCCEEDED  # the baseline, a run of its own
    assert len(list_objects(w.db, "vms")) == len(names)

    ops.power_off(si, names[0])
    w.within("power off", lambda: w.vm(names[0])["power_state"] == "off")  # type: ignore[index]
    ops.power_on(si, names[0])
    w.within("power on", lambda: w.vm(names[0])["power_state"] == "on")  # type: ignore[index]
    ops.suspend(si, names[1])
    w.within("suspend", lambda: w.vm(names[1])["power_state"] == "suspended")  # type: ignore[index]
    ops.rename_vm(si, names[2], "renamed-vm")
    w.within("rename", lambda: w.vm("renamed-vm") is not None)
    ops.reconfigure_vm(si, names[3], num_cpu=4, memory_mib=2048)
    w.within(
        "reconfigure",
        lambda: (
            (w.vm(names[3]) or {}).get("num_cpu") == 4
            and (w.vm(names[3]) or {}).get("memory_mib") == 2048
        ),
    )
    ops.create_vm(si, "watched-new", like=names[4])
    w.within("a new VM", lambda: w.vm("watched-new") is not None)
    ops.create_snapshot(si, names[4], "before-change")
    w.within("snapshot create", lambda: _snapshots(w, names[4]) == ["before-change"])
    ops.remove_snapshots(si, names[4])
    w.within("snapshot remove", lambda: _snapshots(w, names[4]) == [])
    destroyed = names[5]
    ops.destroy_vm(si, destroyed)
    w.within("destroy", lambda: w.vm(destroyed) is None)
    assert (w.vm(destroyed, include_removed=True) or {}).get("removed_at") is not None

    vm = w.vm(names[0])
    assert vm is not None and vm["cluster"] is not None
    hosts = [h for h in list_objects(w.db, "hosts") if h["cluster"] == vm["cluster"]]
    target = next(h["name"] for h in hosts if h["name"] != vm["host"])
    ops.relocate_vm(si, names[0], target)
    w.within("relocate", lambda: (w.vm(names[0]) or {}).get("host") == target)
    ops.enter_maintenance(si, target)
    w.within("maintenance", lambda: w.host(target)["in_maintenance"] is True)

    assert all(r.status == RunStatus.SUCCEEDED for r in w.results)
    assert full_sync_changes(w) == []


def _snapshots(w: Watching, vm_name: str) -> list[str]:
    vm = w.vm(vm_name)
    assert vm is not None
    with w.db.engine.connect() as conn:
        rows = conn.execute(
            select(VmSnapshot.name).where(
                VmSnapshot.vm_id == vm["id"], VmSnapshot.removed_at.is_(None)
            )
        ).all()
    return sorted(row[0] for row in rows)


def test_a_watched_vm_keeps_its_snapshot_sizes(watching: Watching) -> None:
    """Sizes are not watched (layoutEx): a VM read again for another change reads them
    again the same way, so a delta neither blanks them nor leaves a full sync work."""
    w, si = watching, watching.si
    name = ops.list_vm_names(si)[0]
    ops.create_snapshot(si, name, "kept")
    w.within("snapshot create", lambda: _snapshots(w, name) == ["kept"])
    ops.power_off(si, name)  # another change of the same VM: a delta that reads it again
    w.within("power off", lambda: (w.vm(name) or {}).get("power_state") == "off")
    vm = w.vm(name)
    assert vm is not None
    with w.db.engine.connect() as conn:
        sizes = conn.execute(
            select(VmSnapshot.vmsn_bytes, VmSnapshot.size_bytes).where(
                VmSnapshot.vm_id == vm["id"], VmSnapshot.removed_at.is_(None)
            )
        ).all()
    assert [tuple(row) for row in sizes] == [(0, 0)]  # the simulator's files are of size 0
    assert full_sync_changes(w) == []


def test_watch_runs_are_recorded_with_their_trigger(watching: Watching) -> None:
    names = ops.list_vm_names(watching.si)
    ops.power_off(watching.si, names[0])
    watching.within("a delta run", lambda: len(watching.results) >= 2)
    with watching.db.engine.connect() as conn:
        triggers = {row[0] for row in conn.execute(select(SyncRun.trigger)).all()}
    assert triggers == {Trigger.WATCH}


def test_a_restarted_vcenter_is_read_again_and_guarded(watching: Watching) -> None:
    w = watching
    names = ops.list_vm_names(w.si)
    ops.destroy_vm(w.si, names[0])
    w.within("destroy", lambda: w.vm(names[0]) is None)

    w.server.kill()
    w.within("reconnecting", lambda: w.state() == WatchState.RECONNECTING, timeout=15)
    w.server.start()  # its first inventory again: the destroyed VM is back
    w.within("a new baseline", lambda: w.vm(names[0]) is not None, timeout=30)
    # Right after its start the simulator may still drop a connection: the watcher then
    # reconnects by itself.
    w.within("live again", lambda: w.state() == WatchState.LIVE, timeout=15)

    w.server.kill()
    w.server.topology = dataclasses.replace(TOPOLOGY, vms_per_host=0)
    w.server.start()  # every VM gone: the safeguard holds the baseline
    w.within("a held baseline", lambda: w.state() == WatchState.FAILED, timeout=30)
    assert "nothing was changed" in (w.statuses[-1].reason or "")
    assert len(list_objects(w.db, "vms")) == len(names)
    reasons = [s.reason for s in w.statuses if s.state == WatchState.RECONNECTING]
    assert reasons and all(reason for reason in reasons)


def test_a_delta_keeps_the_vsphere_tags_a_full_read_stored(watching: Watching) -> None:
    w = watching
    names = ops.list_vm_names(w.si)
    vm = w.vm(names[0])
    assert vm is not None
    with Tagging(w.server) as tagging:
        tagging.attach(tagging.tag("Owner", "team-a"), "VirtualMachine", vm["external_id"])
    assert [c[:3] for c in full_sync_changes(w)] == [("tag", next(iter(_vsphere_tags(w))), "added")]

    ops.power_off(w.si, names[0])
    w.within("power off", lambda: w.vm(names[0])["power_state"] == "off")  # type: ignore[index]

    # The delta read the VM without its tags (the PropertyCollector has none): kept as stored.
    assert list(_vsphere_tags(w).values()) == [("Owner", "team-a")]
    assert all(r.status == RunStatus.SUCCEEDED for r in w.results)
    with w.db.engine.connect() as conn:
        warnings = [row[0] for row in conn.execute(select(SyncRun.warnings)).all()]
    assert not any(warnings)
    assert full_sync_changes(w) == []


def _vsphere_tags(w: Watching) -> dict[str, tuple[str, str | None]]:
    with w.db.engine.connect() as conn:
        rows = conn.execute(
            select(Tag.external_id, Tag.key, Tag.value).where(
                Tag.kind == "vsphere_tag", Tag.removed_at.is_(None)
            )
        ).all()
    return {row[0]: (row[1], row[2]) for row in rows}


def test_a_watched_power_off_says_who_did_it_and_a_rename_says_nobody(
    watching: Watching,
) -> None:
    w, si = watching, watching.si
    names = ops.list_vm_names(si)
    ops.power_off(si, names[0])
    ops.rename_vm(si, names[1], "renamed-by-someone")

    def explained() -> dict[str, tuple[str | None, str | None]]:
        with w.db.session() as session:
            rows = session.execute(
                select(Change.object_name, Change.actor, Change.event).where(
                    Change.object_type == "vm", Change.action == "modified"
                )
            ).all()
        return {name: (actor, event) for name, actor, event in rows}

    w.within(
        "the power-off's actor",
        lambda: explained().get(names[0]) == (w.server.username, "VmPoweredOffEvent"),
    )
    w.within("the rename", lambda: "renamed-by-someone" in explained())
    assert explained()["renamed-by-someone"] == (None, None)


def test_an_event_that_changes_no_inventory_is_kept_while_the_watch_idles(
    watching: Watching,
) -> None:
    w, si = watching, watching.si
    vm = ops.find_vm(si, ops.list_vm_names(si)[0])
    content = si.RetrieveContent()
    content.eventManager.PostEvent(
        eventToPost=vim.event.GeneralUserEvent(
            message="patched by hand",
            vm=vim.event.VmEventArgument(vm=vm, name=vm.name),
            createdTime=datetime.now(UTC),
            key=0,
            chainId=0,
            userName=w.server.username,
        )
    )

    def kept() -> list[tuple[str, str | None]]:
        with w.db.session() as session:
            rows = session.execute(
                select(Event.event_type, Event.message).where(Event.object_external_id == vm._moId)
            ).all()
        return [(event_type, message) for event_type, message in rows]

    w.within(
        "the posted event",
        lambda: any(t == "GeneralUserEvent" and "patched by hand" in (m or "") for t, m in kept()),
        5,
    )
