"""The API's JSON renderer and the plain-string keys list items are built with."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.sql.elements import quoted_name

from iroa.http.responses import FastJSONResponse
from iroa.inventory.queries import jsonable_rows, row_keys


def test_renders_compact_utf8_with_aware_timestamps() -> None:
    body = FastJSONResponse(
        {"name": "vm-ä", "at": datetime(2026, 11, 26, 10, 0, tzinfo=UTC), "ips": []}
    ).body
    assert body == '{"name":"vm-ä","at":"2026-11-26T10:00:00+00:00","ips":[]}'.encode()


def test_keys_that_are_not_plain_strings_are_written_as_their_json_text() -> None:
    # Counts keyed by a nullable value, and names that are str subclasses.
    content = {"by_state": {None: 2, "on": 3, 4: 5}, quoted_name("total", None): 10}
    assert FastJSONResponse(content).body == b'{"by_state":{"null":2,"on":3,"4":5},"total":10}'


def test_row_keys_are_plain_strings() -> None:
    # Columns read through a subquery, as a list page's are, are named by str subclasses.
    engine = create_engine("sqlite://")
    metadata = MetaData()
    vms = Table("vms", metadata, Column("id", Integer, primary_key=True), Column("name", String))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(vms.insert().values(id=1, name="a"))
        page = select(vms.c.id, vms.c.name).subquery("page")
        rows = conn.execute(select(page)).all()
        items = jsonable_rows(conn.execute(select(page)))
    assert not all(type(key) is str for key in rows[0]._fields)
    assert row_keys(rows) == ("id", "name")
    assert all(type(key) is str for key in row_keys(rows))
    assert row_keys([]) == ()
    assert [type(key) for key in items[0]] == [str, str]
