"""API tokens and dashboard sessions: issuing, listing, revoking and verifying them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update

from iroa.audit.service import Actor, record
from iroa.auth.models import ApiToken, User
from iroa.auth.service import Clock, Principal, TokenNotFoundError, UserError, UserNotFoundError
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.text import check_line

SESSION_LIFETIME = timedelta(hours=12)


LAST_USED_RESOLUTION = timedelta(minutes=1)


TOKEN_PREFIX = "iroa_"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as created: ``secret`` is shown this once and never stored."""

    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_for(session_secret: str) -> str:
    """The CSRF token bound to one dashboard session (double-submit, derived from it)."""
    return hmac.new(session_secret.encode(), b"iroa-csrf", hashlib.sha256).hexdigest()


def token_as_dict(token: ApiToken, username: str) -> dict[str, Any]:
    return {
        "id": token.id,
        "user_id": token.user_id,
        "username": username,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at.isoformat(),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def create_token(
    db: Database,
    actor: Actor,
    user_id: int,
    name: str,
    *,
    expires_at: datetime | None = None,
    kind: str = "api",
    clock: Clock = utcnow,
) -> IssuedToken:
    """Issue a random token for a user; only its SHA-256 hash is kept."""
    name = name.strip()
    if not name or len(name) > 200:
        raise UserError("a token name must be 1-200 characters")
    check_line("a token name", name, UserError)
    now = clock()
    if expires_at is not None:
        try:
            expires_at.astimezone(UTC)  # what the database stores
        except OverflowError:
            if expires_at.year == 1:
                raise UserError("a token's expiry must be in the future") from None
            raise UserError(
                "a token's expiry must be before the year 10000 in UTC "
                f"(latest: {datetime.max.replace(tzinfo=UTC).isoformat()})"
            ) from None
        if expires_at <= now:
            raise UserError("a token's expiry must be in the future")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write_session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise UserNotFoundError(f"no user with id {user_id}")
        token = ApiToken(
            user_id=user_id,
            kind=kind,
            name=name,
            token_hash=hash_token(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            created_at=now,
            expires_at=expires_at,
        )
        session.add(token)
        session.flush()
        if kind == "api":
            record(
                session,
                actor,
                "token.create",
                "token",
                token.id,
                name,
                after={
                    "user": user.username,
                    "prefix": token.prefix,
                    "expires_at": expires_at.isoformat() if expires_at else None,
                },
            )
    return IssuedToken(token, secret)


def list_tokens(db: Database, user_id: int | None = None) -> list[dict[str, Any]]:
    """API tokens (not dashboard sessions), of one user or of everyone, newest first."""
    stmt = (
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.kind == "api")
        .order_by(ApiToken.id.desc())
    )
    if user_id is not None:
        stmt = stmt.where(ApiToken.user_id == user_id)
    with db.session() as session:
        return [token_as_dict(token, username) for token, username in session.execute(stmt)]


def get_token(db: Database, token_id: int) -> dict[str, Any]:
    stmt = (
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.id == token_id, ApiToken.kind == "api")
    )
    with db.session() as session:
        row = session.execute(stmt).first()
    if row is None:
        raise TokenNotFoundError(f"no token with id {token_id}")
    return token_as_dict(row[0], row[1])


_MAX_ID = 2**63 - 1


def find_token(db: Database, reference: str, username: str | None = None) -> dict[str, Any]:
    """The API token ``reference`` names, as :func:`token_as_dict`: a number is its id
    (of any token, revoked too); else it is the name of one live token, of user
    ``username`` if given. Raise :class:`TokenNotFoundError` if none matches, and
    :class:`UserError`, listing the ids, if the name fits several."""
    reference = reference.strip()
    owner = f" of user {username!r}" if username is not None else ""
    if not reference or "\x00" in reference or (username is not None and "\x00" in username):
        raise TokenNotFoundError(f"no token with id or name {reference!r}{owner}")
    stmt = (
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.kind == "api")
        .order_by(ApiToken.id)
    )
    if username is not None:
        stmt = stmt.where(User.username == username)
    with db.session() as session:
        if reference.isascii() and reference.isdigit() and int(reference) <= _MAX_ID:
            row = session.execute(stmt.where(ApiToken.id == int(reference))).first()
            if row is not None:
                return token_as_dict(row[0], row[1])
        rows = session.execute(
            stmt.where(ApiToken.name == reference, ApiToken.revoked_at.is_(None))
        ).all()
    if not rows:
        raise TokenNotFoundError(f"no token with id or name {reference!r}{owner}")
    if len(rows) > 1:
        ids = ", ".join(f"{token.id} ({name})" for token, name in rows)
        raise UserError(
            f"{len(rows)} live tokens are named {reference!r}{owner}: give the id of one "
            f"(ids {ids})"
        )
    return token_as_dict(rows[0][0], rows[0][1])


def revoke_token(db: Database, actor: Actor, token_id: int, clock: Clock = utcnow) -> None:
    """Revoke a token at once; revoking twice is harmless."""
    with db.write_session() as session:
        token = session.get(ApiToken, token_id)
        if token is None or token.kind != "api":
            raise TokenNotFoundError(f"no token with id {token_id}")
        if token.revoked_at is not None:
            return
        token.revoked_at = clock()
        user = session.get(User, token.user_id)
        record(
            session,
            actor,
            "token.revoke",
            "token",
            token.id,
            token.name,
            before={"user": user.username if user else None, "prefix": token.prefix},
        )


def end_session(db: Database, secret: str, clock: Clock = utcnow) -> None:
    """Log a dashboard session out."""
    with db.write_session() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == hash_token(secret), ApiToken.kind == "session")
            .values(revoked_at=clock())
        )


_TOKEN_LOOKUP = (
    select(
        ApiToken.id,
        ApiToken.kind,
        ApiToken.created_at,
        ApiToken.expires_at,
        ApiToken.last_used_at,
        ApiToken.revoked_at,
        User.id.label("user_id"),
        User.username,
        User.role,
        User.active,
    )
    .join_from(ApiToken, User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.kind == bindparam("kind"))
)
"""Built once: every authenticated request runs it, so it stays a plain Core select."""


def _well_formed(secret: str) -> bool:
    return secret.startswith(TOKEN_PREFIX) and len(secret) <= 200


def authenticate_token(
    db: Database,
    secret: str,
    clock: Clock = utcnow,
    *,
    kind: str = "api",
    idle_timeout: timedelta | None = None,
) -> Principal | None:
    """The user a live token of ``kind`` belongs to, or None.

    With ``idle_timeout``, a token not used for that long is no longer live (its
    last use is recorded to the minute, see :data:`LAST_USED_RESOLUTION`). A token
    ended anywhere (revoked, logged out, its user disabled) is refused from the next
    request on, in every process: each check reads the token's row.
    """
    if not _well_formed(secret):
        return None
    now = clock()
    token_hash = hash_token(secret)
    with db.single_read() as conn:
        row = conn.execute(_TOKEN_LOOKUP, {"token_hash": token_hash, "kind": kind}).first()
    if row is None:
        return None
    if _end_reason(row, now, idle_timeout) is not None:
        return None
    last_used_at = row.last_used_at
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        # Written at most once a minute per token, so reads do not turn into writes.
        with db.write_session() as session:
            session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        last_used_at = now
    return Principal(row.user_id, row.username, row.role, row.id, row.kind)


def _end_reason(row: Any, now: datetime, idle_timeout: timedelta | None) -> str | None:
    if row.revoked_at is not None or not row.active:
        return "ended"
    return _lapsed(row, now, idle_timeout)


def _lapsed(token: Any, now: datetime, idle_timeout: timedelta | None) -> str | None:
    """``expired`` or ``idle`` if a token's time is over at ``now``, else None."""
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    if idle_timeout is not None and now - (token.last_used_at or token.created_at) >= idle_timeout:
        return "idle"
    return None


def session_end_reason(
    db: Database, secret: str, clock: Clock = utcnow, *, idle_timeout: timedelta | None = None
) -> str | None:
    """Why a dashboard session is no longer live: ``idle`` (unused for ``idle_timeout``),
    ``expired`` (its absolute lifetime is over), ``ended`` (logged out, revoked, or the user
    disabled); None if there is no such session or it is live."""
    if not _well_formed(secret):
        return None
    with db.single_read() as conn:
        row = conn.execute(
            _TOKEN_LOOKUP, {"token_hash": hash_token(secret), "kind": "session"}
        ).first()
    return None if row is None else _end_reason(row, clock(), idle_timeout)
