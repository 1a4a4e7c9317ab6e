"""Record and read the audit log. Entries are written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from iroa.audit.models import AuditEntry
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.redaction import MASK

SECRET_KEYS = ("password", "secret", "token", "api_key", "private_key")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user (id and name), or a local command-line operator."""

    id: int | None
    name: str


CLI_ACTOR = Actor(None, "cli")


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(part in lowered for part in SECRET_KEYS) and lowered not in ("has_secret",)


def mask_secrets(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of ``values`` whose secret-looking keys say only whether a value was set."""
    if values is None:
        return None
    masked: dict[str, Any] = {}
    for key, value in values.items():
        if is_secret_key(key):
            masked[key] = MASK if value not in (None, "") else None
        elif isinstance(value, Mapping):
            masked[key] = mask_secrets(value)
        else:
            masked[key] = value
    return masked


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | None,
    target_name: str | None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Add one audit entry to ``session``; it commits with the change it describes."""
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor_id=actor.id,
            actor=actor.name,
            action=action,
            target_type=target_type,
            target_id=target_id,
            target_name=target_name,
            before=mask_secrets(before),
            after=mask_secrets(after),
        )
    )


def record_sync_start(
    db: Database,
    actor: Actor,
    integration_id: int,
    integration_name: str,
    run_id: int,
    force: bool,
) -> None:
    """Note that ``actor`` started (or forced) a sync run."""
    with db.write_session() as session:
        record(
            session,
            actor,
            "sync.force" if force else "sync.start",
            "integration",
            integration_id,
            integration_name,
            after={"run_id": run_id, "force": force},
        )


def list_entries(
    db: Database,
    *,
    limit: int = 100,
    before_id: int | None = None,
    action: str | None = None,
    target_type: str | None = None,
) -> list[dict[str, Any]]:
    """The newest entries first; page with ``before_id`` (the last id of the previous page)."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    if action is not None:
        stmt = stmt.where(AuditEntry.action == action)
    if target_type is not None:
        stmt = stmt.where(AuditEntry.target_type == target_type)
    with db.session() as session:
        return [entry_as_dict(e) for e in session.scalars(stmt)]


def entry_as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "target_name": entry.target_name,
        "before": entry.before,
        "after": entry.after,
    }
