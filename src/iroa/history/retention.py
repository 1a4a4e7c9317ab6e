"""Change retention: prune change rows past their age, and remember how far back history goes.

Pruning is what bounds the ``changes`` table; its price is that the inventory
as of a moment before the *horizon* (the oldest moment whose later changes are
all still kept) can no longer be rebuilt. Each pruning is recorded in
``change_prunes`` so readers can refuse such questions instead of answering
them wrongly.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.history.models import Change, ChangePrune

log = logging.getLogger(__name__)


def retention_cutoff(now: datetime, retention_days: int) -> datetime | None:
    """Changes older than this are pruned; None keeps them forever (``retention_days`` 0)."""
    if retention_days <= 0:
        return None
    return now - timedelta(days=retention_days)


def prune_changes(db: Database, retention_days: int, now: datetime | None = None) -> int:
    """Delete change rows older than ``retention_days``; return how many were deleted."""
    now = now or utcnow()
    cutoff = retention_cutoff(now, retention_days)
    if cutoff is None:
        return 0
    with db.write_session() as session:
        deleted: int = session.execute(  # type: ignore[attr-defined]
            delete(Change).where(Change.changed_at < cutoff)
        ).rowcount
        if deleted:
            session.execute(
                insert(ChangePrune).values(pruned_at=now, horizon=cutoff, deleted=deleted)
            )
    if deleted:
        log.info("pruned %d change rows older than %s", deleted, cutoff.isoformat())
    return deleted


def history_horizon(conn: Connection) -> datetime | None:
    """The earliest moment the inventory can be rebuilt for; None if no change was ever pruned."""
    horizon: datetime | None = conn.execute(select(func.max(ChangePrune.horizon))).scalar_one()
    return horizon
