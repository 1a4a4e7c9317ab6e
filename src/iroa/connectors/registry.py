"""Which connector reads which kind of integration, and what it reads; vendor SDKs load only when
used.

This is the one place that tells kinds apart. Everything else asks it: which
connector to build, and whether a kind's sync reads an inventory or monitoring
data (:class:`Reads`), which decides how the sync engine applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from importlib import import_module
from typing import cast

from iroa.connectors.base import ConnectionOptions, Connector, SourceInfo, Watch
from iroa.connectors.monitoring import MonitoringConnector
from iroa.errors import InvalidInputError
from iroa.vocabulary import IntegrationKind

AnyConnector = Connector | MonitoringConnector


class Reads(StrEnum):
    """What a kind's connector reads, and so how its snapshot is applied."""

    INVENTORY = "inventory"
    """Objects of the common model (vCenter, Hyper-V): reconciled into the inventory."""
    MONITORING = "monitoring"
    """What a monitoring system knows (Prometheus, Zabbix): matched against the inventory."""


@dataclass(frozen=True, slots=True)
class KindEntry:
    """Everything IROA needs to know about one kind of integration."""

    kind: IntegrationKind
    reads: Reads
    connector: str
    """``module:Class`` of the connector, imported on first use."""
    watch: str | None = None
    """``module:Class`` of its :class:`~iroa.connectors.base.Watch`, if it has a change feed."""

    def create(self, options: ConnectionOptions) -> AnyConnector:
        module, name = self.connector.split(":")
        factory: Callable[[ConnectionOptions], AnyConnector] = getattr(import_module(module), name)
        return factory(options)

    def create_watch(self, options: ConnectionOptions) -> Watch:
        if self.watch is None:
            raise UnsupportedKindError(f"{self.kind} integrations have no change feed to watch")
        module, name = self.watch.split(":")
        factory: Callable[[ConnectionOptions], Watch] = getattr(import_module(module), name)
        return factory(options)


KINDS: dict[IntegrationKind, KindEntry] = {
    entry.kind: entry
    for entry in (
        KindEntry(
            IntegrationKind.VCENTER,
            Reads.INVENTORY,
            "iroa.connectors.vcenter.connector:VCenterConnector",
            watch="iroa.connectors.vcenter.watch:VCenterWatch",
        ),
        KindEntry(
            IntegrationKind.HYPERV,
            Reads.INVENTORY,
            "iroa.connectors.hyperv.connector:HyperVConnector",
        ),
        KindEntry(
            IntegrationKind.PROMETHEUS,
            Reads.MONITORING,
            "iroa.connectors.prometheus.connector:PrometheusConnector",
        ),
        KindEntry(
            IntegrationKind.ZABBIX,
            Reads.MONITORING,
            "iroa.connectors.zabbix.connector:ZabbixConnector",
        ),
    )
}
AVAILABLE_KINDS = tuple(KINDS)
MONITORING_KINDS = tuple(k for k, entry in KINDS.items() if entry.reads is Reads.MONITORING)
INVENTORY_KINDS = tuple(k for k, entry in KINDS.items() if entry.reads is Reads.INVENTORY)
WATCHABLE_KINDS = tuple(k for k, entry in KINDS.items() if entry.watch is not None)


class UnsupportedKindError(InvalidInputError):
    """No connector exists for this kind of integration in this version."""


def entry_of(kind: str) -> KindEntry:
    """The registry entry of ``kind``; :class:`UnsupportedKindError` if there is none."""
    try:
        return KINDS[IntegrationKind(kind)]
    except ValueError:
        raise UnsupportedKindError(
            f"{kind} integrations are not supported by this version of IROA"
        ) from None


def reads_of(kind: str) -> Reads:
    """Whether ``kind`` reads an inventory or monitoring data."""
    return entry_of(kind).reads


def create_any_connector(kind: str, options: ConnectionOptions) -> AnyConnector:
    """The connector that reads one integration of ``kind``, whatever it reads."""
    return entry_of(kind).create(options)


def check_connection(kind: str, options: ConnectionOptions) -> SourceInfo:
    """Connect and log in to an integration of any kind; raise a ``ConnectorError`` if not."""
    return create_any_connector(kind, options).check()


def create_watch(kind: str, options: ConnectionOptions) -> Watch:
    """The watch of one integration of ``kind``; :class:`UnsupportedKindError` if its kind
    has no change feed."""
    return entry_of(kind).create_watch(options)


def can_watch(kind: str) -> bool:
    """Whether integrations of ``kind`` can be watched."""
    return entry_of(kind).watch is not None


def create_connector(kind: str, options: ConnectionOptions) -> Connector:
    """A connector that reads the inventory of one integration of ``kind`` (vCenter, Hyper-V)."""
    entry = entry_of(kind)
    if entry.reads is not Reads.INVENTORY:
        raise UnsupportedKindError(f"{kind} integrations read monitoring data, not an inventory")
    return cast(Connector, entry.create(options))


def create_monitoring_connector(kind: str, options: ConnectionOptions) -> MonitoringConnector:
    """A connector that reads a monitoring system (Prometheus, Zabbix)."""
    entry = entry_of(kind)
    if entry.reads is not Reads.MONITORING:
        raise UnsupportedKindError(f"{kind} is not a monitoring kind")
    return cast(MonitoringConnector, entry.create(options))
