"""Running a watcher for every watched integration, exactly one per integration across processes.

``iroa serve`` (embedded mode) and every ``iroa worker`` (queue mode) run a
:class:`WatchSupervisor`. Every few seconds it looks for enabled integrations
with watching on and starts, for each it does not run yet, a thread that tries
the integration's watch lock (:func:`~iroa.db.locks.watch_lock`): the process
that gets it runs the watcher until the integration is no longer watched or the
process stops, or until its connection settings change (URL, credentials,
options): then it stops, and a watcher on the new settings starts at the next
look. The others try again at their next look. The lock dies with its
process, so when a process dies another takes over at its next look. Each
watcher's state goes to the ``watchers`` table, for the API, the dashboard and
``/metrics``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field

from iroa.db.locks import watch_lock
from iroa.integrations.models import Integration
from iroa.integrations.service import is_watched, list_integrations
from iroa.integrations.watchers import (
    HEARTBEAT_S,
    record_watch_state,
    renew_heartbeat,
    this_process,
)
from iroa.sync.service import SyncDeps
from iroa.sync.watching import WAIT_S, Backoff, WatchStatus, watch_integration

log = logging.getLogger(__name__)

LOOK_EVERY_S = 5.0


@dataclass
class _Running:
    thread: threading.Thread
    settings: tuple[object, ...]
    """What the watcher connects with (:func:`_settings`): another value, another watcher."""
    stop: threading.Event = field(default_factory=threading.Event)


def _settings(integration: Integration) -> tuple[object, ...]:
    return (
        integration.url,
        integration.username,
        integration.secret_encrypted,
        json.dumps(integration.options, sort_keys=True, default=str),
    )


class WatchSupervisor:
    """Starts and stops the watchers this process runs (see the module's doc)."""

    def __init__(
        self,
        deps: SyncDeps,
        *,
        look_every_s: float = LOOK_EVERY_S,
        backoff: Backoff | None = None,
        wait_s: float = WAIT_S,
    ) -> None:
        self.deps = deps
        self.look_every_s = look_every_s
        self.backoff = backoff
        self.wait_s = wait_s
        self.holder = this_process()
        self._running: dict[int, _Running] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="iroa-watchers", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every watcher this process runs and wait for them (up to ``timeout``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for running in self._running.values():
            running.stop.set()
        deadline = time.monotonic() + timeout
        for running in self._running.values():
            running.thread.join(max(0.0, deadline - time.monotonic()))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.look()
            except Exception:
                log.exception("looking for integrations to watch failed")
            self._stop.wait(self.look_every_s)

    def look(self) -> None:
        """Start a watcher for each watched integration this process does not run; stop
        those no longer watched."""
        wanted = {
            integration.id: _settings(integration)
            for integration in list_integrations(self.deps.db)
            if integration.enabled and is_watched(integration)
        }
        for integration_id, running in list(self._running.items()):
            if not running.thread.is_alive():
                del self._running[integration_id]
            elif integration_id not in wanted:
                running.stop.set()
            elif running.settings != wanted[integration_id] and not running.stop.is_set():
                log.info(
                    "the settings of integration %s changed: its watcher restarts", integration_id
                )
                running.stop.set()
        for integration_id in wanted.keys() - self._running.keys():
            if self._stop.is_set():
                return
            stop = threading.Event()
            thread = threading.Thread(
                target=self._watch,
                args=(integration_id, stop),
                name=f"iroa-watch-{integration_id}",
                daemon=True,
            )
            self._running[integration_id] = _Running(thread, wanted[integration_id], stop)
            thread.start()

    def _watch(self, integration_id: int, stop: threading.Event) -> None:
        db = self.deps.db
        with watch_lock(db, integration_id) as taken:
            if not taken:
                return  # another process watches it
            last_beat = time.monotonic()

            def status(now: WatchStatus) -> None:
                record_watch_state(
                    db,
                    integration_id,
                    now.state,
                    now.since,
                    now.reason,
                    now.last_update_at,
                    self.holder,
                    last_delay_s=now.last_delay_s,
                    updates=now.updates,
                )

            def heartbeat() -> None:
                nonlocal last_beat
                if time.monotonic() - last_beat >= HEARTBEAT_S:
                    last_beat = time.monotonic()
                    renew_heartbeat(db, integration_id, self.holder)

            try:
                watch_integration(
                    self.deps,
                    integration_id,
                    stop,
                    on_status=status,
                    heartbeat=heartbeat,
                    backoff=self.backoff,
                    wait_s=self.wait_s,
                )
            except Exception:
                log.exception("the watcher of integration %s stopped", integration_id)
