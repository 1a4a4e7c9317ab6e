"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from iroa.db import schema
from iroa.db.engine import Database
from iroa.db.migrate import current_revision, head_revision, include_name, is_up_to_date
from iroa.models import Base


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_database_is_at_head(db: Database) -> None:
    assert is_up_to_date(db.engine)
    assert head_revision(db.engine) is not None


def test_the_schema_check_reads_the_revisions_alembic_reads(db: Database) -> None:
    """The CLI's check goes without Alembic: it must see what Alembic sees."""
    assert schema.head_revision() == head_revision(db.engine)
    assert schema.stored_revision(db) == current_revision(db.engine)
    head = schema.head_revision()
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        assert schema.stored_revision(db) == current_revision(db.engine) == "0001"
        with pytest.raises(schema.SchemaOutdatedError, match="at revision 0001, this version"):
            schema.ensure_schema(db)
    finally:  # the PostgreSQL database is shared by the session
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: Database) -> None:
    if not db.is_sqlite:
        return
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
