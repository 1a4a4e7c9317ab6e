"""What an integration is given: the fields of adding and of updating one, and their checks.

The same checks serve the API, the dashboard and the CLI (through
:mod:`iroa.integrations.service`).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from iroa.connectors.registry import AVAILABLE_KINDS, MONITORING_KINDS, can_watch
from iroa.errors import InvalidInputError, NotFoundError, check_choice
from iroa.integrations.monitoring import MonitoringSettingsError, validate_settings
from iroa.text import check_line, check_storable
from iroa.vocabulary import IntegrationKind, Transport

TRANSPORTS = tuple(Transport)
MIN_INTERVAL_S = 60
"""The default shortest auto-sync interval (``IROA_MIN_SYNC_INTERVAL_S`` changes it)."""
MAX_INTERVAL_S = 7 * 24 * 3600
WATCHED_INTERVAL_S = 24 * 3600
"""The interval of a watched integration added without one: a daily full sync, the
safety net under its watcher."""
MIN_SYNC_TIMEOUT_S = 10
MAX_SYNC_TIMEOUT_S = 24 * 3600


class IntegrationError(InvalidInputError):
    """A request about integrations that cannot be carried out, in one readable line."""


class IntegrationNotFoundError(NotFoundError, IntegrationError):
    pass


class SecretNeededError(IntegrationError):
    """A change would send the stored secret somewhere else: it must be given again."""


@dataclass(frozen=True, slots=True)
class IntegrationInput:
    kind: str
    name: str
    url: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    insecure: bool = False
    transport: str | None = None
    interval_seconds: int | None = None
    enabled: bool = True
    sync_timeout_s: int | None = None
    """How long connecting and collecting may take; None means the default (30 min)."""
    token: bool = False
    """Prometheus/Zabbix: the secret is an API (bearer) token, not a password."""
    monitoring: dict[str, Any] | None = None
    """Prometheus/Zabbix settings (see :mod:`iroa.integrations.monitoring`)."""
    watch: bool | None = None
    """Keep it current from its change feed (vCenter); None: on where the kind has one."""
    kerberos_delegation: bool = False
    """Hyper-V over Kerberos: let the host pass IROA's ticket on (a cluster's other nodes)."""


def validate_input(
    data: IntegrationInput, min_interval_s: int = MIN_INTERVAL_S
) -> IntegrationInput:
    """Check an integration's settings; raise :class:`IntegrationError` with the first problem."""
    check_choice("kind", data.kind, IntegrationKind, IntegrationError)
    if data.kind not in AVAILABLE_KINDS:
        raise IntegrationError(
            f"{data.kind} integrations are not supported by this version of IROA "
            f"(available: {', '.join(AVAILABLE_KINDS)})"
        )
    name = data.name.strip()
    if not name or len(name) > 200 or any(ch.isspace() and ch != " " for ch in name):
        raise IntegrationError("the name must be 1-200 characters on one line")
    check_line("the name", name, IntegrationError)
    for what, text in (
        ("the URL", data.url),
        ("the username", data.username),
        ("the CA file path", data.ca_file),
    ):
        if text is not None:
            check_line(what, text, IntegrationError)
    if data.password is not None:
        check_storable("the password", data.password, IntegrationError)
    # Messages here never echo the URL: a mistyped one may carry credentials.
    expected = "invalid URL: expected http(s)://host[:port]"
    try:
        parts = urlsplit(data.url.strip())
    except ValueError:
        raise IntegrationError(expected) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IntegrationError(expected)
    if "@" in parts.netloc:
        raise IntegrationError(
            "invalid URL: put credentials in username and password, not in the URL"
        )
    try:
        _ = parts.port
    except ValueError:
        raise IntegrationError("invalid URL: bad port") from None
    if data.ca_file and data.insecure:
        raise IntegrationError(
            "a CA file and insecure (no certificate verification) exclude each other: choose one"
        )
    ca_file = None
    if data.ca_file:
        ca_path = Path(data.ca_file).expanduser().resolve()
        try:
            ssl.create_default_context(cafile=str(ca_path))
        except (OSError, ssl.SSLError) as exc:
            raise IntegrationError(f"cannot use CA file {data.ca_file}: {exc}") from exc
        ca_file = str(ca_path)
    if data.transport is not None:
        check_choice("transport", data.transport, TRANSPORTS, IntegrationError)
    if (
        data.interval_seconds is not None
        and data.interval_seconds != 0
        and not (min_interval_s <= data.interval_seconds <= MAX_INTERVAL_S)
    ):
        raise IntegrationError(
            f"the interval must be 0 (off) or {min_interval_s}-{MAX_INTERVAL_S} seconds"
        )
    if data.sync_timeout_s is not None and not (
        MIN_SYNC_TIMEOUT_S <= data.sync_timeout_s <= MAX_SYNC_TIMEOUT_S
    ):
        raise IntegrationError(
            f"the sync timeout must be {MIN_SYNC_TIMEOUT_S}-{MAX_SYNC_TIMEOUT_S} seconds"
        )
    if data.token and data.kind not in MONITORING_KINDS:
        kinds = " and ".join(MONITORING_KINDS)
        raise IntegrationError(f"token authentication is for {kinds} integrations")
    if data.kerberos_delegation and (data.kind != "hyperv" or data.transport != "kerberos"):
        raise IntegrationError(
            "Kerberos delegation is for Hyper-V integrations with the kerberos transport"
        )
    watch = can_watch(data.kind) if data.watch is None else data.watch
    if watch and not can_watch(data.kind):
        raise IntegrationError(f"{data.kind} integrations have no change feed to watch")
    try:
        monitoring = validate_settings(data.kind, data.monitoring)
    except MonitoringSettingsError as exc:
        raise IntegrationError(str(exc)) from exc
    return IntegrationInput(
        kind=data.kind,
        name=name,
        url=data.url.strip().rstrip("/"),
        username=data.username,
        password=data.password,
        ca_file=ca_file,
        insecure=data.insecure,
        transport=data.transport,
        interval_seconds=data.interval_seconds or None,
        enabled=data.enabled,
        sync_timeout_s=data.sync_timeout_s,
        token=data.token,
        monitoring=monitoring or None,
        watch=watch,
        kerberos_delegation=data.kerberos_delegation,
    )


@dataclass(frozen=True, slots=True)
class IntegrationUpdate:
    """Fields to change; None leaves a field as it is (so the secret is kept unless given)."""

    name: str | None = None
    url: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    insecure: bool | None = None
    transport: str | None = None
    interval_seconds: int | None = None
    enabled: bool | None = None
    sync_timeout_s: int | None = None
    token: bool | None = None
    monitoring: dict[str, Any] | None = None
    """Replaces the stored monitoring settings as a whole."""
    watch: bool | None = None
    kerberos_delegation: bool | None = None
    monitoring_changes: dict[str, Any] | None = None
    """Merged into the monitoring settings (after ``monitoring``, if given) key by key,
    ``queries`` metric by metric: for front ends that change one setting at a time."""
