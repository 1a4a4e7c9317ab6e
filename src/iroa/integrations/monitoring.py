"""Settings of monitoring integrations: Prometheus queries and join, Zabbix match order.

Stored in the integration's ``options`` (``options["monitoring"]``) as given;
:func:`resolve_settings` expands a preset into the queries a connector runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from iroa.connectors.monitoring import JOINS, METRICS, ZABBIX_MATCHES
from iroa.errors import InvalidInputError, check_choice

PRESETS: dict[str, dict[str, Any]] = {
    "node_exporter": {
        "label": "instance",
        "join": "ip",
        "queries": {
            "cpu_pct": "100 * (1 - avg by (instance)"
            ' (rate(node_cpu_seconds_total{mode="idle"}[5m])))',
            "memory_pct": "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)",
            "disk_bytes_per_s": "sum by (instance) (rate(node_disk_read_bytes_total[5m])"
            " + rate(node_disk_written_bytes_total[5m]))",
            "net_bytes_per_s": "sum by (instance)"
            ' (rate(node_network_receive_bytes_total{device!="lo"}[5m])'
            ' + rate(node_network_transmit_bytes_total{device!="lo"}[5m]))',
        },
    },
    "windows_exporter": {
        "label": "instance",
        "join": "ip",
        "queries": {
            "cpu_pct": "100 * (1 - avg by (instance)"
            ' (rate(windows_cpu_time_total{mode="idle"}[5m])))',
            "memory_pct": "100 * (1 - windows_os_physical_memory_free_bytes"
            " / on (instance) windows_cs_physical_memory_bytes)",
            "disk_bytes_per_s": "sum by (instance) (rate(windows_logical_disk_read_bytes_total[5m])"
            " + rate(windows_logical_disk_write_bytes_total[5m]))",
            "net_bytes_per_s": "sum by (instance) (rate(windows_net_bytes_total[5m]))",
        },
    },
    "vmware_exporter": {
        "label": "vm_name",
        "join": "name",
        "queries": {
            "cpu_pct": "max by (vm_name) (vmware_vm_cpu_usage_average) / 100",
            "memory_pct": "max by (vm_name) (vmware_vm_mem_usage_average) / 100",
            "disk_bytes_per_s": "sum by (vm_name) (vmware_vm_disk_read_average"
            " + vmware_vm_disk_write_average) * 1024",
            "net_bytes_per_s": "sum by (vm_name) (vmware_vm_net_received_average"
            " + vmware_vm_net_transmitted_average) * 1024",
        },
    },
}
DEFAULT_PRESET = "node_exporter"
DEFAULT_HISTORY_HOURS = 24
DEFAULT_HISTORY_STEP_S = 3600
MAX_HISTORY_POINTS = 200
DEFAULT_ZABBIX_MATCH = ("host", "name", "dns", "ip")
PROMETHEUS_KEYS = ("preset", "label", "join", "queries", "history_hours", "history_step_s")
ZABBIX_KEYS = ("match",)


class MonitoringSettingsError(InvalidInputError):
    """Monitoring settings that cannot be used, in one readable line."""


def validate_settings(kind: str, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check a monitoring integration's settings; return them cleaned (only what was given)."""
    given = dict(given or {})
    given = {k: v for k, v in given.items() if v is not None}
    if kind == "prometheus":
        return _validate_prometheus(given)
    if kind == "zabbix":
        return _validate_zabbix(given)
    if given:
        raise MonitoringSettingsError(f"{kind} integrations take no monitoring settings")
    return {}


def _unknown(given: Mapping[str, Any], allowed: tuple[str, ...], kind: str) -> None:
    extra = sorted(set(given) - set(allowed))
    if extra:
        raise MonitoringSettingsError(
            f"{kind} integrations do not take {', '.join(extra)} (allowed: {', '.join(allowed)})"
        )


def _validate_prometheus(given: dict[str, Any]) -> dict[str, Any]:
    _unknown(given, PROMETHEUS_KEYS, "prometheus")
    clean: dict[str, Any] = {}
    if "preset" in given:
        check_choice("preset", given["preset"], PRESETS, MonitoringSettingsError)
        clean["preset"] = given["preset"]
    if "label" in given:
        label = str(given["label"]).strip()
        if (
            not label
            or not (label[0].isalpha() or label[0] == "_")
            or not all(c.isalnum() or c == "_" for c in label)
        ):
            raise MonitoringSettingsError(f"invalid Prometheus label name {label!r}")
        clean["label"] = label
    if "join" in given:
        check_choice("join", given["join"], JOINS, MonitoringSettingsError)
        clean["join"] = given["join"]
    if "queries" in given:
        queries = given["queries"]
        if not isinstance(queries, Mapping):
            raise MonitoringSettingsError("queries must map a metric to a PromQL expression")
        for metric, expr in queries.items():
            if metric not in METRICS:
                raise MonitoringSettingsError(
                    f"unknown metric {metric!r}: choose from {', '.join(METRICS)}"
                )
            if not isinstance(expr, str) or not expr.strip() or len(expr) > 4000:
                raise MonitoringSettingsError(f"the query for {metric} must be 1-4000 characters")
        clean["queries"] = {m: str(e).strip() for m, e in queries.items()}
    for key, low, high in (("history_hours", 0, 24 * 14), ("history_step_s", 60, 24 * 3600)):
        if key in given:
            value = given[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise MonitoringSettingsError(f"{key} must be a whole number {low}-{high}")
            clean[key] = value
    resolved = resolve_settings("prometheus", clean)
    points = resolved["history_hours"] * 3600 // resolved["history_step_s"] + 1
    if resolved["history_hours"] and points > MAX_HISTORY_POINTS:
        raise MonitoringSettingsError(
            f"the history would keep {points} points per metric; at most "
            f"{MAX_HISTORY_POINTS}: use fewer hours or a longer step"
        )
    if not resolved["queries"]:
        raise MonitoringSettingsError("at least one query is needed")
    return clean


def _validate_zabbix(given: dict[str, Any]) -> dict[str, Any]:
    _unknown(given, ZABBIX_KEYS, "zabbix")
    if "match" not in given:
        return {}
    match = given["match"]
    if isinstance(match, str):
        match = [m.strip() for m in match.split(",")]
    if not isinstance(match, list | tuple) or not match:
        raise MonitoringSettingsError("match must list one or more of " + ", ".join(ZABBIX_MATCHES))
    for item in match:
        if item not in ZABBIX_MATCHES:
            raise MonitoringSettingsError(
                f"unknown match field {item!r}: choose from {', '.join(ZABBIX_MATCHES)}"
            )
    if len(set(match)) != len(match):
        raise MonitoringSettingsError("match lists a field twice")
    return {"match": list(match)}


def resolve_settings(kind: str, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The settings a connector runs with: preset expanded, defaults filled in."""
    stored = dict(stored or {})
    if kind == "prometheus":
        # Queries alone replace the default preset's; with a preset named, they override it.
        preset_name = stored.get("preset") or (None if "queries" in stored else DEFAULT_PRESET)
        preset = PRESETS[preset_name or DEFAULT_PRESET]
        queries = dict(preset["queries"]) if preset_name else {}
        queries.update(stored.get("queries", {}))
        return {
            "preset": preset_name,
            "label": stored.get("label", preset["label"]),
            "join": stored.get("join", preset["join"]),
            "queries": queries,
            "history_hours": stored.get("history_hours", DEFAULT_HISTORY_HOURS),
            "history_step_s": stored.get("history_step_s", DEFAULT_HISTORY_STEP_S),
        }
    if kind == "zabbix":
        return {"match": list(stored.get("match", DEFAULT_ZABBIX_MATCH))}
    return {}
