"""The Hyper-V connector: runs one read-only PowerShell script over WinRM, maps its JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from iroa.connectors.base import ConnectionOptions, Progress, Snapshot, SourceInfo
from iroa.connectors.hyperv.client import run_inventory_script
from iroa.connectors.hyperv.envelope import parse_envelope
from iroa.connectors.hyperv.mapping import map_envelope


class HyperVConnector:
    """Connector for ``hyperv`` integrations: a standalone host or a whole failover cluster."""

    kind: ClassVar[str] = "hyperv"

    def __init__(self, options: ConnectionOptions) -> None:
        self._options = options

    def check(self) -> SourceInfo:
        """Run the inventory script once and report what answered, with its object counts.

        Logging in alone would not prove the account may read Hyper-V and the
        cluster; the script is read-only and a single round trip, so it is the test.
        """
        return self._read().source

    def collect(self, progress: Progress) -> Snapshot:
        """Read the whole host or cluster in one WinRM round trip."""
        progress.start("collect inventory", 1)
        snapshot = self._read()
        progress.advance(1)
        return snapshot

    def _read(self) -> Snapshot:
        output = run_inventory_script(self._options)
        return map_envelope(parse_envelope(output), datetime.now(UTC))
