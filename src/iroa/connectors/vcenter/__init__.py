"""VMware vCenter connector (pyVmomi): client, PropertyCollector retrieval, pure mapping."""

from iroa.connectors.vcenter.connector import VCenterConnector

__all__ = ["VCenterConnector"]
