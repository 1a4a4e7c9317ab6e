"""Settings from flags and ``IROA_*`` environment variables; nothing is read at import time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    min_sync_interval_s: int = Field(default=60, ge=1)
    """The shortest auto-sync interval an integration may have; also the first retry delay."""
    scheduler: bool = True
    """Run due auto-syncs inside ``iroa serve`` (turn off where another process schedules)."""
    scheduler_tick_s: float = Field(default=5.0, gt=0.0, le=300.0)
    """How often the scheduler looks for due integrations."""
    change_retention_days: int = Field(default=400, ge=0)
    """Keep change rows this many days (0: forever); older ones are pruned after each sync.

    History (``as_of``) before the pruning horizon can no longer be answered.
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
    def secret_key_file(self) -> Path:
        return self.data_dir / "secret.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read once from the environment on first use."""
    return Settings()
