"""Which connector reads which kind of integration; vendor SDKs load only when used."""

from __future__ import annotations

from iroa.connectors.base import ConnectionOptions, Connector, SourceInfo
from iroa.connectors.monitoring import MonitoringConnector

AVAILABLE_KINDS = ("vcenter", "hyperv", "prometheus", "zabbix")
MONITORING_KINDS = ("prometheus", "zabbix")


class UnsupportedKindError(ValueError):
    """No connector exists for this kind of integration in this version."""


def check_connection(kind: str, options: ConnectionOptions) -> SourceInfo:
    """Connect and log in to an integration of any kind; raise a ``ConnectorError`` if not."""
    if kind in MONITORING_KINDS:
        return create_monitoring_connector(kind, options).check()
    return create_connector(kind, options).check()


def create_connector(kind: str, options: ConnectionOptions) -> Connector:
    """A connector that reads the inventory of one integration of ``kind`` (vCenter, Hyper-V)."""
    if kind == "vcenter":
        from iroa.connectors.vcenter.connector import VCenterConnector

        return VCenterConnector(options)
    if kind == "hyperv":
        from iroa.connectors.hyperv.connector import HyperVConnector

        return HyperVConnector(options)
    if kind in MONITORING_KINDS:
        raise UnsupportedKindError(f"{kind} integrations read monitoring data, not an inventory")
    raise UnsupportedKindError(f"{kind} integrations are not supported by this version of IROA")


def create_monitoring_connector(kind: str, options: ConnectionOptions) -> MonitoringConnector:
    """A connector that reads a monitoring system (Prometheus, Zabbix)."""
    if kind == "prometheus":
        from iroa.connectors.prometheus.connector import PrometheusConnector

        return PrometheusConnector(options)
    if kind == "zabbix":
        from iroa.connectors.zabbix.connector import ZabbixConnector

        return ZabbixConnector(options)
    raise UnsupportedKindError(f"{kind} is not a monitoring kind")
