"""Text collected from sources is shown by the CLI, never obeyed by the terminal: control
characters print as U+FFFD and Rich markup in it is not interpreted (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from tests.cli.conftest import Result
from tests.exports.test_control_characters import COLLECTED, sync_control_characters, vinfo_values
from tests.inventory.history_estate import StaticConnector, estate, vm

HOSTILE_NAME = "web\x1b[2J[bold]01[/bold]:smile:\x1b]0;owned\x07"
SHOWN_NAME = "web\ufffd[2J[bold]01[/bold]:smile:\ufffd]0;owned\ufffd"


@pytest.fixture
def synced(db: Database, box: SecretBox) -> Database:
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    snapshot = estate([vm(1, name=HOSTILE_NAME, guest_os="[red]Linux[/red]")])
    assert run_sync(db, integration_id, StaticConnector(snapshot)).succeeded
    return db


def test_listing_vms_shows_escapes_and_markup_as_text(
    run_iroa: Callable[..., Result], synced: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # no cell folded over two lines
    listed = run_iroa("get", "vms")
    assert listed.code == 0, listed.stderr
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    cells = [c.strip() for line in listed.stdout.splitlines() for c in line.split("│")]
    assert SHOWN_NAME in cells
    assert "[red]Linux[/red]" in cells


def test_the_cli_workbook_export_writes_control_characters_as_replacement_characters(
    run_iroa: Callable[..., Result], db: Database, box: SecretBox, tmp_path: Path
) -> None:
    sync_control_characters(db, box)
    path = tmp_path / "estate.xlsx"
    done = run_iroa("export", "--format", "xlsx", "--output", str(path))
    assert done.code == 0, done.stderr
    values = vinfo_values(openpyxl.load_workbook(path))
    for _, header, shown in COLLECTED.values():
        assert values[header] == shown, header
