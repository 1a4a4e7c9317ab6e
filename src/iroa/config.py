"""Settings from flags and ``IROA_*`` environment variables; nothing is read at import time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from iroa.errors import InvalidInputError


class ExecutionModeError(InvalidInputError):
    """The execution mode does not fit the database."""


class Settings(BaseSettings):
    """Process-wide settings."""

    model_config = SettingsConfigDict(env_prefix="IROA_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    secret_key: SecretStr | None = None
    log_level: str = "INFO"
    mass_removal_share: float = Field(default=0.5, gt=0.0, le=1.0)
    mass_removal_min_objects: int = Field(default=10, ge=1)
    admin_password: SecretStr | None = None
    """Password of the ``admin`` user created on first start (else one is generated)."""
    metrics_public: bool = False
    """Serve ``/metrics`` without credentials (else it needs a token)."""
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    """The largest request body accepted (API JSON and dashboard forms); beyond it, 413."""
    min_sync_interval_s: int = Field(default=60, ge=1)
    """The shortest auto-sync interval an integration may have; also the first retry delay."""
    scheduler: bool = True
    """Run due auto-syncs inside ``iroa serve`` (turn off where another process schedules)."""
    session_idle_minutes: int = Field(default=30, ge=1, le=720)
    """A dashboard session unused for this long ends (it always ends after 12 hours)."""
    session_cookie_secure: bool | None = None
    """The dashboard cookies' ``Secure`` flag: unset follows each request's scheme (https
    as uvicorn sees it); true always (behind a TLS-terminating proxy whose
    ``X-Forwarded-Proto`` is not trusted); false never (plain http on purpose)."""
    scheduler_tick_s: float = Field(default=5.0, gt=0.0, le=300.0)
    """How often the scheduler looks for due integrations."""
    execution: Literal["embedded", "queue"] = "embedded"
    """Where syncs run: in ``iroa serve`` itself, or in ``iroa worker`` processes (PostgreSQL)."""
    worker_heartbeat_s: float = Field(default=10.0, gt=0.0, le=300.0)
    """How often an ``iroa worker`` tells the database it is alive."""
    worker_stalled_after_s: float = Field(default=30.0, gt=0.0, le=3600.0)
    """A worker silent this long is dead: its jobs are released and its runs ``interrupted``."""
    vcenter_decoder: Literal["lean", "pyvmomi"] = "lean"
    """Decode vCenter's bulk answers with IROA's lean decoder, or with pyVmomi (slower)."""
    vcenter_search_datastores: bool = True
    """Search vCenter's datastores for orphaned disks at each full sync (one browser task
    per datastore; false: none, and the orphaned disk finding holds for nothing)."""
    findings_snapshot_max_age_days: float = Field(default=7.0, gt=0.0)
    """A VM snapshot older than this is a finding."""
    findings_snapshot_max_count: int = Field(default=3, ge=0)
    """A VM with more snapshots than this is a finding."""
    findings_datastore_free_warning_pct: float = Field(default=20.0, ge=0.0, le=100.0)
    """A datastore or volume with less free space than this (percent) is a warning …"""
    findings_datastore_free_critical_pct: float = Field(default=10.0, ge=0.0, le=100.0)
    """… and with less than this, critical."""
    findings_partition_free_warning_pct: float = Field(default=10.0, ge=0.0, le=100.0)
    """A guest file system (VMware Tools' ``guest.disk``) with less free space than this
    (percent) is a warning …"""
    findings_partition_free_critical_pct: float = Field(default=5.0, ge=0.0, le=100.0)
    """… and with less than this, critical."""
    findings_powered_off_days: float = Field(default=30.0, gt=0.0)
    """A VM seen powered off for longer than this is a finding."""
    findings_vcpu_per_core_max: float = Field(default=4.0, gt=0.0)
    """vCPUs of powered-on VMs per physical core above this, per cluster or standalone host."""
    findings_memory_overcommit_max: float = Field(default=1.0, gt=0.0)
    """Memory of powered-on VMs per host memory above this, per cluster or standalone host."""
    findings_datastore_vm_max: int = Field(default=30, ge=1)
    """A datastore holding (files of) more VMs than this is a finding."""
    findings_hardware_version_min: int = Field(default=13, ge=1)
    """A vCenter VM whose virtual hardware version (``vmx-NN``) is below this is a finding."""
    findings_idle_cpu_pct: float = Field(default=5.0, gt=0.0, le=100.0)
    """A running VM whose CPU use stayed under this share (percent) of its vCPUs' capacity
    at every one of the recent full syncs is idle (vCenter's ``summary.quickStats``)."""
    findings_idle_syncs: int = Field(default=6, ge=1, le=1000)
    """How many recent full syncs' CPU samples are kept per VM, and weighed for idleness."""
    findings_idle_min_samples: int = Field(default=3, ge=1, le=1000)
    """A VM needs at least this many samples among them to be called idle."""
    findings_snapshot_max_size_gib: float = Field(default=50.0, gt=0.0)
    """A VM whose snapshots hold more than this on disk (GiB, vCenter's ``layoutEx``) is a
    finding."""
    change_retention_days: int = Field(default=400, ge=0)
    """Keep change rows this many days (0: forever); older ones are pruned after each sync.

    History (``as_of``) before the pruning horizon can no longer be answered.
    """
    event_retention_days: int = Field(default=90, ge=0)
    """Keep vCenter events this many days (0: forever); older ones are pruned after each sync.

    The actor a change row got from an event stays with the change.
    """
    export_dir: Path | None = None
    """Where ``iroa serve`` writes scheduled exports (unset: no scheduled export)."""
    export_interval_s: int = Field(default=86_400, ge=60)
    """Seconds between scheduled exports (default daily)."""
    export_keep: int = Field(default=30, ge=1)
    """How many scheduled exports to keep in ``export_dir``; older ones are deleted."""
    export_format: Literal["xlsx", "csv"] = "xlsx"
    """``xlsx``: one workbook per export; ``csv``: one directory of sheet files per export."""

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'iroa.db').resolve()}"

    @property
    def is_postgresql(self) -> bool:
        return make_url(self.resolved_database_url).get_backend_name() == "postgresql"

    def check_execution(self) -> None:
        """Raise :class:`ExecutionModeError` if ``execution`` cannot work with this database."""
        if self.execution == "queue" and not self.is_postgresql:
            raise ExecutionModeError(
                "IROA_EXECUTION=queue needs PostgreSQL: set IROA_DATABASE_URL=postgresql://..."
            )

    @property
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment on first use."""
    return Settings()
