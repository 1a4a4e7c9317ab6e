"""What syncs leave behind: one change row per object they touched, the KPIs after each run,
and a record of each pruning of old changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from iroa.db.base import Base, JSONType, UTCDateTime
from iroa.db.types import IdType


class Change(Base):
    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_object_type_object_id", "object_type", "object_id"),
        Index("ix_changes_integration_id_changed_at", "integration_id", "changed_at"),
        Index("ix_changes_changed_at_id", "changed_at", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # No foreign keys: a first sync writes a change row per object, and PostgreSQL checks
    # each key of each row with a query of its own (see iroa.inventory.models). Nothing
    # looks change rows up by run: no index on it.
    sync_run_id: Mapped[int] = mapped_column(IdType)
    integration_id: Mapped[int] = mapped_column(IdType)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int] = mapped_column(IdType)
    external_id: Mapped[str] = mapped_column(String(500))
    object_name: Mapped[str | None] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(16))
    fields: Mapped[dict[str, list[Any]] | None] = mapped_column(JSONType)
    """For ``modified`` (and a return after removal): ``{field: [old, new]}``."""
    actor: Mapped[str | None] = mapped_column(String(500))
    """The vCenter user of the event that explains the change; None when no event does."""
    event: Mapped[str | None] = mapped_column(String(200))
    """That event's type, e.g. ``VmPoweredOffEvent``."""


class Event(Base):
    """One vCenter event: who did what to which object, and when."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("integration_id", "event_key", name="uq_events_integration_id_event_key"),
        Index(
            "ix_events_integration_id_object_created_at",
            "integration_id",
            "object_external_id",
            "created_at",
        ),
        Index("ix_events_created_at_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(IdType)
    event_key: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_type: Mapped[str] = mapped_column(String(200))
    user_name: Mapped[str | None] = mapped_column(String(500))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_external_id: Mapped[str | None] = mapped_column(String(500))
    object_name: Mapped[str | None] = mapped_column(String(500))
    message: Mapped[str | None] = mapped_column(Text)
    chain_id: Mapped[int | None] = mapped_column(BigInteger)


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
