"""Sync runs: one row per run of an integration, with its status, totals and counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from iroa.db.base import Base, JSONType, UTCDateTime
from iroa.db.types import IdType


class SyncRun(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (
        Index("ix_sync_runs_integration_id_started_at", "integration_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pid: Mapped[int | None] = mapped_column(Integer)
    hostname: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    totals: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    counts: Mapped[dict[str, dict[str, int]]] = mapped_column(JSONType, default=dict)
    added: Mapped[int] = mapped_column(Integer, default=0)
    modified: Mapped[int] = mapped_column(Integer, default=0)
    removed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[dict[str, str]] | None] = mapped_column(JSONType)
    """Objects skipped because they could not be read: ``[{type, id, reason}]``."""

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
