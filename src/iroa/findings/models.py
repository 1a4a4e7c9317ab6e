"""The findings table: one row per episode of a rule holding for one object.

A finding is open while ``resolved_at`` is null. When its condition ends it is
resolved and stays as history; if the condition returns, a new row opens. At
most one open finding exists per (integration, rule, object).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from iroa.db.base import Base, UTCDateTime
from iroa.db.types import IdType

SEVERITIES = ("critical", "warning", "info")
SEVERITY_LEVELS = {"critical": 3, "warning": 2, "info": 1}
"""``severity_level`` orders severities: the most severe is the highest."""
OBJECT_TYPES = ("vm", "host", "cluster", "datastore")


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (
        Index(
            "uq_findings_open",
            "integration_id",
            "rule",
            "object_type",
            "object_id",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_findings_integration_id", "integration_id"),
        Index("ix_findings_object", "object_type", "object_id", "resolved_at"),
        Index("ix_findings_resolved_at_severity_level_id", "resolved_at", "severity_level", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    severity_level: Mapped[int] = mapped_column(Integer)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(IdType)
    object_external_id: Mapped[str] = mapped_column(String(500))
    object_name: Mapped[str | None] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
