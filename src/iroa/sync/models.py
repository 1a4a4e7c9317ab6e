"""Sync history: runs, the changes each run made, and the KPIs after each run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from iroa.db.base import Base, JSONType, UTCDateTime
from iroa.db.types import IdType

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "held", "interrupted")
TRIGGERS = ("manual", "schedule", "api")
ACTIONS = ("added", "modified", "removed")


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


class Change(Base):
    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_object_type_object_id", "object_type", "object_id"),
        Index("ix_changes_integration_id_changed_at", "integration_id", "changed_at"),
        Index("ix_changes_changed_at_id", "changed_at", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    sync_run_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("sync_runs.id", ondelete="CASCADE"), index=True
    )
    integration_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("integrations.id", ondelete="CASCADE")
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(IdType)
    external_id: Mapped[str] = mapped_column(String(500))
    object_name: Mapped[str | None] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, list[Any]] | None] = mapped_column(JSONType)
    """For ``modified`` (and a return after removal): ``{field: [old, new]}``."""


class Summary(Base):
    """An integration's KPIs as they stood after one successful run."""

    __tablename__ = "summaries"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    sync_run_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("sync_runs.id", ondelete="CASCADE"), unique=True
    )
    integration_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    datacenters: Mapped[int] = mapped_column(Integer)
    clusters: Mapped[int] = mapped_column(Integer)
    hosts: Mapped[int] = mapped_column(Integer)
    datastores: Mapped[int] = mapped_column(Integer)
    networks: Mapped[int] = mapped_column(Integer)
    vms: Mapped[int] = mapped_column(Integer)
    vms_on: Mapped[int] = mapped_column(Integer)
    vms_off: Mapped[int] = mapped_column(Integer)
    vms_suspended: Mapped[int] = mapped_column(Integer)
    templates: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    vcpus_on: Mapped[int] = mapped_column(Integer)
    vm_memory_mib: Mapped[int] = mapped_column(BigInteger)
    vm_memory_on_mib: Mapped[int] = mapped_column(BigInteger)
    host_cpu_cores: Mapped[int] = mapped_column(Integer)
    host_cpu_threads: Mapped[int] = mapped_column(Integer)
    host_memory_mib: Mapped[int] = mapped_column(BigInteger)
    storage_capacity_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_free_bytes: Mapped[int] = mapped_column(BigInteger)
    storage_used_bytes: Mapped[int] = mapped_column(BigInteger)
    vm_provisioned_bytes: Mapped[int] = mapped_column(BigInteger)
    vcpu_per_core: Mapped[float | None] = mapped_column(Float)
    memory_overcommit: Mapped[float | None] = mapped_column(Float)


class ChangePrune(Base):
    """One pruning of old change rows: the history before ``horizon`` is gone from then on."""

    __tablename__ = "change_prunes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    pruned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    horizon: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    deleted: Mapped[int] = mapped_column(BigInteger)
