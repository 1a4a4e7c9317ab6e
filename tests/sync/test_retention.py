"""Change retention: a successful sync prunes change rows past their age and records the horizon."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.history.models import Change, ChangePrune
from iroa.history.retention import history_horizon, prune_changes, retention_cutoff
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from iroa.sync.policy import SyncPolicy
from tests.inventory.history_estate import SEQUENCE, StaticConnector


def change_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Change)).scalar_one())


def test_cutoff() -> None:
    now = utcnow()
    assert retention_cutoff(now, 0) is None
    assert retention_cutoff(now, 400) == now - timedelta(days=400)


def test_a_sync_prunes_old_changes_and_records_the_horizon(db: Database, box: SecretBox) -> None:
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    assert run_sync(db, integration_id, StaticConnector(SEQUENCE[0])).succeeded
    first = change_count(db)
    with db.write_session() as session:
        session.execute(update(Change).values(changed_at=utcnow() - timedelta(days=30)))
    assert run_sync(
        db, integration_id, StaticConnector(SEQUENCE[1]), policy=SyncPolicy(change_retention_days=0)
    ).succeeded
    second = change_count(db)
    assert second > first  # kept forever with 0
    with db.engine.connect() as conn:
        assert history_horizon(conn) is None
    before = utcnow()
    result = run_sync(
        db,
        integration_id,
        StaticConnector(SEQUENCE[2]),
        policy=SyncPolicy(change_retention_days=10),
    )
    assert result.succeeded
    assert change_count(db) == second - first + sum(
        c["added"] + c["modified"] + c["removed"] for c in result.counts.values()
    )
    with db.engine.connect() as conn:
        horizon = history_horizon(conn)
        prunes = conn.execute(select(ChangePrune.deleted)).scalars().all()
    assert prunes == [first]
    assert horizon is not None
    assert before - timedelta(days=10) <= horizon <= utcnow() - timedelta(days=10)
    assert prune_changes(db, 10) == 0  # nothing more to prune, nothing recorded
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ChangePrune)).scalar_one() == 1
