"""`iroa worker` and IROA_EXECUTION: what they need, said in one line when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iroa.config import ExecutionModeError, Settings


def iroa(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "iroa", *args],
        check=False,
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("IROA_")},
            "IROA_DATA_DIR": str(tmp_path / "data"),
            "COLUMNS": "200",
            **env,
        },
        timeout=120,
    )


def test_worker_help_says_what_it_does_and_what_it_needs(tmp_path: Path) -> None:
    proc = iroa(tmp_path, "worker", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "PostgreSQL" in proc.stdout
    assert "--concurrency" in proc.stdout
    assert "IROA_EXECUTION=queue" in proc.stdout


def test_worker_on_sqlite_refuses_in_one_line(tmp_path: Path) -> None:
    proc = iroa(tmp_path, "worker")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: iroa worker needs PostgreSQL: set IROA_DATABASE_URL=postgresql://..."
    ]


def test_serve_in_queue_mode_on_sqlite_refuses_in_one_line(tmp_path: Path) -> None:
    proc = iroa(tmp_path, "serve", "--port", "0", IROA_EXECUTION="queue")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: IROA_EXECUTION=queue needs PostgreSQL: set IROA_DATABASE_URL=postgresql://..."
    ]
    assert not (tmp_path / "data" / "iroa.db").exists()


def test_an_unknown_execution_mode_is_an_invalid_setting(tmp_path: Path) -> None:
    proc = iroa(tmp_path, "serve", IROA_EXECUTION="threads")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: invalid setting execution:")


@pytest.mark.parametrize(
    ("url", "execution", "ok"),
    [
        (None, "embedded", True),
        (None, "queue", False),
        ("postgresql://u@db/iroa", "queue", True),
        ("postgresql+psycopg://u@db/iroa", "embedded", True),
    ],
)
def test_queue_mode_needs_postgresql(
    tmp_path: Path, url: str | None, execution: str, ok: bool
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=url, execution=execution)  # type: ignore[arg-type]
    if ok:
        settings.check_execution()
    else:
        with pytest.raises(ExecutionModeError, match="needs PostgreSQL"):
            settings.check_execution()
