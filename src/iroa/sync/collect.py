"""Collecting a snapshot in a thread of its own, given up on after the run's timeout."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from iroa.connectors.base import Progress

T_co = TypeVar("T_co", covariant=True)


class SyncTimeoutError(Exception):
    """Collection went on past the integration's timeout and was abandoned."""


class CollectionAbandonedError(Exception):
    """Raised inside an abandoned collection, at its next progress report, to end it."""


class Collector(Protocol[T_co]):
    """Anything that reads one source in one pass: every connector, whatever it reads."""

    def collect(self, progress: Progress) -> T_co: ...


def collect_within(connector: Collector[T_co], progress: Progress, timeout_s: float) -> T_co:
    """Collect in a thread of its own; give up on it after ``timeout_s``.

    The abandoned collection never reaches the database: it ends at its next
    progress report (or when its connection times out) and its result is dropped.
    """
    outcome: dict[str, Any] = {}
    done = threading.Event()
    abandoned = threading.Event()

    def collect() -> None:
        try:

            def check() -> None:
                if abandoned.is_set():
                    raise CollectionAbandonedError("the sync gave up on this collection")

            outcome["snapshot"] = connector.collect(CheckedProgress(progress, check))
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=collect, name="iroa-collect", daemon=True)
    worker.start()
    if not done.wait(timeout_s):
        abandoned.set()
        raise SyncTimeoutError(
            f"the sync did not finish collecting within its timeout of {timeout_s:g} s; "
            "nothing was changed"
        )
    error = outcome.get("error")
    if error is not None:
        raise error
    snapshot: T_co = outcome["snapshot"]
    return snapshot


class CheckedProgress:
    """Passes progress on, calling ``check`` before each report: a check that raises ends
    the collection there (a run that gave up on it, a watcher asked to stop)."""

    def __init__(self, progress: Progress, check: Callable[[], None]) -> None:
        self._progress = progress
        self._check = check

    def start(self, phase: str, total: int | None = None) -> None:
        self._check()
        self._progress.start(phase, total)

    def advance(self, done: int = 1) -> None:
        self._check()
        self._progress.advance(done)
