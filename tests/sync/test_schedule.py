"""When integrations are due, and when they run next: pure decisions, no database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from iroa.sync.schedule import (
    ScheduleEntry,
    SchedulePolicy,
    due_integrations,
    first_sync_at,
    is_due,
    jitter_cap_s,
    next_after_failure,
    next_after_success,
    retry_delay_s,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def entry(
    integration_id: int = 1,
    *,
    enabled: bool = True,
    interval: int | None = 600,
    next_at: datetime | None = NOW,
) -> ScheduleEntry:
    return ScheduleEntry(integration_id, enabled, interval, next_at)


def test_due_when_enabled_with_an_interval_and_its_time_has_come() -> None:
    assert is_due(entry(), NOW)
    assert is_due(entry(next_at=NOW - timedelta(hours=3)), NOW)
    assert not is_due(entry(next_at=NOW + timedelta(seconds=1)), NOW)
    assert not is_due(entry(enabled=False), NOW)
    assert not is_due(entry(interval=None), NOW)
    assert not is_due(entry(interval=0), NOW)
    assert not is_due(entry(next_at=None), NOW)


def test_the_longest_overdue_go_first() -> None:
    entries = [
        entry(1, next_at=NOW - timedelta(seconds=5)),
        entry(2, next_at=NOW + timedelta(seconds=5)),
        entry(3, next_at=NOW - timedelta(seconds=50)),
        entry(4, enabled=False, next_at=NOW - timedelta(hours=1)),
        entry(5, next_at=NOW),
    ]
    assert due_integrations(entries, NOW) == [3, 1, 5]


def test_after_a_success_the_next_run_is_one_interval_plus_jitter_later() -> None:
    assert next_after_success(NOW, 600, 12.5) == NOW + timedelta(seconds=612.5)


@pytest.mark.parametrize(
    ("failures", "delay_s"),
    [(1, 60), (2, 120), (3, 240), (4, 480), (5, 600), (40, 600)],
)
def test_failures_back_off_exponentially_up_to_the_interval(failures: int, delay_s: int) -> None:
    assert retry_delay_s(600, failures, 60) == delay_s
    assert next_after_failure(NOW, 600, failures, 60, 0.0) == NOW + timedelta(seconds=delay_s)


def test_a_short_interval_caps_the_backoff_at_once() -> None:
    assert [retry_delay_s(90, n, 60) for n in (1, 2, 3)] == [60, 90, 90]


def test_jitter_is_at_most_a_tenth_of_the_interval_and_a_minute() -> None:
    assert jitter_cap_s(30) == 3.0
    assert jitter_cap_s(86400) == 60.0
    policy = SchedulePolicy(60, random.Random(7))
    draws = [policy.draw_jitter_s(600) for _ in range(200)]
    assert all(0.0 <= d <= 60.0 for d in draws)
    assert len({round(d, 3) for d in draws}) > 150  # spread, not one value


def test_many_integrations_scheduled_together_spread_out() -> None:
    policy = SchedulePolicy(60, random.Random(1))
    starts = sorted(first_sync_at(NOW, 3600, None, policy.draw_jitter_s(3600)) for _ in range(50))
    assert starts[0] >= NOW and starts[-1] <= NOW + timedelta(seconds=60)
    assert (starts[-1] - starts[0]).total_seconds() > 30


def test_the_first_run_waits_for_the_interval_since_the_last_success() -> None:
    recent = NOW - timedelta(seconds=100)
    assert first_sync_at(NOW, 600, recent, 0.0) == recent + timedelta(seconds=600)
    assert first_sync_at(NOW, 600, NOW - timedelta(days=1), 0.0) == NOW
    assert first_sync_at(NOW, 600, None, 4.0) == NOW + timedelta(seconds=4)
