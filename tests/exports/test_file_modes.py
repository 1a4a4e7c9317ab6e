"""Exports written to disk are never world-readable, whatever the umask (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from iroa.db.engine import Database
from iroa.exports.csv import list_csv, write_csv_directory, write_text_atomically
from iroa.exports.scheduled import write_dated_export
from iroa.exports.xlsx import write_xlsx


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask, under which a new file would be readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_export_file_is_for_its_owner_and_group_only(
    db: Database, tmp_path: Path, open_umask: None
) -> None:
    workbook = tmp_path / "estate.xlsx"
    write_xlsx(db, workbook)
    sheets = tmp_path / "csv"
    written = write_csv_directory(db, sheets)
    vms = tmp_path / "vms.csv"
    write_text_atomically(vms, list_csv(db, "vms"))
    dated_xlsx, _ = write_dated_export(db, tmp_path / "dated", export_format="xlsx")
    dated_csv, _ = write_dated_export(db, tmp_path / "dated", export_format="csv")
    files = [workbook, vms, dated_xlsx, *written.values(), *dated_csv.iterdir()]
    assert len(files) == 3 + 2 * len(written)
    for path in files:
        assert mode(path) == 0o640, path
    for directory in (sheets, dated_csv):
        assert mode(directory) == 0o750, directory
