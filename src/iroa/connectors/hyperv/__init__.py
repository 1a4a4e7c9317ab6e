"""Microsoft Hyper-V connector (WinRM + PowerShell): client, shipped script, pure mapping."""

from iroa.connectors.hyperv.connector import HyperVConnector

__all__ = ["HyperVConnector"]
