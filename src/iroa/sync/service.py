"""The one way to sync a stored integration, whoever asks: the CLI, the API and dashboard, the
scheduler, a queue worker.

:func:`sync_integration` builds the integration's connector (the registry says
which), runs it through the engine, and — after an inventory run that
succeeded — refreshes every enabled monitoring integration, whose data is
matched against the inventory that run changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from iroa.connectors.base import ConnectionOptions, Progress
from iroa.connectors.registry import (
    MONITORING_KINDS,
    AnyConnector,
    Reads,
    create_any_connector,
    reads_of,
)
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.errors import InvalidInputError
from iroa.integrations.models import Integration
from iroa.integrations.service import connection_options, get_integration_by_id
from iroa.sync.engine import run_sync
from iroa.sync.policy import SyncPolicy
from iroa.sync.runs import SyncAlreadyRunningError, SyncResult
from iroa.vocabulary import Trigger

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[str, ConnectionOptions], AnyConnector]


class SyncNotStartedError(InvalidInputError):
    """The integration cannot be synced as configured (say, a kind this version cannot read)."""


@dataclass(frozen=True)
class SyncDeps:
    """What a sync needs from its process: the database, the key to stored secrets, the policy."""

    db: Database
    box: SecretBox
    policy: SyncPolicy = field(default_factory=SyncPolicy)
    connectors: ConnectorFactory | None = None
    """Builds the connector of a kind; the registry's unless a test hands in its own."""
    lean_decoding: bool = True
    """Read vCenter with IROA's lean decoder (``IROA_VCENTER_DECODER``)."""
    search_datastores: bool = True
    """Search vCenter's datastores for orphaned disks (``IROA_VCENTER_SEARCH_DATASTORES``)."""

    def options_for(self, integration: Integration) -> ConnectionOptions:
        """How this process's connectors reach ``integration``, its secret decrypted."""
        return connection_options(
            integration,
            self.box,
            lean_decoding=self.lean_decoding,
            search_datastores=self.search_datastores,
        )


def sync_integration(
    deps: SyncDeps,
    integration_id: int,
    *,
    trigger: Trigger,
    force: bool = False,
    progress: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[SyncResult], None] | None = None,
    run_id: int | None = None,
) -> SyncResult:
    """Sync one stored integration now, then run what follows it; return its result.

    Raises :class:`SyncNotStartedError` if no connector can be built for it (no
    run is recorded then) and :class:`SyncAlreadyRunningError` if it is being
    synced. ``on_start`` gets the run's id once recorded; ``on_result`` gets the
    result as soon as the run is recorded finished, before what follows it.
    """
    integration = get_integration_by_id(deps.db, integration_id)
    try:
        create = deps.connectors or create_any_connector
        options = deps.options_for(integration)
        connector = create(integration.kind, options)
    except Exception as exc:
        raise SyncNotStartedError(f"{integration.name!r} cannot be synced: {exc}") from exc
    result = run_sync(
        deps.db,
        integration.id,
        connector,
        policy=deps.policy,
        trigger=trigger,
        force=force,
        progress=progress,
        on_start=on_start,
        run_id=run_id,
    )
    if on_result is not None:
        on_result(result)
    if result.succeeded and reads_of(integration.kind) is Reads.INVENTORY:
        sync_all_monitoring(deps, trigger=trigger)
    return result


def sync_all_monitoring(deps: SyncDeps, *, trigger: Trigger = Trigger.SCHEDULE) -> list[SyncResult]:
    """Run every enabled monitoring integration once, in turn.

    One already running elsewhere is skipped; a failure is recorded on its run.
    """
    with deps.db.session() as session:
        ids = list(
            session.scalars(
                select(Integration.id).where(
                    Integration.kind.in_(MONITORING_KINDS), Integration.enabled
                )
            )
        )
    results: list[SyncResult] = []
    for integration_id in ids:
        try:
            results.append(sync_integration(deps, integration_id, trigger=trigger))
        except SyncAlreadyRunningError:
            log.info(
                "monitoring sync of integration %s is already running; skipped", integration_id
            )
        except Exception:
            log.exception("monitoring sync of integration %s failed", integration_id)
    return results
