"""The vCenter connector: reads one vCenter (or ESXi host) through pyVmomi, never writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

from iroa.connectors.base import (
    ConnectionOptions,
    EventCursor,
    EventRecord,
    Progress,
    SourceInfo,
)
from iroa.connectors.spool import SpooledSnapshot
from iroa.connectors.vcenter.client import build_ssl_context, open_session
from iroa.connectors.vcenter.collector import (
    DEFAULT_BATCH_SIZE,
    collect_inventory,
    count_objects,
    source_info,
)
from iroa.connectors.vcenter.events import read_events
from iroa.connectors.vcenter.tagging import open_tagging


class VCenterConnector:
    """Connector for ``vcenter`` integrations."""

    kind: ClassVar[str] = "vcenter"

    def __init__(self, options: ConnectionOptions, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._options = options
        self._batch_size = batch_size

    def check(self) -> SourceInfo:
        """Log in, report the product and its object counts, log out."""
        with open_session(self._options) as session:
            return source_info(session, count_objects(session))

    def collect(self, progress: Progress) -> SpooledSnapshot:
        """Read the whole inventory in one session."""
        progress.start("connect", 1)
        with open_session(self._options) as session:
            progress.advance(1)
            verify = build_ssl_context(self._options)
            with open_tagging(self._options, session.endpoint, verify) as tagging:
                return collect_inventory(
                    session,
                    progress,
                    self._batch_size,
                    tagging,
                    search_disks=self._options.search_datastores,
                )

    def read_events(self, after: EventCursor | None) -> Sequence[EventRecord]:
        """The events logged after ``after``, in a session of their own (see
        :func:`~iroa.connectors.vcenter.events.read_events`)."""
        with open_session(self._options) as session:
            return read_events(session.content, after, datetime.now(UTC), decoder=session.decoder)
