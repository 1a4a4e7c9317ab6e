"""Add, list, look up, update and remove integrations; secrets are stored encrypted, never shown.

Every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from iroa.audit.service import CLI_ACTOR, Actor, record
from iroa.connectors.base import ConnectionOptions
from iroa.connectors.registry import MONITORING_KINDS, WATCHABLE_KINDS, can_watch, check_connection
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.inputs import (
    MIN_INTERVAL_S,
    WATCHED_INTERVAL_S,
    IntegrationError,
    IntegrationInput,
    IntegrationNotFoundError,
    IntegrationUpdate,
    SecretNeededError,
    validate_input,
)
from iroa.integrations.models import Integration, Watcher
from iroa.integrations.monitoring import DEFAULT_PRESET, resolve_settings
from iroa.integrations.watchers import watch_fields
from iroa.redaction import without_userinfo
from iroa.vocabulary import DEFAULT_TRANSPORT

__all__ = [
    "MIN_INTERVAL_S",
    "IntegrationError",
    "IntegrationInput",
    "IntegrationNotFoundError",
    "IntegrationUpdate",
    "SecretNeededError",
    "add_integration",
    "connection_options",
    "delete_record",
    "get_integration",
    "get_integration_by_id",
    "integration_as_dict",
    "integration_to_delete",
    "integration_view",
    "is_watched",
    "list_integrations",
    "update_integration",
    "validate_input",
]
"""The service's own functions and, for its callers, the inputs they take (from
:mod:`iroa.integrations.inputs`)."""


def integration_as_dict(integration: Integration, watcher: Watcher | None = None) -> dict[str, Any]:
    """An integration as shown to people and programs: the secret only as set or not; its
    watch state from ``watcher``, its row in ``watchers`` if it has one."""
    options = integration.options or {}
    watching = is_watched(integration)
    return {
        "id": integration.id,
        "kind": integration.kind,
        "name": integration.name,
        "url": without_userinfo(integration.url),
        "username": integration.username,
        "has_secret": integration.has_secret,
        "ca_file": options.get("ca_file"),
        "insecure": bool(options.get("insecure", False)),
        "transport": options.get("transport"),
        "interval_seconds": integration.interval_seconds,
        "enabled": integration.enabled,
        "sync_timeout_s": options.get("sync_timeout_s"),
        "token": bool(options.get("token", False)),
        "watch": watching,
        "kerberos_delegation": bool(options.get("kerberos_delegation", False)),
        **watch_fields(integration, watching, watcher),
        "monitoring": resolve_settings(integration.kind, options.get("monitoring"))
        if integration.kind in MONITORING_KINDS
        else None,
        "last_success_at": integration.last_success_at.isoformat()
        if integration.last_success_at
        else None,
        "next_sync_at": integration.next_sync_at.isoformat()
        if integration.next_sync_at and integration.interval_seconds and integration.enabled
        else None,
        "created_at": integration.created_at.isoformat(),
        "updated_at": integration.updated_at.isoformat() if integration.updated_at else None,
    }


def transport_warnings(integration: Integration) -> list[str]:
    """What an admin should hear at once about how this integration's traffic is protected:
    no certificate check, or a secret sent readable over plain http (WinRM's NTLM,
    Kerberos and CredSSP encrypt the message themselves; its basic auth does not)."""
    options = integration.options or {}
    url = without_userinfo(integration.url)
    warnings = []
    scheme = urlsplit(integration.url).scheme
    if options.get("insecure") and scheme == "https":
        warnings.append(
            f"the TLS certificate of {url} is not verified (insecure): anyone on the network "
            "path can pose as it and receive the password; give it a CA file instead"
        )
    transport = options.get("transport") or DEFAULT_TRANSPORT
    encrypted_anyway = integration.kind == "hyperv" and transport != "basic"
    if scheme == "http" and integration.has_secret and not encrypted_anyway:
        sent = "WinRM basic auth sends" if integration.kind == "hyperv" else "IROA sends"
        warnings.append(
            f"{url} is plain http: {sent} the password or token readable on the network; use https"
        )
    return warnings


def is_watched(integration: Integration) -> bool:
    """Whether the integration is kept current from its change feed (stored before this
    setting existed: on, where its kind has a feed)."""
    watchable = can_watch(integration.kind)
    return watchable and bool((integration.options or {}).get("watch", watchable))


def _audit_view(integration: Integration) -> dict[str, Any]:
    view = integration_as_dict(integration)
    for key in ("id", "last_success_at", "next_sync_at", "created_at", "updated_at"):
        view.pop(key)
    for key in [key for key in view if key.startswith("watch_")]:
        view.pop(key)
    return view


def _destination_changes(before: IntegrationInput, after: IntegrationInput) -> list[str]:
    """What ``after`` changes of where, and how safely, a stored secret is sent."""
    changed = []
    if _receiver(before.url) != _receiver(after.url):
        changed.append("the URL")
    if before.ca_file != after.ca_file:
        changed.append("the CA file")
    if before.insecure != after.insecure:
        changed.append("the insecure setting")
    if (before.transport or DEFAULT_TRANSPORT) != (after.transport or DEFAULT_TRANSPORT):
        changed.append("the WinRM transport")
    return changed


def _receiver(url: str) -> tuple[str, str | None, int | None, str, str]:
    # Every part of the URL that can pick another receiver counts, the path too:
    # a reverse proxy may send two paths of one host to different services, so
    # only case and a trailing slash are ignored. A port left out is kept apart
    # from a default one, as each kind has its own (Hyper-V's is 5985/5986).
    parts = urlsplit(url.strip())
    return (parts.scheme.lower(), parts.hostname, parts.port, parts.path.rstrip("/"), parts.query)


def _merged_monitoring(stored: dict[str, Any] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """``stored`` monitoring settings with ``changes`` over them, ``queries`` per metric.

    Queries alone replace the default preset's (see :func:`resolve_settings`): a query
    changed where the default preset was in effect keeps that preset's other queries.
    """
    merged = dict(stored or {})
    if "queries" in changes and "preset" not in merged and "queries" not in merged:
        merged["preset"] = DEFAULT_PRESET
    for key, value in changes.items():
        if key == "queries" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _options_of(data: IntegrationInput) -> dict[str, object]:
    options: dict[str, object] = {"insecure": data.insecure}
    if data.ca_file:
        options["ca_file"] = data.ca_file
    if data.transport:
        options["transport"] = data.transport
    if data.sync_timeout_s:
        options["sync_timeout_s"] = data.sync_timeout_s
    if data.token:
        options["token"] = True
    if data.monitoring:
        options["monitoring"] = data.monitoring
    if data.watch is not None:
        options["watch"] = data.watch
    if data.kerberos_delegation:
        options["kerberos_delegation"] = True
    return options


def add_integration(
    db: Database,
    box: SecretBox,
    data: IntegrationInput,
    actor: Actor = CLI_ACTOR,
    *,
    min_interval_s: int = MIN_INTERVAL_S,
    check: bool = False,
) -> Integration:
    """Store a new integration, its secret encrypted.

    With ``check``, connect and log in with the given settings first, and store
    nothing if that fails (the connector's ``ConnectorError`` is raised). A watched
    integration given no interval gets :data:`WATCHED_INTERVAL_S`.
    """
    watched = data.kind in WATCHABLE_KINDS if data.watch is None else data.watch
    if watched and data.interval_seconds is None:
        data = replace(data, interval_seconds=WATCHED_INTERVAL_S)
    data = validate_input(data, min_interval_s)
    integration = Integration(
        kind=data.kind,
        name=data.name,
        url=data.url,
        username=data.username,
        secret_encrypted=box.encrypt(data.password) if data.password is not None else None,
        options=_options_of(data),
        interval_seconds=data.interval_seconds,
        enabled=data.enabled,
    )
    if check:
        check_connection(integration.kind, connection_options(integration, box))
    try:
        with db.write_session() as session:
            session.add(integration)
            session.flush()
            record(
                session,
                actor,
                "integration.create",
                "integration",
                integration.id,
                integration.name,
                after=_audit_view(integration),
            )
    except IntegrityError as exc:
        raise IntegrationError(f"an integration named {data.name!r} already exists") from exc
    return integration


def update_integration(
    db: Database,
    box: SecretBox,
    integration_id: int,
    changes: IntegrationUpdate,
    actor: Actor = CLI_ACTOR,
    *,
    min_interval_s: int = MIN_INTERVAL_S,
) -> Integration:
    """Change an integration; without a new password the stored secret is kept.

    A stored secret goes only where it was entered for: changing the URL's
    receiver, the CA file, insecure or the WinRM transport without giving the
    secret again raises :class:`SecretNeededError` and changes nothing. A new
    interval, or enabling it again, reschedules its next automatic sync.
    """
    try:
        with db.write_session() as session:
            integration = session.get(Integration, integration_id)
            if integration is None:
                raise IntegrationNotFoundError(f"no integration with id {integration_id}")
            before = _audit_view(integration)
            options = integration.options or {}
            current = IntegrationInput(
                kind=integration.kind,
                name=integration.name,
                url=integration.url,
                username=integration.username,
                ca_file=options.get("ca_file"),
                insecure=bool(options.get("insecure", False)),
                transport=options.get("transport"),
                interval_seconds=integration.interval_seconds,
                enabled=integration.enabled,
                sync_timeout_s=options.get("sync_timeout_s"),
                token=bool(options.get("token", False)),
                monitoring=options.get("monitoring"),
                watch=is_watched(integration),
                kerberos_delegation=bool(options.get("kerberos_delegation", False)),
            )
            given = {
                k: getattr(changes, k)
                for k in changes.__slots__
                if k not in ("password", "monitoring_changes") and getattr(changes, k) is not None
            }
            if changes.monitoring_changes:
                given["monitoring"] = _merged_monitoring(
                    given.get("monitoring", current.monitoring), changes.monitoring_changes
                )
            if changes.insecure is True and "ca_file" not in given:
                given["ca_file"] = None
            if changes.ca_file and "insecure" not in given:
                given["insecure"] = False
            if changes.transport not in (None, "kerberos") and "kerberos_delegation" not in given:
                given["kerberos_delegation"] = False
            data = validate_input(replace(current, **given), min_interval_s)
            moved = _destination_changes(current, data)
            if moved and integration.has_secret and changes.password is None:
                what = ", ".join(moved[:-1]) + " and " + moved[-1] if len(moved) > 1 else moved[0]
                secret = "token" if current.token else "password"
                raise SecretNeededError(
                    f"changing {what} needs the {secret} again: "
                    f"a stored {secret} is only sent where it was entered for"
                )
            integration.name = data.name
            integration.url = data.url
            integration.username = data.username
            integration.options = {**options, **_options_of(data)}
            if not data.ca_file:
                integration.options.pop("ca_file", None)
            if not data.transport:
                integration.options.pop("transport", None)
            if not data.token:
                integration.options.pop("token", None)
            if not data.monitoring:
                integration.options.pop("monitoring", None)
            if not data.kerberos_delegation:
                integration.options.pop("kerberos_delegation", None)
            if data.interval_seconds != integration.interval_seconds or (
                data.enabled and not integration.enabled
            ):
                integration.next_sync_at = None
            integration.interval_seconds = data.interval_seconds
            integration.enabled = data.enabled
            if changes.password is not None:
                integration.secret_encrypted = box.encrypt(changes.password)
            session.flush()
            after = _audit_view(integration)
            if changes.password is not None:
                after["password"] = changes.password
            record(
                session,
                actor,
                "integration.update",
                "integration",
                integration.id,
                integration.name,
                before=before,
                after=after,
            )
    except IntegrityError as exc:
        raise IntegrationError(f"an integration named {changes.name!r} already exists") from exc
    return integration


def list_integrations(db: Database) -> list[Integration]:
    with db.session() as session:
        return list(session.scalars(select(Integration).order_by(Integration.name)))


def get_integration(db: Database, name: str) -> Integration:
    with db.session() as session:
        integration = session.scalars(select(Integration).where(Integration.name == name)).first()
    if integration is None:
        raise IntegrationNotFoundError(f"no integration named {name!r}")
    return integration


def integration_view(db: Database, integration_id: int) -> dict[str, Any]:
    """:func:`integration_as_dict` of one integration with its watch state, in one query."""
    with db.session() as session:
        found = session.execute(
            select(Integration, Watcher)
            .outerjoin(Watcher, Watcher.integration_id == Integration.id)
            .where(Integration.id == integration_id)
        ).first()
    if found is None:
        raise IntegrationNotFoundError(f"no integration with id {integration_id}")
    return integration_as_dict(*found)


def get_integration_by_id(db: Database, integration_id: int) -> Integration:
    with db.session() as session:
        integration = session.get(Integration, integration_id)
    if integration is None:
        raise IntegrationNotFoundError(f"no integration with id {integration_id}")
    return integration


def integration_to_delete(
    session: Session, *, name: str | None = None, integration_id: int | None = None
) -> Integration:
    """The integration of this name or id, in ``session``, or :class:`IntegrationNotFoundError`."""
    if name is not None:
        found = session.scalars(select(Integration).where(Integration.name == name)).first()
        if found is None:
            raise IntegrationNotFoundError(f"no integration named {name!r}")
        return found
    found = session.get(Integration, integration_id)
    if found is None:
        raise IntegrationNotFoundError(f"no integration with id {integration_id}")
    return found


def delete_record(session: Session, integration: Integration, actor: Actor) -> None:
    """Delete the integration's row, audited; its foreign keys delete the rows that have
    one (deleting an integration whole is :mod:`iroa.sync.forget`'s)."""
    record(
        session,
        actor,
        "integration.delete",
        "integration",
        integration.id,
        integration.name,
        before=_audit_view(integration),
    )
    session.delete(integration)


def connection_options(
    integration: Integration,
    box: SecretBox,
    *,
    lean_decoding: bool = True,
    search_datastores: bool = True,
) -> ConnectionOptions:
    """What a connector needs to reach this integration, with its secret decrypted."""
    options = integration.options or {}
    password = box.decrypt(integration.secret_encrypted) if integration.secret_encrypted else None
    return ConnectionOptions(
        url=integration.url,
        username=integration.username,
        password=password,
        ca_file=options.get("ca_file"),
        insecure=bool(options.get("insecure", False)),
        transport=options.get("transport"),
        connect_timeout_s=float(options.get("connect_timeout_s", 15.0)),
        read_timeout_s=float(options.get("read_timeout_s", 300.0)),
        token=bool(options.get("token", False)),
        settings=resolve_settings(integration.kind, options.get("monitoring")),
        lean_decoding=lean_decoding,
        search_datastores=search_datastores,
        kerberos_delegation=bool(options.get("kerberos_delegation", False)),
    )
