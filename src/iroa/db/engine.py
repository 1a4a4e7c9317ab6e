"""Engines and sessions for SQLite (WAL, busy timeout, foreign keys) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_LARGE_WRITE_CACHE_KIB = 8_192
SQLITE_LARGE_WRITE_CACHE_MAX_KIB = 65_536
WRITE_OPTION = "iroa_write"
SINGLE_READ_OPTION = "iroa_single_read"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def json_text(value: Any) -> str:
    """``value`` as compact JSON text (orjson: a tenth of ``json.dumps``'s time)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` writers."""
    url = normalize_url(url)
    parsed = make_url(url)
    kwargs.setdefault("json_deserializer", orjson.loads)  # a list page decodes a JSON per row
    kwargs.setdefault("json_serializer", json_text)  # a first sync encodes hundreds of thousands
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    if (
        parsed.database
        and parsed.database != ":memory:"
        and not parsed.database.startswith("file:")
    ):
        _create_private_file(Path(parsed.database))
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
    _configure_sqlite(engine)
    return engine


def _create_private_file(path: Path) -> None:
    """Create a new SQLite file ``rw-------`` before SQLite does: it holds the inventory and
    the password hashes, and SQLite gives its ``-wal`` and ``-shm`` files the same mode.
    An existing file keeps its mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so that writers can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front: a deferred transaction that upgrades
        # later fails at once with SQLITE_BUSY instead of waiting its turn.
        options = conn.get_execution_options()
        if options.get(SINGLE_READ_OPTION):
            return  # one statement is atomic on its own: no transaction to open
        mode = "IMMEDIATE" if options.get(WRITE_OPTION) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def large_write(conn: Connection, vms: int = 0) -> Iterator[None]:
    """Room for the pages a large write touches, on this connection within this block,
    for an estate of ``vms`` VMs.

    SQLite's page cache is 2 MiB by default: a first sync of a big estate, which
    inserts into a dozen indexes at random places, spills their pages to the
    write-ahead log and reads them back all along. The cache is 8 MiB, and 0.4 KiB
    per VM beyond 20,000 VMs (40 MiB at 100,000; at most 64 MiB): memory the sync
    holds for its whole apply, which grows with the estate as its pages do (at
    100,000 VMs, 40 MiB took a first sync from about 12 s to 10 s; at 20,000 VMs,
    64 MiB took the sync's peak from 147 MB to 200 MB). The cache shrinks back when
    the block ends. PostgreSQL's buffers are the server's: nothing to do there.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    assert driver is not None
    cache_kib = min(
        max(SQLITE_LARGE_WRITE_CACHE_KIB, vms * 2 // 5), SQLITE_LARGE_WRITE_CACHE_MAX_KIB
    )
    (previous,) = driver.execute("PRAGMA cache_size").fetchone()
    driver.execute(f"PRAGMA cache_size = -{cache_kib}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {int(previous)}")


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = normalize_url(url)
        self.engine = create_db_engine(self.url, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session; roll back on leaving unless committed."""
        with self._sessions() as session:
            yield session

    @contextmanager
    def single_read(self) -> Iterator[Connection]:
        """A connection for a read that is one statement, atomic on its own: it is sent
        without ``BEGIN`` … ``ROLLBACK`` around it (on PostgreSQL, two round trips less)."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                yield conn.execution_options(**{SINGLE_READ_OPTION: True})
            else:
                yield conn.execution_options(isolation_level="AUTOCOMMIT")

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session whose transaction takes the write lock at once, committed on success."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{WRITE_OPTION: True})
            with Session(bind=conn, expire_on_commit=False) as session:
                try:
                    yield session
                    session.commit()
                except BaseException:
                    session.rollback()
                    raise

    def dispose(self) -> None:
        self.engine.dispose()
