"""The dashboard's pure helpers: value formatting and the trend chart's geometry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from iroa.web.charts import trend_chart
from iroa.web.formatting import (
    changed_by,
    format_age,
    format_bytes,
    format_mib,
    format_ratio,
    format_time,
    format_value,
    percent,
)
from iroa.web.session import safe_next

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_sizes_read_in_binary_units() -> None:
    assert format_bytes(None) == "—"
    assert format_bytes(512) == "512 B"
    assert format_bytes(1 << 30) == "1.0 GiB"
    assert format_bytes(5 * (1 << 40) // 2) == "2.5 TiB"
    assert format_mib(32) == "32.0 MiB"
    assert format_mib(262144) == "256.0 GiB"


def test_ages_and_times() -> None:
    assert format_age(None, NOW) == "never"
    assert format_age(NOW - timedelta(seconds=20), NOW) == "just now"
    assert format_age((NOW - timedelta(minutes=3)).isoformat(), NOW) == "3 min ago"
    assert format_age(NOW - timedelta(hours=5), NOW) == "5 h ago"
    assert format_age(NOW - timedelta(days=1, hours=2), NOW) == "1 day ago"
    assert format_age(NOW - timedelta(days=9), NOW) == "9 days ago"
    assert format_time("2026-01-05T09:00:00+00:00") == "2026-01-05 09:00 UTC"
    assert format_time("2026-01-05T10:30:00+01:00") == "2026-01-05 09:30 UTC"


def test_values_ratios_and_percentages() -> None:
    assert format_value(None) == format_value("") == format_value([]) == "—"
    assert format_value(True) == "yes"
    assert format_value(["10.0.0.1", "fe80::1"]) == "10.0.0.1, fe80::1"
    nics = [{"device": "vmnic0", "speed_mbps": 1000, "pci": None}, {"device": "vmnic1"}]
    assert format_value(nics) == "device=vmnic0 speed_mbps=1000; device=vmnic1"
    assert format_ratio(None) == "—"
    assert format_ratio(2.5) == "2.50 : 1"
    assert percent(None, 10) is None
    assert percent(1, 0) is None
    assert percent(1, 3) == 33
    assert percent(5, 4) == 100


def test_trend_chart_scales_lines_to_one_axis_and_tells_them_apart() -> None:
    assert trend_chart({}) is None
    assert trend_chart({"a": []}) is None
    chart = trend_chart({"a": [("d1", 0), ("d2", 10)], "b": [("d1", 5)]})
    assert chart is not None
    a, b = chart.series
    assert a.last_value == 10 and b.last_value == 5
    assert a.dash != b.dash
    (x0, y0), (x1, y1) = a.markers
    assert x0 < x1 and y0 == chart.baseline and y1 < y0
    assert len(b.markers) == 1
    assert [value for _, value in chart.y_ticks] == [0, 5, 10]


def test_after_login_only_local_paths() -> None:
    assert safe_next(None) == "/"
    assert safe_next("/vms?q=x") == "/vms?q=x"
    for outside in ("https://evil.example", "//evil.example", "/\\evil.example", "vms"):
        assert safe_next(outside) == "/"


def test_who_changed_it_reads_as_a_timeline_says_it() -> None:
    power = {"object_type": "vm", "fields": {"power_state": ["on", "off"]}, "actor": "alice"}
    assert changed_by(power) == "powered off by alice"
    assert changed_by({**power, "fields": {"power_state": ["off", "on"]}}) == "powered on by alice"
    suspended = {**power, "fields": {"power_state": ["on", "suspended"], "memory_mib": [1, 2]}}
    assert changed_by(suspended) == "suspended by alice"
    assert changed_by({**power, "fields": {"memory_mib": [1, 2]}}) == "by alice"
    assert changed_by({**power, "object_type": "host"}) == "by alice"
    assert changed_by({**power, "action": "added", "fields": None}) == "by alice"
    assert changed_by({**power, "actor": None}) == ""
