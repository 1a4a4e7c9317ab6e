"""Watch supervisors: one watcher per watched integration across supervisors, taken over
when its holder stops, stopped when watching is turned off; its state as the API shows it.

Two supervisors on one database stand for two processes: the watch lock is a
PostgreSQL session lock or an ``flock`` on its own file descriptor, which two
supervisors in one process hold apart just as two processes do.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import (
    IntegrationInput,
    IntegrationUpdate,
    add_integration,
    get_integration_by_id,
    integration_as_dict,
    update_integration,
)
from iroa.integrations.watchers import watchers_by_integration
from iroa.inventory.queries import list_objects
from iroa.sync.service import SyncDeps
from iroa.sync.watchers import WatchSupervisor
from iroa.sync.watching import Backoff
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology, VcsimServer

# Asserts on wall-clock delays: runs after the parallel tests, alone (see the Makefile).
pytestmark = pytest.mark.serial


def within(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


@pytest.fixture
def supervisors(db: Database, box: SecretBox) -> Iterator[Callable[[], WatchSupervisor]]:
    started: list[WatchSupervisor] = []

    def start() -> WatchSupervisor:
        supervisor = WatchSupervisor(
            SyncDeps(db, box),
            look_every_s=0.2,
            backoff=Backoff(first_s=0.2, max_s=1.0, failed_s=1.0),
            wait_s=1.0,
        )
        # Two supervisors of one test process are told apart as two processes would be.
        supervisor.holder += f":{len(started)}"
        supervisor.start()
        started.append(supervisor)
        return supervisor

    yield start
    for supervisor in started:
        supervisor.stop()


def state_of(db: Database, integration_id: int) -> dict[str, Any]:
    integration = get_integration_by_id(db, integration_id)
    return integration_as_dict(integration, watchers_by_integration(db).get(integration_id))


def test_one_supervisor_watches_and_another_takes_over(
    db: Database, box: SecretBox, vcsim: Any, supervisors: Callable[[], WatchSupervisor]
) -> None:
    server: VcsimServer = vcsim(Topology(vms_per_host=1))
    integration = add_integration(
        db,
        box,
        IntegrationInput(
            "vcenter", "vc", server.url, username=server.username, password=server.password
        ),
    )
    assert state_of(db, integration.id)["watch"] is True  # on by default for vCenter
    assert state_of(db, integration.id)["watch_state"] == "off"
    first, second = supervisors(), supervisors()
    within("live", lambda: state_of(db, integration.id)["watch_state"] == "live", timeout=30)
    holder = watchers_by_integration(db)[integration.id].holder
    assert holder in (first.holder, second.holder)
    time.sleep(1.0)  # both have looked several times: still one watcher, one baseline
    assert watchers_by_integration(db)[integration.id].holder == holder

    vm = ops.list_vm_names(ops.connect(server))[0]
    ops.power_off(ops.connect(server), vm)
    within(
        "the change",
        lambda: {v["name"]: v["power_state"] for v in list_objects(db, "vms")}[vm] == "off",
        timeout=2.0,
    )

    running, other = (first, second) if holder == first.holder else (second, first)
    running.stop()
    within(
        "a takeover",
        lambda: (
            watchers_by_integration(db)[integration.id].holder == other.holder
            and state_of(db, integration.id)["watch_state"] == "live"
        ),
        timeout=15,
    )

    update_integration(db, box, integration.id, IntegrationUpdate(watch=False))
    within("off", lambda: watchers_by_integration(db)[integration.id].state == "off", timeout=15)
    assert state_of(db, integration.id)["watch_state"] == "off"


def test_kinds_without_a_change_feed_are_never_watched(
    db: Database, box: SecretBox, supervisors: Callable[[], WatchSupervisor]
) -> None:
    with pytest.raises(ValueError, match="prometheus integrations have no change feed"):
        add_integration(
            db, box, IntegrationInput("prometheus", "p", "http://127.0.0.1:9", watch=True)
        )
    prometheus = add_integration(db, box, IntegrationInput("prometheus", "p", "http://127.0.0.1:9"))
    assert state_of(db, prometheus.id)["watch"] is False
    supervisors().look()
    assert watchers_by_integration(db) == {}


def test_a_watcher_restarts_on_its_integrations_new_settings(
    db: Database, box: SecretBox, vcsim: Any, supervisors: Callable[[], WatchSupervisor]
) -> None:
    server: VcsimServer = vcsim(Topology(vms_per_host=1))
    integration = add_integration(
        db,
        box,
        IntegrationInput(
            "vcenter", "vc", server.url, username=server.username, password=server.password
        ),
    )
    supervisor = supervisors()
    within("live", lambda: state_of(db, integration.id)["watch_state"] == "live", timeout=30)

    # A new password reaches the running watcher: it stops, and one on the new settings
    # starts, whom the simulator refuses.
    update_integration(db, box, integration.id, IntegrationUpdate(password="not-it"))
    within(
        "the new password tried",
        lambda: state_of(db, integration.id)["watch_state"] != "live",
        timeout=15,
    )
    update_integration(db, box, integration.id, IntegrationUpdate(password=server.password))
    within("live again", lambda: state_of(db, integration.id)["watch_state"] == "live", timeout=30)
    # The interval is no connection setting: the watcher on the right password stays.
    thread = supervisor._running[integration.id].thread
    update_integration(db, box, integration.id, IntegrationUpdate(interval_seconds=7200))
    time.sleep(1.0)  # several looks
    assert supervisor._running[integration.id].thread is thread and thread.is_alive()

    vm = ops.list_vm_names(ops.connect(server))[0]
    ops.power_off(ops.connect(server), vm)
    within(
        "the change",
        lambda: {v["name"]: v["power_state"] for v in list_objects(db, "vms")}[vm] == "off",
        timeout=10,
    )
