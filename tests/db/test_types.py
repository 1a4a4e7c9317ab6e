"""Timestamps come back as aware UTC datetimes on both databases, whatever was stored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text

from iroa.db.base import UTCDateTime
from iroa.db.engine import Database

metadata = MetaData()
moments = Table(
    "type_test_moments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=True),
)


@pytest.fixture
def table(db: Database) -> Iterator[Table]:
    metadata.create_all(db.engine)
    yield moments
    metadata.drop_all(db.engine)


@pytest.mark.parametrize(
    "written",
    [
        datetime(2026, 11, 26, 20, 19, 24, 123456, tzinfo=UTC),
        datetime(2026, 11, 26, 20, 19, 24, tzinfo=UTC),  # no microseconds
        datetime(2026, 11, 26, 22, 19, 24, 5, tzinfo=timezone(timedelta(hours=2))),
        None,
    ],
)
def test_a_timestamp_reads_back_as_the_same_moment_in_utc(
    db: Database, table: Table, written: datetime | None
) -> None:
    with db.engine.begin() as conn:
        conn.execute(insert(table).values(id=1, at=written))
    with db.engine.connect() as conn:
        read = conn.execute(select(table.c.at)).scalar_one()
    if written is None:
        assert read is None
    else:
        assert read == written and read.tzinfo is not None and read.utcoffset() == timedelta(0)
        assert read.isoformat() == written.astimezone(UTC).isoformat()


def test_text_stored_by_sqlite_itself_is_read_as_utc(db: Database, table: Table) -> None:
    if not db.is_sqlite:
        pytest.skip("SQLite keeps timestamps as text")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO type_test_moments (id, at) VALUES (1, CURRENT_TIMESTAMP)"))
    with db.engine.connect() as conn:
        read = conn.execute(select(table.c.at)).scalar_one()
    assert read.tzinfo is not None and abs(datetime.now(UTC) - read) < timedelta(minutes=1)
