"""Automatic syncs in one process, the way `iroa serve` runs them (both backends)."""

from __future__ import annotations

import itertools
import random
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from iroa.config import Settings
from iroa.connectors.base import (
    ConnectionOptions,
    Connector,
    Progress,
    Snapshot,
    SourceInfo,
    VmRecord,
)
from iroa.crypto import SecretBox, load_secret_key
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.db.locks import sync_lock
from iroa.integrations.models import Integration
from iroa.integrations.service import IntegrationError, IntegrationInput, add_integration
from iroa.server import create_app
from iroa.sync.background import ProgressBroker
from iroa.sync.models import SyncRun
from iroa.sync.policy import SyncPolicy
from iroa.sync.schedule import SchedulePolicy, jitter_cap_s, retry_delay_s
from iroa.sync.scheduler import Scheduler
from iroa.sync.service import SyncDeps
from tests.peers.vcsim import Topology, VcsimServer

# Asserts on wall-clock delays: runs after the parallel tests, alone (see the Makefile).
pytestmark = pytest.mark.serial

TICK_S = 0.2
RUN_FOR_S = 10.0
SLACK_S = 0.75
"""Allowed lateness beyond interval + jitter + one tick: thread start-up and a busy CI machine."""

TINY = Topology(clusters=1, hosts_per_cluster=1, standalone_hosts=1, vms_per_host=2)


class FakeConnector:
    kind = "vcenter"

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate

    def check(self) -> SourceInfo:
        return SourceInfo("fake", "fake")

    def collect(self, progress: Progress) -> Snapshot:
        if self.gate is not None:
            self.gate.wait(10)
        return Snapshot(SourceInfo("fake", "fake"), vms=[VmRecord("vm-1", "one")])


def fake_deps(db: Database, box: SecretBox, gate: threading.Event | None = None) -> SyncDeps:
    """Sync dependencies whose connectors are all :class:`FakeConnector`."""

    def factory(kind: str, options: ConnectionOptions) -> Connector:
        return FakeConnector(gate)

    return SyncDeps(db, box, connectors=factory)


def add(
    db: Database, box: SecretBox, name: str, url: str, interval_s: int, **kw: Any
) -> Integration:
    data = IntegrationInput("vcenter", name, url, interval_seconds=interval_s, **kw)
    return add_integration(db, box, data, min_interval_s=1)


def runs_of(db: Database, integration_id: int) -> list[SyncRun]:
    with db.session() as session:
        return list(
            session.scalars(
                select(SyncRun)
                .where(SyncRun.integration_id == integration_id)
                .order_by(SyncRun.started_at)
            )
        )


def integration(db: Database, integration_id: int) -> Integration:
    with db.session() as session:
        found = session.get(Integration, integration_id)
    assert found is not None
    return found


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_integrations_sync_at_their_intervals_and_a_failing_one_backs_off(
    db: Database, box: SecretBox, vcsim: Any
) -> None:
    server: VcsimServer = vcsim(TINY)
    login = {"username": server.username, "password": server.password}
    healthy = {
        add(db, box, f"vc-{n}", server.url, interval, **login).id: interval
        for n, interval in enumerate((2, 3, 3))
    }
    down_interval = 8
    down = add(db, box, "down", f"http://127.0.0.1:{closed_port()}", down_interval, **login).id
    policy = SyncPolicy(schedule=SchedulePolicy(1, random.Random(6)))
    scheduler = Scheduler(SyncDeps(db, box, policy), ProgressBroker(), tick_s=TICK_S)
    began = utcnow()
    scheduler.start()
    time.sleep(RUN_FOR_S)
    scheduler.stop(grace_s=10)
    ended = utcnow()

    for integration_id, interval in healthy.items():
        runs = runs_of(db, integration_id)
        late_s = jitter_cap_s(interval) + TICK_S + SLACK_S
        assert [r.status for r in runs] == ["succeeded"] * len(runs), [r.error for r in runs]
        assert {r.trigger for r in runs} == {"schedule"}
        assert (runs[0].started_at - began).total_seconds() <= late_s
        for before, after in itertools.pairwise(runs):
            assert before.finished_at is not None
            gap_s = (after.started_at - before.finished_at).total_seconds()
            # Never two at once, and each one interval (plus jitter, within a tick) after the last.
            assert interval - 0.01 <= gap_s <= interval + late_s, (interval, gap_s)
        last_finished = runs[-1].finished_at
        assert last_finished is not None
        # No run lost: the last one finished less than an interval (plus lateness) before the end.
        assert (ended - last_finished).total_seconds() <= interval + late_s
        assert len(runs) >= int(RUN_FOR_S // (interval + late_s + 1))
        assert integration(db, integration_id).consecutive_failures == 0

    failed = runs_of(db, down)
    assert len(failed) >= 3
    assert all(r.status == "failed" and r.error for r in failed)
    for failures, (before, after) in enumerate(itertools.pairwise(failed), start=1):
        assert before.finished_at is not None
        gap_s = (after.started_at - before.finished_at).total_seconds()
        delay_s = retry_delay_s(down_interval, failures, 1)
        assert delay_s - 0.01 <= gap_s <= delay_s + jitter_cap_s(down_interval) + TICK_S + SLACK_S
    state = integration(db, down)
    assert state.consecutive_failures == len(failed)
    assert state.next_sync_at is not None and failed[-1].finished_at is not None
    delay_s = (state.next_sync_at - failed[-1].finished_at).total_seconds()
    expected_s = retry_delay_s(down_interval, len(failed), 1)
    assert expected_s <= delay_s <= expected_s + jitter_cap_s(down_interval)


def test_next_sync_times_survive_a_restart(db: Database, box: SecretBox) -> None:
    integration_id = add(db, box, "vc", "https://vc.example.com", 600).id
    now = utcnow()
    first = Scheduler(fake_deps(db, box), ProgressBroker())
    first.clock = lambda: now
    assert first.tick() == []  # scheduled now, for a moment within its jitter
    scheduled_at = integration(db, integration_id).next_sync_at
    assert scheduled_at is not None
    assert now <= scheduled_at <= now + timedelta(seconds=jitter_cap_s(600))
    first.clock = lambda: scheduled_at
    assert len(first.tick()) == 1
    wait_until(lambda: not first.running)
    synced_at = integration(db, integration_id).next_sync_at
    assert synced_at is not None and synced_at > now + timedelta(seconds=599)

    restarted_db = Database(db.url)
    try:
        second = Scheduler(fake_deps(restarted_db, box), ProgressBroker())
        second.clock = lambda: synced_at - timedelta(seconds=1)
        assert second.tick() == []
        assert integration(db, integration_id).next_sync_at == synced_at
        second.clock = lambda: synced_at
        assert len(second.tick()) == 1
        wait_until(lambda: not second.running)
    finally:
        restarted_db.dispose()
    assert [r.status for r in runs_of(db, integration_id)] == ["succeeded", "succeeded"]


def test_a_sync_already_going_is_skipped_not_started_twice(db: Database, box: SecretBox) -> None:
    integration_id = add(db, box, "vc", "https://vc.example.com", 60).id
    gate = threading.Event()
    scheduler = Scheduler(fake_deps(db, box, gate), ProgressBroker())
    with db.write_session() as session:
        session.execute(
            update(Integration)
            .where(Integration.id == integration_id)
            .values(next_sync_at=utcnow())
        )
    far = utcnow() + timedelta(hours=1)
    scheduler.clock = lambda: far
    with sync_lock(db, integration_id) as taken:  # as if another process were syncing it
        assert taken
        assert scheduler.tick() == []
    assert runs_of(db, integration_id) == [] and not scheduler.running

    assert len(scheduler.tick()) == 1
    assert scheduler.tick() == []  # still collecting: due, but already going
    gate.set()
    wait_until(lambda: not scheduler.running)
    assert [r.status for r in runs_of(db, integration_id)] == ["succeeded"]


def serve_settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        scheduler=True,
        min_sync_interval_s=1,
        scheduler_tick_s=TICK_S,
    )


def test_serve_interrupts_dead_runs_and_then_syncs_on_schedule(
    db: Database, db_url: str, tmp_path: Path, vcsim: Any
) -> None:
    settings = serve_settings(tmp_path, db_url)
    box = SecretBox(load_secret_key(settings))
    server: VcsimServer = vcsim(TINY)
    # Watchers would add runs of their own: this test counts the scheduler's.
    login = {"username": server.username, "password": server.password, "watch": False}
    dead = add(db, box, "dead", server.url, 0, **login).id
    busy = add(db, box, "busy", server.url, 0, **login).id
    scheduled = add(db, box, "scheduled", server.url, 1, **login).id
    with db.write_session() as session:
        for integration_id in (dead, busy):
            session.add(
                SyncRun(
                    integration_id=integration_id,
                    trigger="manual",
                    status="running",
                    started_at=utcnow() - timedelta(minutes=5),
                    totals={},
                    counts={},
                )
            )
    app = create_app(settings)
    with sync_lock(db, busy) as taken, TestClient(app):
        assert taken  # another live process is syncing "busy"
        assert [r.status for r in runs_of(db, dead)] == ["interrupted"]
        assert [r.status for r in runs_of(db, busy)] == ["running"]
        wait_until(lambda: any(r.status == "succeeded" for r in runs_of(db, scheduled)))
        scheduler = app.state.scheduler
        assert scheduler is not None
    assert scheduler.running == frozenset()
    assert {r.trigger for r in runs_of(db, scheduled)} == {"schedule"}


def test_serve_without_the_scheduler_starts_no_syncs(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    settings = serve_settings(tmp_path, db_url).model_copy(update={"scheduler": False})
    box = SecretBox(load_secret_key(settings))
    integration_id = add(db, box, "vc", "https://vc.example.com", 1).id
    app = create_app(settings)
    with TestClient(app):
        assert app.state.scheduler is None
        time.sleep(3 * TICK_S)
    assert runs_of(db, integration_id) == []


def test_the_minimum_interval_is_a_setting(db: Database, box: SecretBox) -> None:
    data = IntegrationInput("vcenter", "vc", "https://vc.example.com", interval_seconds=5)
    with pytest.raises(IntegrationError, match="0 \\(off\\) or 60-"):
        add_integration(db, box, data)
    assert add_integration(db, box, data, min_interval_s=5).interval_seconds == 5
