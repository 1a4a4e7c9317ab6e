"""Monitoring integrations run on their own interval through the embedded scheduler."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select, update

from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.integrations.models import Integration
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.monitoring.models import MetricValue
from iroa.sync.background import ProgressBroker
from iroa.sync.models import SyncRun
from iroa.sync.scheduler import Scheduler
from iroa.sync.service import SyncDeps
from tests.monitoring.estate import NAMED_VM, build_estate
from tests.monitoring.test_prometheus import BY_NAME, SERIES
from tests.peers.prometheus import PASSWORD, USERNAME, PrometheusPeer


def test_a_due_prometheus_integration_is_synced_by_the_scheduler(
    db: Database, box: SecretBox, vcsim: Any, prometheus: PrometheusPeer
) -> None:
    prometheus.set_series(SERIES)
    estate = build_estate(db, box, vcsim)
    data = IntegrationInput(
        "prometheus",
        "prom",
        prometheus.url,
        username=USERNAME,
        password=PASSWORD,
        interval_seconds=60,
        monitoring=BY_NAME,
    )
    integration_id = add_integration(db, box, data).id
    with db.write_session() as session:
        session.execute(
            update(Integration)
            .where(Integration.id == integration_id)
            .values(next_sync_at=utcnow())
        )
    scheduler = Scheduler(SyncDeps(db, box), ProgressBroker())

    started = scheduler.tick()

    assert len(started) == 1
    deadline = time.time() + 60
    while scheduler.running and time.time() < deadline:
        time.sleep(0.2)
    with db.session() as session:
        run = session.get_one(SyncRun, started[0])
        objects = (
            session.execute(
                select(MetricValue.object_id).where(MetricValue.object_type == "vm").distinct()
            )
            .scalars()
            .all()
        )
        next_sync_at = session.get_one(Integration, integration_id).next_sync_at
    assert (run.integration_id, run.trigger, run.status) == (
        integration_id,
        "schedule",
        "succeeded",
    )
    assert objects == [estate.vm_ids[NAMED_VM]]
    assert next_sync_at is not None and next_sync_at > utcnow()
