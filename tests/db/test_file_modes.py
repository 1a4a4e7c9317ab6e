"""A new SQLite database file, and the WAL files beside it, are for their owner only."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from iroa.db.engine import Database
from iroa.db.migrate import upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_file_and_its_wal_are_created_rw_for_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "iroa.db"
    kept = tmp_path / "kept.db"
    kept.touch()
    kept.chmod(0o640)  # an existing file keeps its mode
    previous = os.umask(0o022)
    try:
        for file in (path, kept):
            database = Database(f"sqlite:///{file}")
            upgrade(database.engine)
            with database.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                if file == path:
                    files = [path, *path.parent.glob("iroa.db-*")]
                    assert {p.name for p in files} >= {"iroa.db", "iroa.db-wal", "iroa.db-shm"}
                    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
            database.dispose()
    finally:
        os.umask(previous)
    assert mode(kept) == 0o640
