"""The composition root: what one IROA process runs with, built in one place from settings.

``iroa serve`` opens a :class:`Runtime` when it starts, ``iroa worker`` when it
starts, and the CLI's commands get the same pieces from the same builders; all
of them pass it on as typed dependencies instead of reading settings again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from iroa.config import Settings
from iroa.crypto import SecretBox, load_secret_key
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.sync.background import ProgressBroker
from iroa.sync.policy import SyncPolicy
from iroa.sync.queue import SyncQueue
from iroa.sync.service import SyncDeps


@dataclass(frozen=True)
class Runtime:
    """The settings, the database, the key to stored secrets, the sync policy, live progress
    and (in queue mode) the sync queue of this process."""

    settings: Settings
    sync: SyncDeps
    broker: ProgressBroker = field(default_factory=ProgressBroker)
    queue: SyncQueue | None = None
    clock: Callable[[], datetime] = utcnow

    @property
    def db(self) -> Database:
        return self.sync.db

    @property
    def box(self) -> SecretBox:
        return self.sync.box

    @property
    def policy(self) -> SyncPolicy:
        return self.sync.policy

    def close(self) -> None:
        if self.queue is not None:
            self.queue.close()
        self.db.dispose()


def open_runtime(
    settings: Settings,
    *,
    broker: ProgressBroker | None = None,
    clock: Callable[[], datetime] = utcnow,
    pool_size: int | None = None,
    migrate: bool = True,
    with_queue: bool = False,
) -> Runtime:
    """Open the database (migrated to this version unless ``migrate`` is false), load the
    secret key, decide the policy; with ``with_queue`` in queue mode, open the sync queue."""
    settings.check_execution()
    db = Database(settings.resolved_database_url, **({"pool_size": pool_size} if pool_size else {}))
    try:
        if migrate:
            upgrade(db.engine)
        deps = SyncDeps(
            db,
            SecretBox(load_secret_key(settings)),
            SyncPolicy.from_settings(settings),
            lean_decoding=settings.vcenter_decoder == "lean",
            search_datastores=settings.vcenter_search_datastores,
        )
        queue = None
        if with_queue and settings.execution == "queue":
            queue = SyncQueue(settings.resolved_database_url).open()
    except BaseException:
        db.dispose()
        raise
    return Runtime(settings, deps, broker or ProgressBroker(), queue, clock)
