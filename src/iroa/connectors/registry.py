"""Which connector reads which kind of integration; vendor SDKs load only when used."""

from __future__ import annotations

from iroa.connectors.base import ConnectionOptions, Connector

AVAILABLE_KINDS = ("vcenter", "hyperv")


class UnsupportedKindError(ValueError):
    """No connector exists for this kind of integration in this version."""


def create_connector(kind: str, options: ConnectionOptions) -> Connector:
    """A connector for one integration of ``kind``."""
    if kind == "vcenter":
        from iroa.connectors.vcenter.connector import VCenterConnector

        return VCenterConnector(options)
    if kind == "hyperv":
        from iroa.connectors.hyperv.connector import HyperVConnector

        return HyperVConnector(options)
    raise UnsupportedKindError(f"{kind} integrations are not supported by this version of IROA")
