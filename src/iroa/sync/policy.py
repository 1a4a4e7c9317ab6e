"""How syncs behave, decided once from settings and handed to every run."""

from __future__ import annotations

from dataclasses import dataclass, field

from iroa.config import Settings
from iroa.findings.rules import Thresholds
from iroa.sync.reconcile import Safeguard
from iroa.sync.schedule import SchedulePolicy

DEFAULT_SYNC_TIMEOUT_S = 1800
"""How long connecting and collecting may take, unless the integration sets ``sync_timeout_s``."""
DEFAULT_CHANGE_RETENTION_DAYS = 400
DEFAULT_EVENT_RETENTION_DAYS = 90


@dataclass(frozen=True)
class SyncPolicy:
    """The safeguard against mass removals, run spacing, findings thresholds, change retention."""

    safeguard: Safeguard = field(default_factory=Safeguard)
    schedule: SchedulePolicy = field(default_factory=SchedulePolicy)
    thresholds: Thresholds = field(default_factory=Thresholds)
    change_retention_days: int = DEFAULT_CHANGE_RETENTION_DAYS
    """Change rows older than this are pruned after a run; 0 keeps them forever."""
    event_retention_days: int = DEFAULT_EVENT_RETENTION_DAYS
    """Events older than this are pruned after a run; 0 keeps them forever."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SyncPolicy:
        return cls(
            Safeguard(settings.mass_removal_share, settings.mass_removal_min_objects),
            SchedulePolicy(settings.min_sync_interval_s),
            Thresholds.from_settings(settings),
            settings.change_retention_days,
            settings.event_retention_days,
        )
