"""How values read on a page: sizes with units, ages, timestamps (Jinja filters, pure)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
DASH = "—"


def format_bytes(value: int | float | None) -> str:
    """1073741824 → ``1.0 GiB``."""
    if value is None:
        return DASH
    size = float(value)
    for unit in BYTE_UNITS:
        if abs(size) < 1024 or unit == BYTE_UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def format_mib(value: int | float | None) -> str:
    """Memory given in MiB, in the largest fitting unit."""
    return DASH if value is None else format_bytes(float(value) * 1024 * 1024)


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_time(value: str | datetime | None) -> str:
    """A timestamp in UTC to the minute: ``2026-01-05 09:00 UTC``."""
    moment = parse_time(value)
    return DASH if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_age(value: str | datetime | None, now: datetime | None = None) -> str:
    """How long ago: ``3 min ago``, ``2 h ago``, ``5 days ago``."""
    moment = parse_time(value)
    if moment is None:
        return "never"
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "days"), (3600, "h"), (60, "min")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {'day' if unit == 'days' and count == 1 else unit} ago"
    raise AssertionError("unreachable")


def format_value(value: Any) -> str:
    """Any field value as text: lists joined, booleans as yes/no, nothing as a dash; a fact
    (a host's NIC, switch …) as its known ``key=value`` pairs, facts separated by ``;``."""
    if value is None or value in ("", []):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        known = {k: v for k, v in value.items() if v is not None and v not in ("", [])}
        return " ".join(f"{k}={format_value(v)}" for k, v in known.items()) or DASH
    if isinstance(value, list):
        separator = "; " if any(isinstance(v, dict) for v in value) else ", "
        return separator.join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def format_mhz(value: int | float | None) -> str:
    """CPU in MHz, from 1,000 in GHz: ``850 MHz``, ``2.4 GHz``."""
    if value is None:
        return DASH
    return f"{value:.0f} MHz" if abs(value) < 1000 else f"{value / 1000:.1f} GHz"


_DURATION_UNITS = ((86400, "day"), (3600, "h"), (60, "min"), (1, "s"))


def format_duration(seconds: int | float | None) -> str:
    """A span in its largest unit and the next one: ``3 days 4 h``, ``5 h``, ``40 s``."""
    if seconds is None:
        return DASH
    left = max(0, int(seconds))
    for i, (size, unit) in enumerate(_DURATION_UNITS):
        if left >= size or size == 1:
            count, left = divmod(left, size)
            shown = f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}"
            if i + 1 < len(_DURATION_UNITS):
                next_size, next_unit = _DURATION_UNITS[i + 1]
                if left // next_size:
                    shown += f" {left // next_size} {next_unit}"
            return shown
    raise AssertionError("unreachable")


def format_ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f} : 1"


def percent(part: int | float | None, whole: int | float | None) -> int | None:
    """``part`` of ``whole`` in whole percent, or None if unknown."""
    if part is None or not whole:
        return None
    return max(0, min(100, round(100 * float(part) / float(whole))))


POWER_VERBS = {"off": "powered off", "on": "powered on", "suspended": "suspended"}
"""How a VM's power change to each state reads, after who did it is known."""


def power_verb(change: Mapping[str, Any]) -> str | None:
    """``powered off`` for a VM's change whose power state became off (on, suspended
    likewise); None for any other change."""
    fields = change.get("fields") or {}
    if change.get("object_type") != "vm" or "power_state" not in fields:
        return None
    return POWER_VERBS.get(fields["power_state"][1])


def changed_by(change: Mapping[str, Any]) -> str:
    """Who made a change, as a timeline says it: ``powered off by alice`` for a VM's power
    change, ``by alice`` for others, nothing when no event names anyone (never a guess)."""
    actor = change.get("actor")
    if not actor:
        return ""
    verb = power_verb(change)
    return f"{verb} by {actor}" if verb else f"by {actor}"


FILTERS: dict[str, Callable[..., Any]] = {
    "bytes": format_bytes,
    "mib": format_mib,
    "time": format_time,
    "age": format_age,
    "value": format_value,
    "ratio": format_ratio,
    "mhz": format_mhz,
    "duration": format_duration,
    "changed_by": changed_by,
}
