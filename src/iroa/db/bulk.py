"""Inserting many rows at once, within the caller's transaction.

Rows are given column by column, values as the models hold them. Ids are
reserved up front (:func:`reserve_ids`) rather than returned by each insert, so
rows can be sent without ``RETURNING``: PostgreSQL gets them by ``COPY``,
SQLite by ``INSERT`` statements of many rows each.

SQLAlchemy's executemany converts every value of every row through its column
type, row by row, and on PostgreSQL sends statements of thousands of
placeholders that psycopg parses anew each time: for a first sync of 100,000
VMs that took most of the time. Here each column's conversion is taken from
SQLAlchemy once and applied to a whole column where its values need it, and the
rows go to the driver as they are. On PostgreSQL, JSON values are serialized
here, by orjson, to the text ``jsonb`` parses: psycopg would wrap each value and
run ``json.dumps`` on it, about 5 µs a value.

Rows already stored are given new values by id the same way (:class:`BulkUpdate`):
one ``UPDATE`` per row through the driver's ``executemany`` on SQLite, one
``UPDATE … FROM unnest(arrays)`` per batch on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import chain, islice, repeat
from typing import Any

from sqlalchemy import JSON, Connection, Table, func, literal, select, text
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.exc import OperationalError

from iroa.db.engine import json_text

Processor = Callable[[Any], Any]

SQLITE_STATEMENT_PARAMETERS = 4_000
"""At most this many parameters in one multi-row ``INSERT`` on SQLite. Each statement stays
prepared in the driver's statement cache as long as its connection: one of 32,766
parameters (SQLite's limit) held about 5 MB, and a first sync of 20,000 VMs peaked 7 MB
higher with them. The price is more statements: 100,000 VMs' rows went in bare, indexes
kept up row by row, in about 9 s instead of 7.3 s; a first sync that large builds its
indexes after the rows (``indexes_built_after``) and stays under 10 s."""


def reserve_ids(conn: Connection, table: Table, count: int) -> Sequence[int]:
    """``count`` unused ids of ``table``, for rows this transaction inserts.

    PostgreSQL draws them from the ``id`` column's sequence, as inserts would.
    SQLite continues after the largest id, as it does itself: the caller must
    hold the write lock (a transaction begun ``IMMEDIATE``) until they are used.
    """
    if count == 0:
        return ()
    if conn.dialect.name == "postgresql":
        name = func.pg_get_serial_sequence(table.name, table.c.id.name)
        # The sequence as a constant: looked up in each row, it cost 7 µs an id.
        sequence = literal(conn.execute(select(name)).scalar_one(), literal_execute=True)
        drawn = select(func.array_agg(func.nextval(sequence.cast(REGCLASS)))).select_from(
            func.generate_series(1, count)
        )
        ids: Sequence[int] = conn.execute(drawn).scalar_one()
        return ids
    last = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return range(last + 1, last + 1 + count)


class _Bound:
    """Some columns of one table and the constants of every row, bound as SQLAlchemy binds
    them on one connection's dialect."""

    def __init__(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[str],
        constants: Mapping[str, Any] | None = None,
    ) -> None:
        """``constants`` are columns with one value for every row, bound once."""
        self.conn = conn
        self.table = table
        self.columns = tuple(columns)
        self.processors = [_processor(table, name, conn) for name in columns]
        self.constants = {
            name: value
            if (processor := _processor(table, name, conn)) is None
            else processor(value)
            for name, value in (constants or {}).items()
        }

    def bound(self, columns: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        """``columns``' values (in the order of the columns named) as the driver takes them."""
        return [
            column if processor is None else _bound(processor, column)
            for processor, column in zip(self.processors, columns, strict=True)
        ]


class BulkInsert(_Bound):
    """Rows of some columns of one table, bound and sent on one connection."""

    def __init__(
        self,
        conn: Connection,
        table: Table,
        columns: Sequence[str],
        constants: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(conn, table, columns, constants)
        self.names = (*self.columns, *self.constants)
        parameters = min(conn.dialect.insertmanyvalues_max_parameters, SQLITE_STATEMENT_PARAMETERS)
        self.max_rows = max(1, parameters // len(self.names))

    def send(self, columns: Sequence[Sequence[Any]]) -> None:
        """Insert one row per position of ``columns``, which hold the values of the
        columns named, in their order."""
        count = len(columns[0])
        if not count:
            return
        constants = [repeat(value, count) for value in self.constants.values()]
        rows = zip(*self.bound(columns), *constants, strict=True)
        if self.conn.dialect.name == "postgresql":
            self._copy(rows)
        else:
            self._insert_many(rows)

    def _copy(self, rows: Iterator[tuple[Any, ...]]) -> None:
        columns = ", ".join(f'"{name}"' for name in self.names)
        driver = self.conn.connection.driver_connection
        with (
            driver.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(f'COPY "{self.table.name}" ({columns}) FROM STDIN') as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def _insert_many(self, rows: Iterator[tuple[Any, ...]]) -> None:
        # Many rows per statement: the VM search index (FTS5), which a trigger fills, is
        # flushed at the end of every statement.
        columns = ", ".join(f'"{name}"' for name in self.names)
        one = "(" + ", ".join("?" * len(self.names)) + ")"
        prefix = f'INSERT INTO "{self.table.name}" ({columns}) VALUES '
        full = prefix + ", ".join([one] * self.max_rows)
        while batch := tuple(chain.from_iterable(islice(rows, self.max_rows))):
            count = len(batch) // len(self.names)
            sql = full if count == self.max_rows else prefix + ", ".join([one] * count)
            self.conn.exec_driver_sql(sql, batch)


class BulkUpdate(_Bound):
    """New values of some columns for rows of one table given by id, on one connection.

    Values are bound as :class:`BulkInsert` binds them; the columns hold scalars
    (not JSON). On SQLite each row is an ``UPDATE … WHERE id = ?`` run by the
    driver's ``executemany``, a few microseconds a row; on PostgreSQL a batch is one
    ``UPDATE … FROM unnest(…)`` of one array per column: SQLAlchemy's executemany
    would send a statement per row, tens of microseconds each.
    """

    def send(self, ids: Sequence[int], columns: Sequence[Sequence[Any]]) -> None:
        """Set, in the row of each id of ``ids``, the values at its position in ``columns``
        (the columns named, in their order)."""
        if not ids:
            return
        bound = self.bound(columns)
        if self.conn.dialect.name == "postgresql":
            self._update_from_arrays(ids, bound)
        else:
            self._update_many(ids, bound)

    def _update_many(self, ids: Sequence[int], columns: Sequence[Sequence[Any]]) -> None:
        names = (*self.columns, *self.constants)
        assignments = ", ".join(f'"{name}" = ?' for name in names)
        sql = f'UPDATE "{self.table.name}" SET {assignments} WHERE id = ?'
        constants = [repeat(value, len(ids)) for value in self.constants.values()]
        self.conn.exec_driver_sql(sql, list(zip(*columns, *constants, ids, strict=True)))

    def _update_from_arrays(self, ids: Sequence[int], columns: Sequence[Sequence[Any]]) -> None:
        dialect = self.conn.dialect
        types = [self.table.c[name].type.compile(dialect=dialect) for name in self.columns]
        arrays = ", ".join(["%(id)s::bigint[]", *(f"%(c{n})s::{t}[]" for n, t in enumerate(types))])
        aliases = ", ".join(["id", *(f"c{n}" for n in range(len(self.columns)))])
        assignments = ", ".join(
            [
                *(f'"{name}" = v.c{n}' for n, name in enumerate(self.columns)),
                *(f'"{name}" = %(k{n})s' for n, name in enumerate(self.constants)),
            ]
        )
        sql = (
            f'UPDATE "{self.table.name}" AS t SET {assignments}'
            f" FROM unnest({arrays}) AS v({aliases}) WHERE t.id = v.id"
        )
        params: dict[str, Any] = {"id": list(ids)}
        params |= {f"c{n}": list(column) for n, column in enumerate(columns)}
        params |= {f"k{n}": value for n, value in enumerate(self.constants.values())}
        self.conn.exec_driver_sql(sql, params)


def _bound(processor: Processor, column: Sequence[Any]) -> list[Any]:
    null = processor(None)
    return [null if value is None else processor(value) for value in column]


def _processor(table: Table, name: str, conn: Connection) -> Processor | None:
    """How SQLAlchemy binds a value of this column on this connection's dialect; on
    PostgreSQL, JSON as text (``None`` as JSON's ``null``, as SQLAlchemy binds it)."""
    dialect = conn.dialect
    if dialect.name == "postgresql" and isinstance(table.c[name].type.dialect_impl(dialect), JSON):
        return json_text
    processor: Processor | None = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
    return processor


@contextmanager
def indexes_built_after(
    conn: Connection, tables: Sequence[Table], *, plain: bool = True
) -> Iterator[list[str]]:
    """The plain indexes of those of ``tables`` that are empty, dropped for this block and
    built again when it ends, within the caller's transaction; the names of the tables
    whose indexes wait. Primary keys and unique indexes stay; on SQLite, without
    ``plain``, the plain indexes too (only the VM search waits).

    Maintaining indexes row by row was more than half of the writes of a first sync of
    100,000 VMs (on PostgreSQL the trigram index above all); building them after the
    rows are in took less than half of that. On SQLite, the rows of such a sync went in
    in about 5 s instead of 7.4 s, and its two dozen indexes were built in under 1 s.

    On PostgreSQL the drop holds an exclusive lock on those tables until the
    transaction ends, so readers of them wait for it: it is tried only for a second,
    and if another transaction holds a lock on them the rows go in with their indexes
    as usual. On SQLite, readers see the last commit, indexes and all; there an FTS5
    index filled by a trigger (VM search), which is flushed at the end of every
    statement, is rebuilt from the rows at the end too, its insert triggers dropped
    meanwhile.
    """
    if conn.dialect.name == "sqlite":
        with _sqlite_indexes_built_after(conn, tables, plain) as waiting:
            yield waiting
        return
    if conn.dialect.name != "postgresql":
        yield []
        return
    found = conn.execute(
        text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = ANY(:tables)"
            " AND indexdef NOT LIKE 'CREATE UNIQUE INDEX %'"
            " ORDER BY tablename, indexname"
        ),
        {"tables": _empty(conn, tables)},
    ).all()
    lock_timeout = conn.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    try:
        with conn.begin_nested():
            conn.execute(text("SELECT set_config('lock_timeout', '1s', true)"))
            for _, name, _ in found:
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
            conn.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": lock_timeout})
    except OperationalError:
        # Not locked in time: the savepoint is gone, with its setting and its drops.
        yield []
        return
    yield sorted({table for table, _, _ in found})
    for _, _, definition in found:
        conn.exec_driver_sql(definition)


def _empty(conn: Connection, tables: Sequence[Table]) -> list[str]:
    return [t.name for t in tables if conn.execute(select(t.c.id).limit(1)).first() is None]


@contextmanager
def _sqlite_indexes_built_after(
    conn: Connection, tables: Sequence[Table], plain: bool
) -> Iterator[list[str]]:
    """SQLite's side of :func:`indexes_built_after` (its DDL is part of the transaction:
    nothing of it shows if the block fails)."""
    empty = _empty(conn, tables)
    found = [
        (table, name, sql)
        for table in (empty if plain else ())
        for name, sql in conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
            " AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE INDEX %' ORDER BY name",
            (table,),
        ).all()
    ]
    for _, name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    with _search_built_after(conn, empty) as searched:
        yield sorted({table for table, _, _ in found} | set(searched))
    for _, _, sql in found:
        conn.exec_driver_sql(sql)


@contextmanager
def _search_built_after(conn: Connection, empty: Sequence[str]) -> Iterator[list[str]]:
    """The FTS5 indexes whose content is one of the ``empty`` tables: their insert
    triggers dropped for this block, then the indexes rebuilt and the triggers restored."""
    waiting: dict[str, str] = {}  # FTS5 table: the table it indexes
    triggers: list[tuple[str, str]] = []
    for table in empty:
        for fts in _fts_indexes_of(conn, table):
            found = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?"
                " AND sql LIKE '%AFTER INSERT%' AND sql LIKE ?",
                (table, f"%INSERT INTO {fts}(%"),
            ).all()
            if found:
                waiting[fts] = table
                triggers.extend((name, sql) for name, sql in found)
    for name, _ in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield sorted(set(waiting.values()))
    for fts in waiting:
        conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
    for _, sql in triggers:
        conn.exec_driver_sql(sql)


def _fts_indexes_of(conn: Connection, table: str) -> list[str]:
    """The FTS5 tables kept from ``table``'s rows (``content='table'``)."""
    rows = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'"
        " AND sql LIKE '%USING fts5(%' AND sql LIKE ?",
        (f"%content='{table}'%",),
    ).all()
    return [name for (name,) in rows]
