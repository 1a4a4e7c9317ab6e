"""Shared fixtures: a migrated database on SQLite and on PostgreSQL for every database test."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from iroa.config import Settings
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.models import Base

pytest_plugins = [
    "tests.peers.plugin",
    "tests.api.fixtures",
    "tests.api.inventory_fixtures",
    "tests.monitoring.fixtures",
]

POSTGRES_URL = os.environ.get(
    "IROA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI") == "true"
# An app started by a test runs no automatic syncs unless the test asks for them.
os.environ.setdefault("IROA_SCHEDULER", "false")


def unavailable(reason: str) -> None:
    """Skip locally, fail in CI: a peer that cannot start is never silently skipped there."""
    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "iroa.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database.engine)
    database.dispose()
    return path


@contextmanager
def migrated_postgres_database(prefix: str) -> Iterator[str]:
    """A new PostgreSQL database named ``prefix`` + a random suffix, migrated to head,
    dropped on exit; unavailable PostgreSQL skips (or fails under ``CI=true``)."""
    admin_url = make_url(POSTGRES_URL)
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        unavailable(f"PostgreSQL at {admin_url.render_as_string()} is not available: {exc}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    upgrade(database.engine)
    database.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    with migrated_postgres_database("iroa_test_") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database: a copied SQLite file or a truncated PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "data" / "iroa.db"
        path.parent.mkdir()
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database_url")
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url)


@pytest.fixture
def box() -> SecretBox:
    return SecretBox("test-instance-key")
