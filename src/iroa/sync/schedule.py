"""When integrations sync on their own: pure decisions, no database, no threads.

An integration is due when it is enabled, has an interval and its stored
``next_sync_at`` has passed. Each finished run sets the next time: after a
success (or a held run), the interval plus a little jitter so integrations
drift apart instead of starting together; after a failure, a retry that starts
at the minimum interval and doubles per consecutive failure, never waiting
longer than the interval itself. Times are stored on the integration, so they
survive restarts; the failed runs stay in the history.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_JITTER_S = 60.0
JITTER_SHARE = 0.1


def _new_rng() -> random.Random:
    return random.Random()


@dataclass(frozen=True)
class SchedulePolicy:
    """How runs are spaced: the first retry delay, and the jitter source."""

    min_interval_s: int = 60
    """The shortest interval allowed, and the first retry delay after a failure."""
    rng: random.Random = field(default_factory=_new_rng, compare=False, repr=False)

    def draw_jitter_s(self, interval_s: int) -> float:
        """A random delay of up to a tenth of the interval (at most a minute)."""
        return self.rng.uniform(0.0, jitter_cap_s(interval_s))


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """What deciding needs to know of one integration."""

    integration_id: int
    enabled: bool
    interval_seconds: int | None
    next_sync_at: datetime | None


def jitter_cap_s(interval_s: int) -> float:
    """The largest jitter added to a run time for this interval."""
    return min(interval_s * JITTER_SHARE, MAX_JITTER_S)


def is_due(entry: ScheduleEntry, now: datetime) -> bool:
    """Enabled, with an interval, and its next run time has come."""
    return (
        entry.enabled
        and bool(entry.interval_seconds)
        and entry.next_sync_at is not None
        and entry.next_sync_at <= now
    )


def due_integrations(entries: Iterable[ScheduleEntry], now: datetime) -> list[int]:
    """The ids of the due integrations, the longest overdue first."""
    due = [entry for entry in entries if is_due(entry, now)]
    due.sort(key=lambda entry: (entry.next_sync_at, entry.integration_id))
    return [entry.integration_id for entry in due]


def retry_delay_s(interval_s: int, failures: int, min_interval_s: int) -> float:
    """Capped exponential backoff: ``min(interval, minimum * 2 ** (failures - 1))``."""
    if failures < 1:
        return float(interval_s)
    exponent = min(failures - 1, 32)  # beyond this the cap has long applied
    return float(min(interval_s, min_interval_s * 2**exponent))


def next_after_success(finished_at: datetime, interval_s: int, jitter_s: float) -> datetime:
    """The next run after a successful (or held) one."""
    return finished_at + timedelta(seconds=interval_s + jitter_s)


def next_after_failure(
    finished_at: datetime, interval_s: int, failures: int, min_interval_s: int, jitter_s: float
) -> datetime:
    """The retry after ``failures`` failed runs in a row."""
    delay = retry_delay_s(interval_s, failures, min_interval_s)
    return finished_at + timedelta(seconds=delay + jitter_s)


def first_sync_at(
    now: datetime, interval_s: int, last_success_at: datetime | None, jitter_s: float
) -> datetime:
    """When an integration not scheduled yet runs first: an interval after its last success,
    or now if that has passed or it never succeeded; plus jitter."""
    start = now
    if last_success_at is not None:
        start = max(now, last_success_at + timedelta(seconds=interval_s))
    return start + timedelta(seconds=jitter_s)
