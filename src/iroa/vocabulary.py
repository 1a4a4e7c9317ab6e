"""The domain's words, defined once: kinds, platforms, transports, roles, states.

Each is a :class:`~enum.StrEnum`, so a member equals its value (``PowerState.ON ==
"on"``), is stored and rendered as that plain string, and FastAPI and Typer take
the class directly as a parameter type. What a kind of integration *does* (which
connector reads it, what follows its sync) is the connector registry's business,
not this module's.
"""

from __future__ import annotations

from enum import StrEnum


class IntegrationKind(StrEnum):
    """What an integration connects to."""

    VCENTER = "vcenter"
    HYPERV = "hyperv"
    PROMETHEUS = "prometheus"
    ZABBIX = "zabbix"


class Platform(StrEnum):
    """The virtualization platform an inventory object belongs to."""

    VCENTER = "vcenter"
    HYPERV = "hyperv"


class Transport(StrEnum):
    """How a Hyper-V integration authenticates over WinRM."""

    NTLM = "ntlm"
    KERBEROS = "kerberos"
    CREDSSP = "credssp"
    BASIC = "basic"


DEFAULT_TRANSPORT = Transport.NTLM
"""The transport of a Hyper-V integration that names none."""


class Role(StrEnum):
    """What a user may do; each role may also do everything the roles before it may."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_ORDER.index(self)

    def includes(self, other: Role | str) -> bool:
        """Whether this role may do what ``other`` may."""
        return self.rank >= Role(other).rank


_ROLE_ORDER = tuple(Role)


class PowerState(StrEnum):
    """A VM's power state."""

    ON = "on"
    OFF = "off"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"


class HostPowerState(StrEnum):
    """A host's power state."""

    ON = "on"
    OFF = "off"
    STANDBY = "standby"
    UNKNOWN = "unknown"


class RunStatus(StrEnum):
    """Where a sync run stands. ``queued`` runs wait for an ``iroa worker``."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HELD = "held"
    INTERRUPTED = "interrupted"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class Trigger(StrEnum):
    """What started a sync run."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    API = "api"
    WATCH = "watch"
    """A watcher: its baseline, then one run per batch of changes it applied."""


class WatchState(StrEnum):
    """Where a watcher of an integration's change feed stands."""

    OFF = "off"
    STARTING = "starting"
    """Connecting, or reading and applying its baseline."""
    LIVE = "live"
    """Applying changes as the source reports them."""
    RECONNECTING = "reconnecting"
    """Lost its session; connecting again after a pause."""
    FAILED = "failed"
    """Cannot go on as configured (see the reason); tries again after a longer pause."""


class ChangeAction(StrEnum):
    """What a sync did to one object."""

    ADDED = "added"
    MODIFIED = "modified"
    REMOVED = "removed"
