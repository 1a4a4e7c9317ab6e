"""The inventory script's output: one JSON envelope, and readers for its ConvertTo-Json renderings.

The envelope (a contract, see docs/hyperv.md) is an object whose keys are cmdlet names
and whose values are arrays of that cmdlet's objects. Windows PowerShell 5.1
and PowerShell 7 render some types differently, so every reader here accepts
each form: dates as ``/Date(ms)/`` or ISO-8601, TimeSpans as objects or
``d.hh:mm:ss`` text, enums as integers or names. Readers never raise on data:
anything of an unexpected shape becomes None.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from iroa.connectors.base import UnexpectedResponseError
from iroa.text import storable

Item = Mapping[str, Any]
Envelope = dict[str, list[Any]]

REQUIRED_KEYS = ("Get-VMHost", "Get-VM")
KNOWN_KEYS = (
    "Get-Date",
    "Get-VMHost",
    "Get-VM",
    "Get-VMHardDiskDrive",
    "Get-VHD",
    "Get-VMDvdDrive",
    "Get-VMNetworkAdapter",
    "Msvm_KvpExchangeComponent",
    "Get-VMSwitch",
    "Get-VMSnapshot",
    "Get-Volume",
    "Win32_ComputerSystem",
    "Win32_OperatingSystem",
    "Win32_Processor",
    "Get-Cluster",
    "Get-ClusterNode",
    "Get-ClusterSharedVolume",
)
_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_TIMESPAN_TEXT = re.compile(r"^(-)?(?:(\d+)\.)?(\d+):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")
_TICKS_PER_SECOND = 10_000_000
_PREVIEW_CHARS = 60
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|d[89a-f][0-9a-f]{2})", re.IGNORECASE)
"""How JSON writes a NUL or a surrogate: text no database stores may follow."""
MIB = 1024 * 1024


def parse_envelope(output: bytes) -> Envelope:
    """Decode the script's standard output; raise :class:`UnexpectedResponseError` if not one."""
    try:
        text = output.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnexpectedResponseError(
            "the inventory script printed something that is not UTF-8 text"
        ) from None
    text = text.strip().lstrip("\ufeff").strip()
    try:
        document = json.loads(text)
    except ValueError:
        raise UnexpectedResponseError(
            f"the inventory script printed something that is not JSON ({_preview(text)})"
        ) from None
    if _UNSTORABLE_ESCAPE.search(text):
        # A VM's notes may hold a NUL, which PostgreSQL refuses in text: every string is
        # made storable here, once, rather than field by field in the mapping.
        document = _storable_document(document)
    if not isinstance(document, dict) or not all(key in document for key in REQUIRED_KEYS):
        raise UnexpectedResponseError(
            "the inventory script printed JSON that is not its envelope "
            f"(expected an object with {' and '.join(REQUIRED_KEYS)})"
        )
    envelope: Envelope = {}
    for key, value in document.items():
        # Windows PowerShell 5.1 does not wrap a single object in an array.
        envelope[str(key)] = value if isinstance(value, list) else [] if value is None else [value]
    return envelope


def _storable_document(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, list):
        return [_storable_document(v) for v in value]
    if isinstance(value, dict):
        return {storable(str(k)): _storable_document(v) for k, v in value.items()}
    return value


def _preview(text: str) -> str:
    if not text:
        return "no output"
    line = " ".join(text.split())
    return repr(line[:_PREVIEW_CHARS] + ("…" if len(line) > _PREVIEW_CHARS else ""))


def items(envelope: Envelope, key: str) -> list[Item]:
    """The objects one cmdlet emitted (none if the key is absent)."""
    return [item for item in envelope.get(key, []) if isinstance(item, Mapping)]


def first_value(envelope: Envelope, key: str) -> object:
    """The first value one cmdlet emitted, whatever its type, or None."""
    values = envelope.get(key, [])
    return values[0] if values else None


def as_str(value: object) -> str | None:
    """A non-blank string, stripped, else None."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def as_int(value: object) -> int | None:
    """An integer (not bool), or a float with no fraction, or a decimal string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    return None


def bytes_to_mib(value: object) -> int | None:
    """Whole MiB of a byte count, else None."""
    count = as_int(value)
    return None if count is None else count // MIB


def as_bool(value: object) -> bool | None:
    """A bool (or the text ``True``/``False``), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_guid(value: object) -> str | None:
    """A GUID as lowercase text without braces, else None."""
    text = as_str(value)
    if text is None:
        return None
    text = text.strip("{}").lower()
    return text or None


def enum_code(value: object, names: Mapping[int, str]) -> int | None:
    """An enum rendered as its integer or as its name (``-EnumsAsStrings``), as the integer."""
    code = as_int(value)
    if code is not None:
        return code
    text = as_str(value)
    if text is None:
        return None
    lowered = text.lower()
    return next((number for number, name in names.items() if name.lower() == lowered), None)


def as_datetime(value: object) -> datetime | None:
    """A date as ``/Date(ms)/`` (5.1), ISO-8601 (7.x) or Get-Date's object, in UTC."""
    if isinstance(value, Mapping):
        value = value.get("value", value.get("DateTime"))
    text = as_str(value)
    if text is None:
        return None
    match = _MS_DATE.match(text.replace("\\/", "/"))
    try:
        if match:
            # The milliseconds count from the Unix epoch in UTC; an offset suffix is display only.
            parsed = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match[1]))
        else:
            parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        # PowerShell 7 renders an unspecified-kind DateTime without offset; take it as UTC.
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    # DateTime.MinValue (year 1) means "not set".
    return None if parsed.year < 1900 else parsed


def as_timespan(value: object) -> timedelta | None:
    """A TimeSpan rendered as an object (``Ticks``/``TotalSeconds``), as text, or as seconds."""
    if isinstance(value, Mapping):
        ticks = as_int(value.get("Ticks"))
        if ticks is not None:
            return timedelta(microseconds=ticks // 10)
        seconds = value.get("TotalSeconds")
        if isinstance(seconds, int | float) and not isinstance(seconds, bool):
            return timedelta(seconds=seconds)
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    text = as_str(value)
    match = _TIMESPAN_TEXT.match(text) if text else None
    if match is None:
        return None
    sign, days, hours, minutes, seconds, fraction = match.groups()
    ticks = (
        ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60 + int(seconds)
    ) * _TICKS_PER_SECOND + int((fraction or "0").ljust(7, "0"))
    span = timedelta(microseconds=ticks // 10)
    return -span if sign else span


def as_version(value: object) -> str | None:
    """A System.Version rendered as an object or as text, as ``major.minor[.build[.rev]]``."""
    if isinstance(value, Mapping):
        parts = [as_int(value.get(key)) for key in ("Major", "Minor", "Build", "Revision")]
        numbers = [part for part in parts if part is not None and part >= 0]
        return ".".join(str(number) for number in numbers) or None
    text = as_str(value)
    return None if text in (None, "0.0", "0.0.0.0") else text


def as_list(value: object) -> list[object]:
    """A value ``ConvertTo-Json`` rendered as one item or as an array, as a list."""
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def code_or(code: int | None) -> int:
    """An enum code, or -1 where there is none (the key of "unknown" in the name tables)."""
    return -1 if code is None else code
