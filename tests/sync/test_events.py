"""Events on the change feed: kept once each, resumed after the last kept, joined to the
changes they explain — on recorded events fed through the engine (both backends)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from iroa.connectors.base import (
    EventCursor,
    EventRecord,
    EventsUnavailableError,
    Progress,
    Snapshot,
)
from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.history.attribution import match_event
from iroa.history.models import Change, Event
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from iroa.sync.events import EventRead, prune_events, record_events
from iroa.sync.models import SyncRun
from tests.sync.test_engine import StaticConnector, estate

WHEN = datetime(2026, 12, 4, 3, 12, tzinfo=UTC)


def _recorded(key: int, event_type: str, moid: str, minute: int) -> EventRecord:
    return EventRecord(
        key=key,
        created_at=WHEN.replace(minute=minute),
        event_type=event_type,
        user_name=f"user{key}",
        object_type="VirtualMachine",
        object_external_id=moid,
        object_name=None,
        message=None,
        chain_id=None,
    )


RECORDED = [
    _recorded(1, "VmPoweredOnEvent", "vm-1", 1),
    _recorded(2, "VmPoweredOffEvent", "vm-1", 5),
    _recorded(3, "VmPoweredOffEvent", "vm-1", 9),
    _recorded(4, "VmRenamedEvent", "vm-1", 10),
    _recorded(5, "VmReconfiguredEvent", "vm-2", 10),
    _recorded(6, "DrsVmMigratedEvent", "vm-2", 11),
    _recorded(7, "VmClonedEvent", "vm-3", 12),
    _recorded(8, "VmRemovedEvent", "vm-4", 12),
]


@pytest.mark.parametrize(
    ("action", "fields", "moid", "after_minute", "at_minute", "expected_key"),
    [
        ("modified", {"power_state": ["on", "off"]}, "vm-1", 3, 9, 3),
        ("modified", {"power_state": ["on", "off"]}, "vm-1", 3, 6, 2),
        ("modified", {"power_state": ["on", "off"]}, "vm-1", 5, 6, None),
        ("modified", {"power_state": ["off", "on"]}, "vm-1", None, 9, 1),
        ("modified", {"name": ["a", "b"]}, "vm-1", 0, 10, 4),
        ("modified", {"name": ["a", "b"]}, "vm-2", 0, 10, None),
        ("modified", {"num_cpu": [1, 2]}, "vm-2", 0, 30, 5),
        ("modified", {"host_id": [1, 2]}, "vm-2", 0, 30, 6),
        ("modified", {"ip_addresses": [[], ["10.0.0.1"]]}, "vm-2", 0, 30, None),
        ("added", None, "vm-3", None, 30, 7),
        ("removed", None, "vm-4", None, 30, 8),
        ("removed", None, "vm-3", None, 30, None),
    ],
)
def test_match_event_on_recorded_events(
    action: str,
    fields: dict[str, list[object]] | None,
    moid: str,
    after_minute: int | None,
    at_minute: int,
    expected_key: int | None,
) -> None:
    after = None if after_minute is None else WHEN.replace(minute=after_minute)
    found = match_event(action, fields, moid, after, WHEN.replace(minute=at_minute), RECORDED)
    assert (found.key if found else None) == expected_key


class FeedingConnector(StaticConnector):
    """A prepared snapshot and a prepared event log, read after a cursor as vCenter's is."""

    def __init__(self, snapshot: Snapshot, log: list[EventRecord] | Exception) -> None:
        super().__init__(snapshot)
        self.log = log
        self.asked: list[EventCursor | None] = []

    def collect(self, progress: Progress) -> Snapshot:
        return super().collect(progress)

    def read_events(self, after: EventCursor | None) -> Sequence[EventRecord]:
        self.asked.append(after)
        if isinstance(self.log, Exception):
            raise self.log
        return [e for e in self.log if after is None or e.key > after.key]


def vm_event(key: int, event_type: str, moid: str, user: str, at: datetime) -> EventRecord:
    return EventRecord(key, at, event_type, user, "VirtualMachine", moid, moid, None, None)


@pytest.fixture
def integration_id(db: Database, box: SecretBox) -> int:
    return add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id


def explained(db: Database, run_id: int) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    with db.session() as s:
        rows = s.execute(
            select(Change.external_id, Change.action, Change.actor, Change.event).where(
                Change.sync_run_id == run_id, Change.object_type == "vm"
            )
        )
        return {(ext, action): (actor, event) for ext, action, actor, event in rows}


def kept_keys(db: Database, integration_id: int) -> list[int]:
    with db.session() as s:
        return list(
            s.scalars(
                select(Event.event_key)
                .where(Event.integration_id == integration_id)
                .order_by(Event.event_key)
            )
        )


def test_changes_get_the_actor_and_type_of_the_event_that_explains_them(
    db: Database, integration_id: int
) -> None:
    before = utcnow() - timedelta(hours=1)
    log = [vm_event(1, "VmCreatedEvent", "vm-0", "olga", before)]
    feed = FeedingConnector(estate(6), log)
    first = run_sync(db, integration_id, feed)
    assert first.status == "succeeded"
    # The first run found these VMs: no event explains finding them.
    assert set(explained(db, first.run_id).values()) == {(None, None)}
    assert feed.asked == [None]

    at = utcnow()
    log += [
        vm_event(2, "VmRenamedEvent", "vm-0", "alice", at),
        vm_event(3, "VmReconfiguredEvent", "vm-1", "bob", at),
        vm_event(4, "VmRemovedEvent", "vm-2", "carol", at),
        vm_event(5, "VmClonedEvent", "vm-9", "dave", at),
        vm_event(6, "com.acme.custom.Touched", "vm-4", "erin", at),
        vm_event(7, "VmRenamedEvent", "vm-1", "frank", at),  # no rename of vm-1
        # vm-5's power-off was before the first run saw it on: not this change's cause.
        vm_event(8, "VmPoweredOffEvent", "vm-5", "gina", before),
    ]
    vms = list(estate(6).vms)
    vms[0] = dataclasses.replace(vms[0], name="renamed")
    vms[1] = dataclasses.replace(vms[1], num_cpu=4)
    vms[4] = dataclasses.replace(vms[4], ip_addresses=("10.9.9.9",))
    vms[5] = dataclasses.replace(vms[5], power_state="off")
    added = dataclasses.replace(vms[3], external_id="vm-9", name="clone")
    snapshot = dataclasses.replace(estate(6), vms=[*vms[:2], *vms[3:], added], vm_disks=[])
    feed = FeedingConnector(snapshot, log)
    second = run_sync(db, integration_id, feed)
    assert second.status == "succeeded"
    assert feed.asked == [EventCursor(1, before)]
    assert explained(db, second.run_id) == {
        ("vm-0", "modified"): ("alice", "VmRenamedEvent"),
        ("vm-1", "modified"): ("bob", "VmReconfiguredEvent"),
        ("vm-2", "removed"): ("carol", "VmRemovedEvent"),
        ("vm-9", "added"): ("dave", "VmClonedEvent"),
        ("vm-4", "modified"): (None, None),
        ("vm-5", "modified"): (None, None),
    }
    with db.session() as s:
        unknown = s.scalars(select(Event).where(Event.event_key == 6)).one()
    assert (unknown.event_type, unknown.user_name) == ("com.acme.custom.Touched", "erin")
    assert kept_keys(db, integration_id) == [1, 2, 3, 4, 5, 6, 7, 8]


def test_an_event_read_after_its_change_explains_it_then(db: Database, integration_id: int) -> None:
    log: list[EventRecord] = []
    assert run_sync(db, integration_id, FeedingConnector(estate(2), log)).succeeded
    off = estate(2, power_state="off")
    seen = run_sync(db, integration_id, FeedingConnector(off, log))
    assert explained(db, seen.run_id) == {("vm-0", "modified"): (None, None)}
    # vCenter logged it as the run began; the next read brings it.
    with db.session() as s:
        run = s.get(SyncRun, seen.run_id)
        assert run is not None
        logged_at = run.started_at
    log.append(vm_event(1, "VmPoweredOffEvent", "vm-0", "alice", logged_at))
    later = run_sync(db, integration_id, FeedingConnector(off, log))
    assert later.counts["vms"]["modified"] == 0
    assert explained(db, seen.run_id) == {("vm-0", "modified"): ("alice", "VmPoweredOffEvent")}


def test_events_are_kept_once_and_resume_after_the_last_kept(
    db: Database, integration_id: int
) -> None:
    at = utcnow()
    log = [vm_event(k, "VmPoweredOnEvent", f"vm-{k % 3}", "u", at) for k in range(10, 20)]
    feed = FeedingConnector(estate(3), log[:4])
    assert run_sync(db, integration_id, feed).succeeded
    # A restart: a new connector, resuming from what the database kept.
    feed = FeedingConnector(estate(3), log)
    assert run_sync(db, integration_id, feed).succeeded
    assert feed.asked == [EventCursor(13, at)]
    # The same events again (a watch and a sync both read them) are kept once.
    assert record_events(db, integration_id, EventRead(tuple(log)), None) == 0
    assert kept_keys(db, integration_id) == list(range(10, 20))


def test_a_refused_read_of_events_is_one_warning_and_the_inventory_is_applied(
    db: Database, integration_id: int
) -> None:
    refusal = EventsUnavailableError("vCenter events not read: permission System.View missing")
    result = run_sync(db, integration_id, FeedingConnector(estate(3), refusal))
    assert result.status == "succeeded"
    assert result.counts["vms"]["added"] == 3
    with db.session() as s:
        run = s.get(SyncRun, result.run_id)
        assert run is not None
        assert run.warnings == [
            {
                "type": "event",
                "id": "events",
                "reason": "vCenter events not read: permission System.View missing",
            }
        ]
    assert kept_keys(db, integration_id) == []


def test_an_unexpected_failure_reading_events_is_a_warning_too(
    db: Database, integration_id: int
) -> None:
    result = run_sync(db, integration_id, FeedingConnector(estate(2), RuntimeError("boom")))
    assert result.status == "succeeded"
    with db.session() as s:
        run = s.get(SyncRun, result.run_id)
        assert run is not None and run.warnings is not None
        assert [w["reason"] for w in run.warnings] == ["events not read: RuntimeError: boom"]


def test_a_connector_without_events_reads_none(db: Database, integration_id: int) -> None:
    result = run_sync(db, integration_id, StaticConnector(estate(2)))
    assert result.status == "succeeded"
    assert kept_keys(db, integration_id) == []


def test_old_events_are_pruned_and_the_actors_they_gave_stay(
    db: Database, integration_id: int
) -> None:
    assert run_sync(db, integration_id, FeedingConnector(estate(1), [])).succeeded
    at = utcnow()
    log = [vm_event(1, "VmPoweredOffEvent", "vm-0", "alice", at)]
    result = run_sync(db, integration_id, FeedingConnector(estate(1, power_state="off"), log))
    assert explained(db, result.run_id) == {("vm-0", "modified"): ("alice", "VmPoweredOffEvent")}
    assert prune_events(db, 30, now=at + timedelta(days=29)) == 0
    assert prune_events(db, 0, now=at + timedelta(days=400)) == 0
    assert prune_events(db, 30, now=at + timedelta(days=31)) == 1
    assert kept_keys(db, integration_id) == []
    assert explained(db, result.run_id) == {("vm-0", "modified"): ("alice", "VmPoweredOffEvent")}
