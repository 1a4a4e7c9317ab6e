"""Request and response bodies of the API's own routes (auth, users, integrations, syncs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from iroa.integrations.inputs import MAX_INTERVAL_S, MAX_SYNC_TIMEOUT_S, MIN_SYNC_TIMEOUT_S
from iroa.text import storable_problem
from iroa.vocabulary import IntegrationKind, Role, RunStatus, Transport, WatchState

MAX_ID = 2**63 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="The object's id")]


class Problem(BaseModel):
    detail: str


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        """Refuse text no database can store (NUL characters, lone surrogates); names are
        checked further by the core (:func:`iroa.text.check_line`)."""
        if isinstance(value, str) and (problem := storable_problem(value)) is not None:
            raise ValueError(problem)
        return value


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)
    token_name: str = Field(default="login", min_length=1, max_length=200)
    expires_in_s: int | None = Field(
        default=None, ge=60, le=366 * 24 * 3600, description="Lifetime; none means no expiry"
    )


class TokenCreated(BaseModel):
    token: str = Field(description="The token itself: shown this once, keep it safe")
    id: int
    name: str
    username: str
    role: Role
    expires_at: datetime | None


class SessionOut(BaseModel):
    username: str
    role: Role
    csrf_token: str = Field(description="Send as X-CSRF-Token with every changing request")
    expires_at: datetime


class Me(BaseModel):
    id: int
    username: str
    role: Role
    via: Literal["api", "session"]


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class UserList(BaseModel):
    items: list[UserOut]


class UserCreate(_In):
    username: str = Field(min_length=1, max_length=150)
    role: Role
    password: str = Field(min_length=8, max_length=1024)


class UserUpdate(_In):
    role: Role | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    active: bool | None = None


class TokenOut(BaseModel):
    id: int
    user_id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenList(BaseModel):
    items: list[TokenOut]


class TokenCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    expires_at: AwareDatetime | None = None
    user_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="Admins only: issue for another user"
    )


Metric = Literal["cpu_pct", "memory_pct", "disk_bytes_per_s", "net_bytes_per_s"]
ZabbixField = Literal["host", "name", "dns", "ip"]


class MonitoringSettingsIn(_In):
    """Prometheus or Zabbix settings; see docs/monitoring.md."""

    preset: Literal["node_exporter", "windows_exporter", "vmware_exporter"] | None = Field(
        default=None, description="Prometheus: default queries and join for an exporter"
    )
    label: str | None = Field(
        default=None, max_length=200, description="Prometheus: the label naming the object"
    )
    join: Literal["name", "hostname", "ip", "uuid"] | None = Field(
        default=None, description="Prometheus: what the label holds (ip: port stripped)"
    )
    queries: dict[Metric, Annotated[str, Field(min_length=1, max_length=4000)]] | None = Field(
        default=None, description="Prometheus: PromQL per metric (override the preset's)"
    )
    history_hours: int | None = Field(default=None, ge=0, le=24 * 14)
    history_step_s: int | None = Field(default=None, ge=60, le=24 * 3600)
    match: list[ZabbixField] | None = Field(
        default=None, min_length=1, max_length=4, description="Zabbix: match order"
    )

    @field_validator("queries", mode="after")
    @classmethod
    def _storable_queries(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for expr in (value or {}).values():
            cls._storable_text(expr)
        return value


class IntegrationOut(BaseModel):
    id: int
    kind: IntegrationKind
    name: str
    url: str
    username: str | None
    has_secret: bool = Field(description="Whether a password is stored; it is never returned")
    ca_file: str | None
    insecure: bool
    transport: Transport | None
    interval_seconds: int | None
    enabled: bool
    sync_timeout_s: int | None = Field(
        default=None, description="Time allowed to connect and collect; none means 1800 s"
    )
    token: bool = Field(default=False, description="The secret is an API token (never returned)")
    monitoring: dict[str, Any] | None = Field(
        default=None, description="Prometheus/Zabbix: settings in effect, presets expanded"
    )
    watch: bool = Field(
        default=False, description="vCenter: kept current from its change feed (`iroa watch`)"
    )
    kerberos_delegation: bool = Field(
        default=False, description="Hyper-V over Kerberos: the host may pass the ticket on"
    )
    watch_state: WatchState = Field(
        default=WatchState.OFF, description="Where its watcher stands (`off` unless one runs)"
    )
    watch_since: datetime | None = Field(default=None, description="In that state since")
    watch_reason: str | None = Field(
        default=None, description="Why it reconnects or failed; changes it held"
    )
    watch_last_update_at: datetime | None = Field(
        default=None, description="When its watcher last applied changes"
    )
    last_success_at: datetime | None
    next_sync_at: datetime | None = Field(
        default=None, description="When the scheduler next syncs it (none: no automatic sync)"
    )
    created_at: datetime
    updated_at: datetime | None


class IntegrationList(BaseModel):
    items: list[IntegrationOut]


class IntegrationCreate(_In):
    kind: IntegrationKind
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000, examples=["https://vcenter.example.com"])
    username: str | None = Field(default=None, max_length=500)
    password: str | None = Field(default=None, max_length=4096, description="Write-only")
    ca_file: str | None = Field(default=None, max_length=4096)
    insecure: bool = False
    transport: Transport | None = None
    interval_seconds: int | None = Field(default=None, ge=0, le=MAX_INTERVAL_S)
    enabled: bool = True
    sync_timeout_s: int | None = Field(default=None, ge=MIN_SYNC_TIMEOUT_S, le=MAX_SYNC_TIMEOUT_S)
    token: bool = Field(
        default=False, description="Prometheus/Zabbix: `password` is an API (bearer) token"
    )
    monitoring: MonitoringSettingsIn | None = None
    watch: bool | None = Field(
        default=None, description="Keep it current from its change feed; default: on for vCenter"
    )
    kerberos_delegation: bool = Field(
        default=False,
        description="Hyper-V over Kerberos: delegate the ticket (needed for clusters)",
    )


class IntegrationPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    username: str | None = Field(default=None, max_length=500)
    password: str | None = Field(
        default=None, max_length=4096, description="Write-only; leave out to keep the stored one"
    )
    ca_file: str | None = Field(default=None, max_length=4096)
    insecure: bool | None = None
    transport: Transport | None = None
    interval_seconds: int | None = Field(default=None, ge=0, le=MAX_INTERVAL_S)
    enabled: bool | None = None
    sync_timeout_s: int | None = Field(default=None, ge=MIN_SYNC_TIMEOUT_S, le=MAX_SYNC_TIMEOUT_S)
    token: bool | None = None
    monitoring: MonitoringSettingsIn | None = Field(
        default=None, description="Replaces the stored monitoring settings as a whole"
    )
    watch: bool | None = Field(default=None, description="Keep it current from its change feed")
    kerberos_delegation: bool | None = Field(
        default=None, description="Hyper-V with the kerberos transport: delegate the ticket"
    )


class CheckResult(BaseModel):
    ok: bool
    error: str | None = Field(default=None, description="Why connecting or logging in failed")
    name: str | None = None
    product: str | None = None
    version: str | None = None
    build: str | None = None
    object_counts: dict[str, int] = Field(default_factory=dict)


class SyncRequest(_In):
    force: bool = Field(
        default=False, description="Admins only: apply even past the mass-removal safeguard"
    )


class SyncRunOut(BaseModel):
    id: int
    integration: str
    platform: str
    trigger: str
    status: RunStatus
    forced: bool
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None
    added: int
    modified: int
    removed: int
    totals: dict[str, int]
    counts: dict[str, dict[str, int]]
    source: dict[str, Any] | None
    error: str | None
    warnings: list[dict[str, str]] = Field(
        default_factory=list,
        description="Objects skipped because they could not be read: {type, id, reason}",
    )


class SyncRunList(BaseModel):
    items: list[SyncRunOut]
    next_cursor: str | None


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    target_type: str
    target_id: int | None
    target_name: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditList(BaseModel):
    items: list[AuditOut]
    next_cursor: str | None
