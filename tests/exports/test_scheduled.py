"""Dated exports with retention: the pure decisions, the writer, the schedule and ``iroa serve``."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from iroa.config import Settings
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.exports.scheduled import (
    ExportSchedule,
    export_due,
    export_name,
    exports_to_delete,
    last_taken_at,
    taken_at_of,
    write_dated_export,
)
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from tests.api.fixtures import FrozenClock, start_api
from tests.exports.test_exports import SHEET_NAMES
from tests.inventory.history_estate import SEQUENCE, StaticConnector

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
DAY = 86_400


def test_names_carry_the_moment_and_decide_what_is_due_and_deleted() -> None:
    assert export_name(T0, "xlsx") == "iroa-export-20261126T020000Z.xlsx"
    assert export_name(T0, "csv") == "iroa-export-20261126T020000Z"
    assert taken_at_of(export_name(T0, "xlsx")) == T0
    assert taken_at_of("notes.txt") is None and taken_at_of("iroa-export-garbage.xlsx") is None
    names = [export_name(T0 + timedelta(days=d), "xlsx") for d in (2, 0, 1)] + ["notes.txt"]
    assert last_taken_at(names) == T0 + timedelta(days=2)
    assert last_taken_at(["notes.txt"]) is None
    assert export_due(None, T0, DAY)
    assert not export_due(T0, T0 + timedelta(hours=23), DAY)
    assert export_due(T0, T0 + timedelta(days=1), DAY)
    assert exports_to_delete(names, 2) == [export_name(T0, "xlsx")]
    assert exports_to_delete(names, 3) == []
    assert exports_to_delete(names, 1) == [
        export_name(T0 + timedelta(days=d), "xlsx") for d in (0, 1)
    ]


@pytest.fixture
def synced(db: Database, box: SecretBox) -> Database:
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[0])).succeeded
    return db


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_dated_exports_keep_the_newest(synced: Database, tmp_path: Path) -> None:
    directory = tmp_path / "exports"
    (tmp_path / "exports").mkdir()
    (directory / "README").write_text("not an export")
    written = []
    for day in range(4):
        path, deleted = write_dated_export(synced, directory, keep=2, now=T0 + timedelta(days=day))
        written.append(path.name)
        assert deleted == (written[day - 2 : day - 1] if day >= 2 else [])
    assert sorted(p.name for p in directory.iterdir()) == ["README", *written[2:]]
    workbook = openpyxl.load_workbook(directory / written[-1], read_only=True)
    assert workbook.sheetnames == SHEET_NAMES
    workbook.close()
    path, _ = write_dated_export(
        synced, directory, export_format="csv", keep=2, now=T0 + timedelta(days=9)
    )
    assert path.is_dir() and sorted(p.stem for p in path.iterdir()) == sorted(SHEET_NAMES)
    assert sorted(p.name for p in directory.iterdir()) == ["README", written[-1], path.name]
    assert not [p for p in directory.iterdir() if "partial" in p.name]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_schedule_writes_when_due_and_logs_failures(
    synced: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FrozenClock(T0)
    schedule = ExportSchedule(synced, tmp_path / "exports", DAY, keep=2, clock=clock)
    first = schedule.run_due()
    assert first is not None and first.name == export_name(T0, "xlsx")
    clock.advance(hours=23)
    assert schedule.run_due() is None
    for _ in range(3):
        clock.advance(days=1)
        assert schedule.run_due() is not None
    assert len(list((tmp_path / "exports").iterdir())) == 2

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    broken = ExportSchedule(synced, blocked / "exports", DAY, keep=2, clock=clock)
    with caplog.at_level(logging.ERROR, logger="iroa.exports.scheduled"):
        assert broken.run_due() is None
    assert f"scheduled export to {blocked / 'exports'} failed" in caplog.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_serve_writes_the_scheduled_export(settings: Settings, tmp_path: Path) -> None:
    directory = tmp_path / "scheduled"
    configured = settings.model_copy(
        update={"scheduler": True, "export_dir": directory, "export_keep": 3}
    )
    for _ in start_api(configured):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not list(directory.glob("iroa-export-*.xlsx")):
            time.sleep(0.1)
        files = list(directory.glob("iroa-export-*.xlsx"))
        assert len(files) == 1
        workbook = openpyxl.load_workbook(files[0], read_only=True)
        assert workbook.sheetnames == SHEET_NAMES
        workbook.close()
