"""Add, list, look up and remove integrations; secrets are stored encrypted and never shown."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from iroa.connectors.base import ConnectionOptions
from iroa.connectors.registry import AVAILABLE_KINDS
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.models import KINDS, Integration

TRANSPORTS = ("ntlm", "kerberos", "credssp", "basic")
MIN_INTERVAL_S = 60
MAX_INTERVAL_S = 7 * 24 * 3600


class IntegrationError(ValueError):
    """A request about integrations that cannot be carried out, in one readable line."""


class IntegrationNotFoundError(IntegrationError):
    pass


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


def validate_input(data: IntegrationInput) -> IntegrationInput:
    """Check an integration's settings; raise :class:`IntegrationError` with the first problem."""
    if data.kind not in KINDS:
        raise IntegrationError(f"unknown kind {data.kind!r}: choose one of {', '.join(KINDS)}")
    if data.kind not in AVAILABLE_KINDS:
        raise IntegrationError(
            f"{data.kind} integrations are not supported by this version of IROA "
            f"(available: {', '.join(AVAILABLE_KINDS)})"
        )
    name = data.name.strip()
    if not name or len(name) > 200 or any(ch.isspace() and ch != " " for ch in name):
        raise IntegrationError("the name must be 1-200 characters on one line")
    parts = urlsplit(data.url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IntegrationError(f"invalid URL {data.url!r}: expected http(s)://host[:port]")
    try:
        _ = parts.port
    except ValueError as exc:
        raise IntegrationError(f"invalid URL {data.url!r}: bad port") from exc
    if data.ca_file and data.insecure:
        raise IntegrationError("--ca-file and --insecure exclude each other")
    ca_file = None
    if data.ca_file:
        ca_path = Path(data.ca_file).expanduser().resolve()
        try:
            ssl.create_default_context(cafile=str(ca_path))
        except (OSError, ssl.SSLError) as exc:
            raise IntegrationError(f"cannot use CA file {data.ca_file}: {exc}") from exc
        ca_file = str(ca_path)
    if data.transport is not None and data.transport not in TRANSPORTS:
        raise IntegrationError(
            f"unknown transport {data.transport!r}: choose one of {', '.join(TRANSPORTS)}"
        )
    if (
        data.interval_seconds is not None
        and data.interval_seconds != 0
        and not (MIN_INTERVAL_S <= data.interval_seconds <= MAX_INTERVAL_S)
    ):
        raise IntegrationError(
            f"the interval must be 0 (off) or {MIN_INTERVAL_S}-{MAX_INTERVAL_S} seconds"
        )
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
    )


def add_integration(db: Database, box: SecretBox, data: IntegrationInput) -> Integration:
    """Store a new integration, its secret encrypted."""
    data = validate_input(data)
    options: dict[str, object] = {"insecure": data.insecure}
    if data.ca_file:
        options["ca_file"] = data.ca_file
    if data.transport:
        options["transport"] = data.transport
    integration = Integration(
        kind=data.kind,
        name=data.name,
        url=data.url,
        username=data.username,
        secret_encrypted=box.encrypt(data.password) if data.password is not None else None,
        options=options,
        interval_seconds=data.interval_seconds,
        enabled=data.enabled,
    )
    try:
        with db.write_session() as session:
            session.add(integration)
    except IntegrityError as exc:
        raise IntegrationError(f"an integration named {data.name!r} already exists") from exc
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


def remove_integration(db: Database, name: str) -> None:
    """Delete an integration with its inventory and history."""
    with db.write_session() as session:
        integration = session.scalars(select(Integration).where(Integration.name == name)).first()
        if integration is None:
            raise IntegrationNotFoundError(f"no integration named {name!r}")
        session.delete(integration)


def connection_options(integration: Integration, box: SecretBox) -> ConnectionOptions:
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
    )
