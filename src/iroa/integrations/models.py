"""The integration table: one configured external system."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from iroa.db.base import Base, JSONType, UTCDateTime, utcnow
from iroa.db.types import IdType
from iroa.vocabulary import Platform


class Integration(Base):
    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    username: Mapped[str | None] = mapped_column(String(500))
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When a run last succeeded: every present object of this integration was seen then."""
    usage_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When a full sync last read its usage figures: every latest figure it left was read
    then, if not later (a row's own time is that of the run that last wrote it)."""
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the scheduler next syncs it; None until scheduled (or with no interval)."""
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Failed runs since the last successful one; sets the retry backoff."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def has_secret(self) -> bool:
        return self.secret_encrypted is not None

    @property
    def platform(self) -> str | None:
        """The platform of an inventory integration; None for a monitoring one."""
        return self.kind if self.kind in tuple(Platform) else None


class Watcher(Base):
    """Where the watcher of one integration stands, as it last said (see ``iroa watch``)."""

    __tablename__ = "watchers"

    integration_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    last_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When it last applied changes (or a baseline)."""
    last_delay_s: Mapped[float | None] = mapped_column(Float)
    """From the watch's report of the last changes to their commit, in seconds."""
    updates: Mapped[int] = mapped_column(Integer, default=0)
    """Objects its delta runs added, modified or removed since it started."""
    holder: Mapped[str] = mapped_column(String(300))
    """``host:pid`` of the process that runs it."""
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Renewed while it runs; a stale one means its process is gone."""
