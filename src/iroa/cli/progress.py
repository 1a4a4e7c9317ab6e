"""Sync progress on the terminal: a Rich bar on a TTY, plain lines otherwise."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class TerminalProgress:
    """Shows each phase of a sync with its real total."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._interactive = console.is_terminal
        self._bar: Progress | None = None
        self._task: int | None = None
        self._phase: str | None = None
        self._total: int | None = None
        self._done = 0

    def __enter__(self) -> TerminalProgress:
        if self._interactive:
            self._bar = Progress(
                TextColumn("{task.description:<24}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end_phase()
        if self._bar is not None:
            self._bar.stop()

    def start(self, phase: str, total: int | None = None) -> None:
        self._end_phase()
        self._phase, self._total, self._done = phase, total, 0
        if self._bar is not None:
            self._task = self._bar.add_task(phase, total=total)
        else:
            suffix = f" (0/{total})" if total is not None else ""
            print(f"{phase}{suffix}", file=sys.stderr, flush=True)

    def advance(self, done: int = 1) -> None:
        self._done += done
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, done)  # type: ignore[arg-type]

    def _end_phase(self) -> None:
        if self._phase is None:
            return
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=self._total or self._done)  # type: ignore[arg-type]
        elif self._total is not None:
            print(f"{self._phase} done ({self._done}/{self._total})", file=sys.stderr, flush=True)
        self._phase = None
