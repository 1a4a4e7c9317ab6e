"""One sync, and one watcher, per integration at a time, across processes, released if the
holder dies.

PostgreSQL: a session-level advisory lock on a connection held for the run.
SQLite: an ``flock`` on a file beside the database. Both vanish with the
process that holds them, so a killed run never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from iroa.db.engine import Database

# First half of PostgreSQL's two-key advisory lock: IROA's sync and watch namespaces.
_PG_LOCK_CLASS = 0x1A0A
_PG_WATCH_CLASS = 0x1A0B


@contextmanager
def sync_lock(db: Database, integration_id: int) -> Iterator[bool]:
    """Try to take the sync lock of one integration; yields whether it was taken."""
    with _lock(db, "sync", _PG_LOCK_CLASS, integration_id) as taken:
        yield taken


@contextmanager
def watch_lock(db: Database, integration_id: int) -> Iterator[bool]:
    """Try to take the right to watch one integration; yields whether it was taken."""
    with _lock(db, "watch", _PG_WATCH_CLASS, integration_id) as taken:
        yield taken


@contextmanager
def _lock(db: Database, name: str, pg_class: int, integration_id: int) -> Iterator[bool]:
    if db.is_sqlite:
        with _file_lock(_lock_dir(db) / f"{name}-{integration_id}.lock") as taken:
            yield taken
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        taken = bool(
            conn.execute(
                text("SELECT pg_try_advisory_lock(:cls, :obj)"),
                {"cls": pg_class, "obj": integration_id},
            ).scalar()
        )
        try:
            yield taken
        finally:
            if taken:
                conn.execute(
                    text("SELECT pg_advisory_unlock(:cls, :obj)"),
                    {"cls": pg_class, "obj": integration_id},
                )


def _lock_dir(db: Database) -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:":
        raise RuntimeError("an in-memory SQLite database cannot be shared by sync processes")
    return Path(database).resolve().parent / "locks"


@contextmanager
def _file_lock(path: Path) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
