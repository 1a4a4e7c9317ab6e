"""Fixtures of the CLI tests: ``iroa`` run in this process, as its entry point runs it."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from iroa.cli import output
from iroa.cli.main import main


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_iroa(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """Run ``iroa`` in this process (as its entry point does), on the test database."""
    monkeypatch.setenv("IROA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IROA_DATABASE_URL", db_url)

    def run(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "argv", ["iroa", *args])
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        # Rich fixes a console's width from COLUMNS when it is made, and pytest-xdist's
        # workers start with COLUMNS set: a console per run sees the run's COLUMNS.
        monkeypatch.setattr(output, "console", Console())
        with pytest.raises(SystemExit) as exited:
            main()
        out = capsys.readouterr()
        return Result(int(exited.value.code or 0), out.out, out.err)

    return run
