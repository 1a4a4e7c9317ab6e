"""Automatic syncs across real processes: `iroa worker`s and queue-mode `iroa serve` schedulers
on PostgreSQL, and the embedded `iroa serve` alone on SQLite, against vcsim and WinRM peers."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from iroa.audit.service import CLI_ACTOR
from iroa.config import Settings
from iroa.crypto import SecretBox, load_secret_key
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.history.models import Change
from iroa.integrations.models import Integration
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.models import Vm
from iroa.sync.background import ProgressBroker, start_integration_sync
from iroa.sync.models import SyncRun
from iroa.sync.queue import SyncQueue
from iroa.sync.schedule import ScheduleEntry, jitter_cap_s
from iroa.sync.scheduler import Scheduler
from iroa.sync.service import SyncDeps
from iroa.vocabulary import Trigger
from tests.api.fixtures import start_api
from tests.api.test_sync_api import read_events
from tests.conftest import migrated_postgres_database
from tests.peers import vsphere_ops
from tests.peers.vcsim import Topology, VcsimServer
from tests.peers.winrm.server import WinrmServer

pytestmark = pytest.mark.slow

TINY = Topology(clusters=1, hosts_per_cluster=1, standalone_hosts=1, vms_per_host=2)
INTERVALS_S = (8, 10, 12)
RUN_FOR_S = 50.0
TICK_S = 0.5
SLACK_S = 3.0
"""Allowed lateness beyond interval + jitter + one tick: process hops on a busy 2-core machine."""
STARTUP_S = 20.0
"""By when every integration's first run must have started: processes starting and migrating."""
HEARTBEAT_S = 1.0
STALLED_AFTER_S = 4.0


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database of its own (the queue's tables are not reset between tests), migrated."""
    with migrated_postgres_database("iroa_scale_") as url:
        yield url


class Processes:
    """`iroa` commands started as OS processes, each logging to a file; all stopped at the end."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.tmp_path / f"{args[0]}-{len(self.started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "iroa", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((proc, log))
        return proc

    def assert_alive(self) -> None:
        for proc, log in self.started:
            assert proc.poll() is None, f"{proc.args} exited:\n{log.read_text()[-3000:]}"

    def logs(self) -> str:
        return "\n".join(f"== {p.args}\n{log.read_text()[-2000:]}" for p, log in self.started)

    def stop_all(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in self.started:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Processes]]:
    made: list[Processes] = []

    def make(settings_env: dict[str, str]) -> Processes:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IROA_")},
            "IROA_MIN_SYNC_INTERVAL_S": "1",
            "IROA_SCHEDULER_TICK_S": str(TICK_S),
            "IROA_WORKER_HEARTBEAT_S": str(HEARTBEAT_S),
            "IROA_WORKER_STALLED_AFTER_S": str(STALLED_AFTER_S),
            "IROA_ADMIN_PASSWORD": "scale-out-test-pass",
            "IROA_LOG_LEVEL": "INFO",
            **settings_env,
        }
        made.append(Processes(tmp_path, env))
        return made[-1]

    yield make
    for group in made:
        group.stop_all()


def add_estate(
    db: Database, box: SecretBox, vcsims: list[VcsimServer], winrms: list[WinrmServer], count: int
) -> dict[int, int]:
    """``count`` integrations over the given peers, alternating kinds; {id: interval}."""
    intervals: dict[int, int] = {}
    for n in range(count):
        interval = INTERVALS_S[n % len(INTERVALS_S)]
        if n % 2 == 0:
            vc = vcsims[(n // 2) % len(vcsims)]
            data = IntegrationInput(
                "vcenter",
                f"vc-{n}",
                vc.url,
                username=vc.username,
                password=vc.password,
                interval_seconds=interval,
                watch=False,  # interval syncs are what this test counts
            )
        else:
            hv = winrms[(n // 2) % len(winrms)]
            data = IntegrationInput(
                "hyperv",
                f"hv-{n}",
                hv.url,
                username=hv.username,
                password=hv.password,
                transport="basic",
                interval_seconds=interval,
            )
        intervals[add_integration(db, box, data, min_interval_s=1).id] = interval
    return intervals


def runs_by_integration(db: Database, ended: datetime) -> dict[int, list[SyncRun]]:
    """The runs started by ``ended``, once those still going then have finished."""

    def unfinished() -> int:
        with db.session() as session:
            return len(
                session.scalars(
                    select(SyncRun.id).where(
                        SyncRun.started_at <= ended, SyncRun.status.in_(("queued", "running"))
                    )
                ).all()
            )

    deadline = time.monotonic() + 60
    while unfinished() and time.monotonic() < deadline:
        time.sleep(0.2)
    with db.session() as session:
        runs = session.scalars(
            select(SyncRun).where(SyncRun.started_at <= ended).order_by(SyncRun.started_at)
        ).all()
    grouped: dict[int, list[SyncRun]] = {}
    for run in runs:
        grouped.setdefault(run.integration_id, []).append(run)
    return grouped


def assert_on_schedule(
    db: Database, intervals: dict[int, int], began: datetime, ended: datetime
) -> int:
    """Every integration ran at its interval, never twice at once, no due time skipped."""
    grouped = runs_by_integration(db, ended)
    total = 0
    worst_late_s = 0.0
    for integration_id, interval in intervals.items():
        runs = grouped.get(integration_id, [])
        total += len(runs)
        late_s = jitter_cap_s(interval) + TICK_S + SLACK_S
        assert runs, f"integration {integration_id} never ran"
        assert [r.status for r in runs] == ["succeeded"] * len(runs), [r.error for r in runs]
        assert {r.trigger for r in runs} == {"schedule"}
        assert (runs[0].started_at - began).total_seconds() <= STARTUP_S
        for before, after in itertools.pairwise(runs):
            assert before.finished_at is not None
            gap_s = (after.started_at - before.finished_at).total_seconds()
            worst_late_s = max(worst_late_s, gap_s - interval)
            # Never overlapping (gap >= 0), and each one interval (+ jitter, a tick) after the last.
            assert interval - 0.01 <= gap_s <= interval + late_s, (integration_id, interval, gap_s)
        last_finished = runs[-1].finished_at
        assert last_finished is not None
        # No run lost at the end either: the last one finished less than an interval ago.
        assert (ended - last_finished).total_seconds() <= interval + late_s
        expected = int((RUN_FOR_S - STARTUP_S) // (interval + late_s))
        assert len(runs) >= expected, (integration_id, len(runs), expected)
    print(f"{total} runs; latest start {worst_late_s:.2f} s after interval (jitter included)")
    return total


def test_workers_and_schedulers_on_postgresql_sync_every_integration_once_per_due_time(
    pg_url: str, tmp_path: Path, vcsim: Any, winrm: Any, processes: Any
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url)
    db = Database(pg_url)
    box = SecretBox(load_secret_key(settings))
    vcsims = [vcsim(TINY) for _ in range(4)]
    winrms = [winrm("standalone") for _ in range(4)]
    group = processes(
        {
            "IROA_DATA_DIR": str(settings.data_dir),
            "IROA_DATABASE_URL": pg_url,
            "IROA_EXECUTION": "queue",
            "IROA_SCHEDULER": "true",
        }
    )
    for n in range(3):
        group.start("worker", "--concurrency", "2", "--name", f"w{n}")
    for _ in range(2):
        group.start("serve", "--port", "0")
    intervals = add_estate(db, box, vcsims, winrms, 20)
    began = utcnow()
    time.sleep(RUN_FOR_S)
    group.assert_alive()
    ended = utcnow()
    try:
        total = assert_on_schedule(db, intervals, began, ended)
    except AssertionError:
        print(group.logs())
        raise
    with db.engine.connect() as conn:
        workers = conn.execute(
            text("SELECT DISTINCT pid FROM sync_runs WHERE status = 'succeeded'")
        ).all()
        failed = conn.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'")
        ).scalar_one()
    assert len(workers) == 3, "every worker took jobs"
    assert failed == 0
    print(f"{total} runs of {len(intervals)} integrations in {RUN_FOR_S:g} s")
    db.dispose()


def test_embedded_serve_on_sqlite_keeps_the_same_schedule(
    tmp_path: Path, vcsim: Any, winrm: Any, processes: Any
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    url = settings.resolved_database_url
    db = Database(url)
    upgrade(db.engine)
    box = SecretBox(load_secret_key(settings))
    vcsims = [vcsim(TINY) for _ in range(4)]
    winrms = [winrm("standalone") for _ in range(4)]
    group = processes({"IROA_DATA_DIR": str(settings.data_dir), "IROA_SCHEDULER": "true"})
    group.start("serve", "--port", "0")
    intervals = add_estate(db, box, vcsims, winrms, 20)
    began = utcnow()
    time.sleep(RUN_FOR_S)
    group.assert_alive()
    ended = utcnow()
    try:
        assert_on_schedule(db, intervals, began, ended)
    except AssertionError:
        print(group.logs())
        raise
    with db.session() as session:
        pids = set(session.scalars(select(SyncRun.pid)))
    assert len(pids) == 1 and pids != {os.getpid()}, "one serving process ran them all"
    db.dispose()


def wait_for(condition: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            print(f"{time.monotonic():.1f} {what}")
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def scalar(db: Database, sql: str) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def run_status(db: Database, run_id: int) -> SyncRun:
    with db.session() as session:
        run = session.get(SyncRun, run_id)
    assert run is not None
    return run


def vm_names(db: Database, integration_id: int) -> set[str]:
    with db.session() as session:
        return set(
            session.scalars(
                select(Vm.name).where(Vm.integration_id == integration_id, Vm.removed_at.is_(None))
            )
        )


def test_a_worker_killed_while_applying_leaves_its_run_interrupted_and_the_inventory_intact(
    pg_url: str, tmp_path: Path, vcsim: Any, processes: Any
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url)
    db = Database(pg_url)
    box = SecretBox(load_secret_key(settings))
    server: VcsimServer = vcsim(TINY)
    data = IntegrationInput(
        "vcenter",
        "vc",
        server.url,
        username=server.username,
        password=server.password,
        watch=False,
    )
    integration_id = add_integration(db, box, data).id
    group = processes(
        {
            "IROA_DATA_DIR": str(settings.data_dir),
            "IROA_DATABASE_URL": pg_url,
            "IROA_EXECUTION": "queue",
        }
    )
    workers = {p.pid: p for p in (group.start("worker"), group.start("worker"))}
    queue = SyncQueue(pg_url).open()

    def sync() -> int:
        return start_integration_sync(
            SyncDeps(db, box),
            ProgressBroker(),
            integration_id,
            CLI_ACTOR,
            trigger=Trigger.API,
            queue=queue,
        )

    try:
        first = sync()
        assert run_status(db, first).status == "queued"
        wait_for(lambda: run_status(db, first).status == "succeeded", 30, "the first run")
        before = vm_names(db, integration_id)
        old = sorted(before)[0]
        si = vsphere_ops.connect(server)
        vsphere_ops.rename_vm(si, old, "renamed-vm")

        # Hold the table the run writes last, so the kill lands inside its open transaction.
        blocker = db.engine.connect()
        blocking = blocker.begin()
        blocker.execute(text("LOCK TABLE summaries IN ACCESS EXCLUSIVE MODE"))
        second = sync()
        wait_for(lambda: run_status(db, second).status == "running", 30, "the second run")
        wait_for(
            lambda: scalar(
                db,
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE 'INSERT INTO summaries%'",
            ),
            30,
            "the second run to reach its last write",
        )
        pid = run_status(db, second).pid
        assert pid in workers
        os.kill(pid, signal.SIGKILL)
        workers[pid].wait(10)
        blocking.rollback()
        blocker.close()

        killed = wait_for(
            lambda: (r := run_status(db, second)).status != "running" and r,
            STALLED_AFTER_S + 20,
            "the killed run to be marked",
        )
        assert killed.status == "interrupted" and killed.finished_at is not None
        assert vm_names(db, integration_id) == before
        with db.session() as session:
            assert not session.scalars(select(Change).where(Change.sync_run_id == second)).all()

        third = sync()
        wait_for(
            lambda: run_status(db, third).status not in ("queued", "running"), 30, "the third run"
        )
        assert run_status(db, third).status == "succeeded", run_status(db, third).error
        assert vm_names(db, integration_id) == (before - {old}) | {"renamed-vm"}
        # The job ends a moment after its run: the findings are refreshed in between.
        wait_for(
            lambda: scalar(
                db, "SELECT count(*) = 0 FROM procrastinate_jobs WHERE status = 'doing'"
            ),
            30,
            "no job left doing",
        )
    except AssertionError:
        print(group.logs())
        raise
    finally:
        queue.close()
        db.dispose()


def test_api_sync_in_queue_mode_answers_202_with_a_queued_run_a_worker_carries_out(
    pg_url: str, tmp_path: Path, vcsim: Any, processes: Any
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", database_url=pg_url, execution="queue", scheduler=False
    )
    server: VcsimServer = vcsim(TINY)
    group = processes(
        {
            "IROA_DATA_DIR": str(settings.data_dir),
            "IROA_DATABASE_URL": pg_url,
            "IROA_EXECUTION": "queue",
        }
    )
    for api in start_api(settings):
        created = api.client.post(
            "/api/v1/integrations",
            headers=api.headers("admin"),
            json={
                "kind": "vcenter",
                "name": "vc",
                "url": server.url,
                "username": server.username,
                "password": server.password,
            },
        )
        assert created.status_code == 201, created.text
        started = api.client.post(
            f"/api/v1/integrations/{created.json()['id']}/sync", headers=api.headers("operator")
        )
        assert started.status_code == 202, started.text
        run = started.json()
        assert run["status"] == "queued" and run["trigger"] == "api"
        # No worker yet: the run waits in the queue, and its event stream with it.
        time.sleep(1.0)
        assert (
            api.client.get(f"/api/v1/syncs/{run['id']}", headers=api.headers("viewer")).json()[
                "status"
            ]
            == "queued"
        )
        group.start("worker")
        events = read_events(api, run["id"])
        assert events[-1][0] == "result"
        assert events[-1][1]["status"] == "succeeded", events[-1][1]
        assert events[-1][1]["totals"]["vms"] == TINY.vm_count


def test_two_schedulers_queue_each_due_time_once(pg_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url)
    db = Database(pg_url)
    box = SecretBox(load_secret_key(settings))
    ids = [
        add_integration(
            db,
            box,
            IntegrationInput(
                "vcenter",
                f"vc-{n}",
                f"https://vc{n}.example.com",
                interval_seconds=60,
                watch=False,
            ),
        ).id
        for n in range(6)
    ]
    past = utcnow() - timedelta(seconds=1)
    with db.write_session() as session:
        session.execute(update(Integration).values(next_sync_at=past))
    queue = SyncQueue(pg_url).open()
    schedulers = [Scheduler(SyncDeps(db, box), ProgressBroker(), queue=queue) for _ in range(2)]

    def jobs() -> list[Any]:
        with db.engine.connect() as conn:
            return list(
                conn.execute(
                    text("SELECT lock, args FROM procrastinate_jobs WHERE status = 'todo'")
                )
            )

    try:
        with ThreadPoolExecutor(2) as pool:
            queued = [job for found in pool.map(Scheduler.tick, schedulers) for job in found]
        assert len(queued) == len(ids)
        assert sorted(lock for lock, _ in jobs()) == sorted(f"iroa-sync-{i}" for i in ids)
        assert {args["trigger"] for _, args in jobs()} == {"schedule"}
        with db.session() as session:
            leases = session.scalars(select(Integration.next_sync_at)).all()
        assert all(lease is not None and lease > past + timedelta(seconds=59) for lease in leases)
        assert schedulers[0].tick() == [] and schedulers[1].tick() == []

        # Due again while its job still waits (no worker): claimed, but not queued twice.
        with db.write_session() as session:
            session.execute(update(Integration).values(next_sync_at=past))
        assert schedulers[0].tick() == []
        assert len(jobs()) == len(ids)

        # The claim itself: of two schedulers that read the same due time, one wins.
        with db.write_session() as session:
            session.execute(update(Integration).values(next_sync_at=past))
        seen = ScheduleEntry(ids[0], True, 60, past)
        assert schedulers[0]._claim(seen, utcnow())
        assert not schedulers[1]._claim(seen, utcnow())
    finally:
        queue.close()
        db.dispose()
