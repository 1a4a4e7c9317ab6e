"""What monitoring connectors (Prometheus, Zabbix) produce: plain records of one read.

They read only what the monitoring system itself knows; matching those records
to inventory objects is the monitoring store's job (:mod:`iroa.monitoring`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Protocol

from iroa.connectors.base import Progress, SourceInfo

METRICS = ("cpu_pct", "memory_pct", "disk_bytes_per_s", "net_bytes_per_s")
"""The utilization figures IROA keeps per object; a query may be left out for any of them."""
JOINS = ("name", "hostname", "ip", "uuid")
"""What a Prometheus join label holds: name, guest hostname, IP (port stripped), BIOS uuid."""
ZABBIX_MATCHES = ("host", "name", "dns", "ip")
"""Zabbix host fields, tried in the configured order: technical name, visible name, DNS, IP."""


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """One metric of one monitored thing, as its join label names it."""

    join_value: str
    metric: str
    value: float | None
    sampled_at: datetime | None
    history: tuple[tuple[datetime, float], ...] = ()


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    source: SourceInfo
    join: str
    series: Sequence[MetricSeries] = ()


@dataclass(frozen=True, slots=True)
class ZabbixProblem:
    event_id: str
    name: str
    severity: int
    """0 not classified, 1 information, 2 warning, 3 average, 4 high, 5 disaster."""
    started_at: datetime
    acknowledged: bool = False


@dataclass(frozen=True, slots=True)
class ZabbixHost:
    host_id: str
    host: str
    """The technical name."""
    name: str
    """The visible name."""
    enabled: bool
    availability: str
    """``available``, ``unavailable`` or ``unknown``, over the host's interfaces."""
    url: str
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    problems: tuple[ZabbixProblem, ...] = ()


@dataclass(frozen=True, slots=True)
class ZabbixSnapshot:
    source: SourceInfo
    hosts: Sequence[ZabbixHost] = ()


MonitoringSnapshot = MetricsSnapshot | ZabbixSnapshot


class MonitoringConnector(Protocol):
    """Reads one monitoring system; never writes anything anywhere."""

    kind: ClassVar[str]

    def check(self) -> SourceInfo:
        """Connect and log in; raise a ``ConnectorError`` if that fails."""
        ...

    def collect(self, progress: Progress) -> MonitoringSnapshot:
        """Read what the system knows about the things it monitors, in one pass."""
        ...


def strip_port(address: str) -> str:
    """``10.0.0.1:9100`` → ``10.0.0.1``, ``[fe80::1]:9100`` → ``fe80::1``, ``h:80`` → ``h``."""
    address = address.strip()
    if address.startswith("["):
        end = address.find("]")
        return address[1:end] if end > 0 else address
    if address.count(":") == 1:
        return address.split(":", 1)[0]
    return address
