"""End to end against VMware's simulator: its events kept, resumed and joined to changes.

The simulator logs, with the session's user, events for power operations and
destroys, but none for a rename or a reconfigure: those changes must stay
unexplained, never be given a guessed actor.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from iroa.connectors.vcenter.events import read_events
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.history.models import Change, Event
from tests.peers import vsphere_ops as ops
from tests.sync.test_vcenter_sync import SMALL, new_integration, sync


def vm_changes(db: Database, run_id: int) -> dict[str, tuple[str, str | None, str | None]]:
    with db.session() as s:
        rows = s.execute(
            select(Change.object_name, Change.action, Change.actor, Change.event).where(
                Change.sync_run_id == run_id, Change.object_type == "vm"
            )
        )
        return {name: (action, actor, event) for name, action, actor, event in rows}


def kept(db: Database, integration_id: int) -> Counter[int]:
    with db.session() as s:
        return Counter(
            s.scalars(select(Event.event_key).where(Event.integration_id == integration_id))
        )


def test_power_off_and_destroy_get_the_simulators_user_and_a_rename_none(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(SMALL)
    si = ops.connect(server)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).status == "succeeded"

    ops.power_off(si, "DC0_H0_VM0")
    ops.rename_vm(si, "DC0_H0_VM1", "renamed-vm1")
    ops.destroy_vm(si, "DC0_H0_VM2")
    result = sync(db, integration_id, server)
    assert result.status == "succeeded", result.error
    assert vm_changes(db, result.run_id) == {
        "DC0_H0_VM0": ("modified", server.username, "VmPoweredOffEvent"),
        "renamed-vm1": ("modified", None, None),
        "DC0_H0_VM2": ("removed", server.username, "VmRemovedEvent"),
    }


def test_a_restart_resumes_after_the_last_kept_event_without_gaps_or_duplicates(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(SMALL)
    si = ops.connect(server)
    integration_id = new_integration(db, box, server)
    ops.power_off(si, "DC0_H0_VM0")
    assert sync(db, integration_id, server).status == "succeeded"
    first = kept(db, integration_id)
    assert first and max(first.values()) == 1

    ops.power_on(si, "DC0_H0_VM0")
    ops.suspend(si, "DC0_H0_VM1")
    # A new connector, as after a restart of IROA: it resumes from the database.
    result = sync(db, integration_id, server)
    assert result.status == "succeeded"
    assert vm_changes(db, result.run_id) == {
        "DC0_H0_VM0": ("modified", server.username, "VmPoweredOnEvent"),
        "DC0_H0_VM1": ("modified", server.username, "VmSuspendedEvent"),
    }
    stored = kept(db, integration_id)
    assert max(stored.values()) == 1
    assert set(stored) > set(first)
    # Every event the simulator logged up to the last kept one is kept: no gap.
    everything = read_events(si.RetrieveContent(), None, datetime.now(UTC))
    assert set(stored) == {e.key for e in everything if e.key <= max(stored)}


def test_an_unchanged_sync_keeps_only_new_events_and_changes_nothing(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server = vcsim(SMALL)
    integration_id = new_integration(db, box, server)
    assert sync(db, integration_id, server).status == "succeeded"
    before = kept(db, integration_id)
    again = sync(db, integration_id, server)
    assert again.status == "succeeded"
    assert sum(sum(c.values()) for c in again.counts.values()) == 0
    after = kept(db, integration_id)
    assert set(after) >= set(before) and max(after.values()) == 1
