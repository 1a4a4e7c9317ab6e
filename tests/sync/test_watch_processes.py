"""Watchers across real OS processes: two ``iroa serve`` on one SQLite database run one
watcher, and in queue mode a worker SIGKILLed while watching is replaced by another."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iroa.config import Settings
from iroa.crypto import SecretBox, load_secret_key
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.integrations.watchers import watchers_by_integration
from iroa.inventory.queries import list_objects
from iroa.sync.models import SyncRun
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import VcsimServer
from tests.sync.test_scale_out import TINY, Processes, pg_url, processes  # noqa: F401

LIVE_WITHIN_S = 60.0
CHANGE_WITHIN_S = 5.0


def within(what: str, check: Callable[[], bool], timeout: float, group: Processes) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s\n{group.logs()}")
        time.sleep(0.1)


def watched(db: Database, box: SecretBox, server: VcsimServer) -> int:
    data = IntegrationInput(
        "vcenter",
        "vc",
        server.url,
        username=server.username,
        password=server.password,
        interval_seconds=0,  # no scheduled syncs: every run here is a watcher's
    )
    return add_integration(db, box, data).id


def holder_pid(db: Database, integration_id: int) -> int | None:
    row = watchers_by_integration(db).get(integration_id)
    if row is None or row.state != "live":
        return None
    return int(row.holder.rsplit(":", 1)[1])


def power_of(db: Database, vm: str) -> str | None:
    return next((v["power_state"] for v in list_objects(db, "vms") if v["name"] == vm), None)


def baselines(db: Database) -> int:
    """Watch runs that read everything (a delta's totals hold only what it touched)."""
    with db.session() as session:
        runs = session.query(SyncRun).filter(SyncRun.trigger == "watch").all()
    return sum(1 for run in runs if (run.totals or {}).get("hosts"))


def test_two_embedded_servers_run_one_watcher_and_the_other_takes_over(
    tmp_path: Path,
    vcsim: Any,
    processes: Callable[[dict[str, str]], Processes],  # noqa: F811
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/i.db")
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    box = SecretBox(load_secret_key(settings))
    server: VcsimServer = vcsim(TINY)
    integration_id = watched(db, box, server)
    group = processes(
        {
            "IROA_DATA_DIR": str(settings.data_dir),
            "IROA_DATABASE_URL": settings.resolved_database_url,
            "IROA_SCHEDULER": "true",
        }
    )
    servers = [group.start("serve", "--port", "0") for _ in range(2)]
    within("a live watcher", lambda: holder_pid(db, integration_id) is not None, 60, group)
    time.sleep(12)  # both servers have looked for integrations to watch more than twice
    holder = holder_pid(db, integration_id)
    assert holder in {s.pid for s in servers}
    assert baselines(db) == 1, group.logs()

    vm = ops.list_vm_names(ops.connect(server))[0]
    ops.power_off(ops.connect(server), vm)
    within("the change", lambda: power_of(db, vm) == "off", CHANGE_WITHIN_S, group)

    os.kill(holder, signal.SIGKILL)
    other = next(s.pid for s in servers if s.pid != holder)
    within("a takeover", lambda: holder_pid(db, integration_id) == other, 60, group)
    ops.power_on(ops.connect(server), vm)
    within("a change after it", lambda: power_of(db, vm) == "on", CHANGE_WITHIN_S, group)
    db.dispose()


def test_a_worker_killed_while_watching_is_replaced(
    pg_url: str,  # noqa: F811
    tmp_path: Path,
    vcsim: Any,
    processes: Callable[[dict[str, str]], Processes],  # noqa: F811
) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=pg_url)
    db = Database(pg_url)
    box = SecretBox(load_secret_key(settings))
    server: VcsimServer = vcsim(TINY)
    integration_id = watched(db, box, server)
    group = processes(
        {
            "IROA_DATA_DIR": str(settings.data_dir),
            "IROA_DATABASE_URL": pg_url,
            "IROA_EXECUTION": "queue",
        }
    )
    workers = [group.start("worker", "--name", f"w{n}") for n in range(2)]
    within("a live watcher", lambda: holder_pid(db, integration_id) is not None, 60, group)
    holder = holder_pid(db, integration_id)
    assert holder in {w.pid for w in workers}

    os.kill(holder, signal.SIGKILL)
    other = next(w.pid for w in workers if w.pid != holder)
    within("a takeover", lambda: holder_pid(db, integration_id) == other, 60, group)
    vm = ops.list_vm_names(ops.connect(server))[0]
    ops.power_off(ops.connect(server), vm)
    within("a change after it", lambda: power_of(db, vm) == "off", CHANGE_WITHIN_S, group)
    db.dispose()
