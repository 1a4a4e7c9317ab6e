"""Dated exports into a directory, keeping the newest: on a schedule in ``iroa serve``, or once.

Each export is named after the moment it was taken (``iroa-export-20261126T020000Z.xlsx``,
or a directory of that name holding one CSV per sheet) and appears whole or not
at all: it is written beside its final name and renamed. When the last export
was taken is read from those names, so a restart neither repeats nor skips one.
The decisions (is one due, which to delete) are pure functions.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.exports.csv import write_csv_directory
from iroa.exports.files import DIRECTORY_MODE
from iroa.exports.xlsx import write_xlsx

log = logging.getLogger(__name__)

PREFIX = "iroa-export-"
STAMP = "%Y%m%dT%H%M%SZ"
FORMATS = ("xlsx", "csv")


def export_name(taken_at: datetime, export_format: str) -> str:
    """The file (xlsx) or directory (csv) name of an export taken at ``taken_at``."""
    name = PREFIX + taken_at.astimezone(UTC).strftime(STAMP)
    return f"{name}.xlsx" if export_format == "xlsx" else name


def taken_at_of(name: str) -> datetime | None:
    """When the export called ``name`` was taken; None if the name is not an export's."""
    if not name.startswith(PREFIX):
        return None
    stamp = name.removeprefix(PREFIX).removesuffix(".xlsx")
    try:
        return datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def last_taken_at(names: Iterable[str]) -> datetime | None:
    """The moment of the newest export among ``names`` (entries of the export directory)."""
    moments = [t for t in map(taken_at_of, names) if t is not None]
    return max(moments, default=None)


def export_due(last: datetime | None, now: datetime, interval_s: int) -> bool:
    """Whether an export is due: none yet, or the last one ``interval_s`` or more ago."""
    return last is None or now - last >= timedelta(seconds=interval_s)


def exports_to_delete(names: Iterable[str], keep: int) -> list[str]:
    """The exports among ``names`` beyond the newest ``keep``, oldest first."""
    dated = sorted((t, n) for n in names if (t := taken_at_of(n)) is not None)
    return [name for _, name in dated[: max(len(dated) - keep, 0)]]


def write_dated_export(
    db: Database,
    directory: Path,
    *,
    export_format: str = "xlsx",
    keep: int | None = None,
    now: datetime | None = None,
    integration: str | None = None,
    raw: bool = False,
    as_of: datetime | None = None,
) -> tuple[Path, list[str]]:
    """Write one export named after ``now`` into ``directory``; then keep the newest ``keep``.

    Returns the export's path and the names of the old exports deleted.
    """
    if export_format not in FORMATS:
        raise ValueError(f"unknown export format {export_format!r}: choose xlsx or csv")
    now = now or utcnow()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / export_name(as_of or now, export_format)
    if export_format == "xlsx":
        write_xlsx(db, path, integration=integration, as_of=as_of)
    else:
        partial = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=directory))
        try:
            write_csv_directory(db, partial, integration=integration, as_of=as_of, raw=raw)
            os.chmod(partial, DIRECTORY_MODE)
            if path.exists():
                shutil.rmtree(path)
            os.replace(partial, path)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    deleted = []
    if keep is not None:
        for name in exports_to_delete(os.listdir(directory), keep):
            old = directory / name
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink(missing_ok=True)
            deleted.append(name)
    return path, deleted


@dataclass
class ExportSchedule:
    """Writes a dated export every ``interval_s`` seconds from a thread of ``iroa serve``.

    It looks every ``tick_s`` seconds whether one is due; a failed export is
    logged and tried again at the next look.
    """

    db: Database
    directory: Path
    interval_s: int
    keep: int
    export_format: str = "xlsx"
    tick_s: float = 60.0
    clock: Callable[[], datetime] = utcnow
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def run_due(self) -> Path | None:
        """Write an export now if one is due; its path, or None."""
        now = self.clock()
        names = os.listdir(self.directory) if self.directory.is_dir() else []
        if not export_due(last_taken_at(names), now, self.interval_s):
            return None
        try:
            path, deleted = write_dated_export(
                self.db,
                self.directory,
                export_format=self.export_format,
                keep=self.keep,
                now=now,
            )
        except Exception as exc:
            log.exception("scheduled export to %s failed: %s", self.directory, exc)
            return None
        log.info(
            "scheduled export written to %s%s",
            path,
            f"; deleted {len(deleted)} older ones" if deleted else "",
        )
        return path

    def start(self) -> None:
        """Begin looking in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="iroa-export", daemon=True)
        self._thread.start()
        log.info(
            "scheduled exports (%s) to %s every %d s, keeping %d",
            self.export_format,
            self.directory,
            self.interval_s,
            self.keep,
        )

    def stop(self) -> None:
        """Stop looking; an export being written is finished first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:
                log.exception("scheduled export: looking at %s failed", self.directory)
            self._stop.wait(self.tick_s)
