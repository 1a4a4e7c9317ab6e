"""Tables written by monitoring syncs; each run replaces its integration's rows.

``object_type`` is ``vm`` or ``host`` and ``object_id`` the id in ``vms`` or
``hosts`` (no foreign key: one column pair serves both tables). See
docs/monitoring.md for how other parts (health findings) read them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from iroa.db.base import Base, JSONType, UTCDateTime
from iroa.db.types import IdType


class MetricValue(Base):
    """The latest value of one utilization metric of one VM or host, with a short history."""

    __tablename__ = "monitoring_metrics"
    __table_args__ = (
        UniqueConstraint("integration_id", "object_type", "object_id", "metric"),
        Index("ix_monitoring_metrics_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    sync_run_id: Mapped[int] = mapped_column(IdType, ForeignKey("sync_runs.id", ondelete="CASCADE"))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int] = mapped_column(IdType)
    metric: Mapped[str] = mapped_column(String(32))
    """``cpu_pct``, ``memory_pct`` (0-100), ``disk_bytes_per_s``, ``net_bytes_per_s``."""
    value: Mapped[float | None] = mapped_column(Float)
    sampled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    history: Mapped[list[list[Any]]] = mapped_column(JSONType, default=list)
    """``[[iso timestamp, value], ...]``, oldest first, bounded by the integration's settings."""
    series_key: Mapped[str] = mapped_column(String(500))
    """The join label's value that matched (port stripped for ``ip``/``hostname`` joins)."""
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ZabbixHostRow(Base):
    """One host Zabbix knows, as of the integration's last successful run."""

    __tablename__ = "monitoring_zabbix_hosts"
    __table_args__ = (UniqueConstraint("integration_id", "zabbix_host_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    sync_run_id: Mapped[int] = mapped_column(IdType, ForeignKey("sync_runs.id", ondelete="CASCADE"))
    zabbix_host_id: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean)
    """Zabbix host status 0 (monitored); a disabled host does not count as monitoring."""
    availability: Mapped[str] = mapped_column(String(16))
    """``available``, ``unavailable`` or ``unknown`` over its interfaces."""
    dns: Mapped[list[str]] = mapped_column(JSONType, default=list)
    ips: Mapped[list[str]] = mapped_column(JSONType, default=list)
    url: Mapped[str] = mapped_column(Text)
    matched: Mapped[bool] = mapped_column(Boolean)
    """Whether any inventory VM or host matched it (false: Zabbix knows it, inventory does not)."""
    problem_count: Mapped[int] = mapped_column(Integer, default=0)
    max_severity: Mapped[int | None] = mapped_column(Integer)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ZabbixLink(Base):
    """A VM or host matched to a Zabbix host: that object is monitored by this integration."""

    __tablename__ = "monitoring_zabbix_links"
    __table_args__ = (
        UniqueConstraint("zabbix_host_row_id", "object_type", "object_id"),
        Index("ix_monitoring_zabbix_links_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    zabbix_host_row_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("monitoring_zabbix_hosts.id", ondelete="CASCADE")
    )
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int] = mapped_column(IdType)
    matched_by: Mapped[str] = mapped_column(String(16))
    """Which Zabbix field matched: ``host``, ``name``, ``dns`` or ``ip``."""


class ZabbixProblemRow(Base):
    """An active (unresolved) problem of a Zabbix host."""

    __tablename__ = "monitoring_zabbix_problems"
    __table_args__ = (Index("ix_monitoring_zabbix_problems_host", "zabbix_host_row_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    zabbix_host_row_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("monitoring_zabbix_hosts.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    severity: Mapped[int] = mapped_column(Integer)
    """0 not classified, 1 information, 2 warning, 3 average, 4 high, 5 disaster."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
