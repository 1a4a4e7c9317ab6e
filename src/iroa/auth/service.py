"""Users, passwords (argon2id), API and session tokens, and login throttling."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from iroa.audit.service import Actor, record
from iroa.auth.models import ROLES, ApiToken, LoginFailure, User
from iroa.auth.recent import RecentTokens, Verified, recent_tokens
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.errors import (
    ConflictError,
    InvalidInputError,
    IroaError,
    NotFoundError,
    UnauthenticatedError,
)

Clock = Callable[[], datetime]

# OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
THROTTLE_FAILURES = 5
THROTTLE_WINDOW = timedelta(minutes=5)
SESSION_LIFETIME = timedelta(hours=12)
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_PREFIX = "iroa_"
MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,149}$")


class AuthError(IroaError):
    """Authentication failed, in one readable line."""


class InvalidCredentialsError(UnauthenticatedError, AuthError):
    pass


class LoginThrottledError(AuthError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(
            f"too many failed logins for this account: try again in {retry_after_s} seconds"
        )
        self.retry_after_s = retry_after_s


class UserError(InvalidInputError):
    """A request about users or tokens that cannot be carried out, in one readable line."""


class UserNotFoundError(NotFoundError, UserError):
    pass


class UserConflictError(ConflictError, UserError):
    pass


class TokenNotFoundError(NotFoundError, UserError):
    pass


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, and the token or session that proved it."""

    user_id: int
    username: str
    role: str
    token_id: int
    token_kind: str

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.username)

    def has_role(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as created: ``secret`` is shown this once and never stored."""

    token: ApiToken
    secret: str


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_for(session_secret: str) -> str:
    """The CSRF token bound to one dashboard session (double-submit, derived from it)."""
    return hmac.new(session_secret.encode(), b"iroa-csrf", hashlib.sha256).hexdigest()


def validate_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise UserError(
            "a username is 1-150 characters: letters, digits and . _ @ - "
            "(starting with a letter or digit)"
        )
    return username


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 1024:
        raise UserError("a password may have at most 1024 characters")
    return password


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def user_as_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "active": user.active,
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


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


def _audit_user(user: User) -> dict[str, Any]:
    return {"username": user.username, "role": user.role, "active": user.active}


def create_user(db: Database, actor: Actor, username: str, role: str, password: str) -> User:
    """Add a user; the password is stored as an argon2id hash."""
    user = User(
        username=validate_username(username),
        role=validate_role(role),
        password_hash=hash_password(validate_password(password)),
        active=True,
    )
    try:
        with db.write_session() as session:
            session.add(user)
            session.flush()
            record(
                session,
                actor,
                "user.create",
                "user",
                user.id,
                user.username,
                after=_audit_user(user),
            )
    except IntegrityError as exc:
        raise UserConflictError(f"a user named {username!r} already exists") from exc
    return user


def list_users(db: Database) -> list[User]:
    with db.session() as session:
        return list(session.scalars(select(User).order_by(User.username)))


def get_user(db: Database, user_id: int) -> User:
    with db.session() as session:
        user = session.get(User, user_id)
    if user is None:
        raise UserNotFoundError(f"no user with id {user_id}")
    return user


def get_user_by_name(db: Database, username: str) -> User:
    with db.session() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise UserNotFoundError(f"no user named {username!r}")
    return user


def _active_admins(session: Any) -> int:
    count: int = session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    )
    return count


def update_user(
    db: Database,
    actor: Actor,
    user_id: int,
    *,
    role: str | None = None,
    password: str | None = None,
    active: bool | None = None,
) -> User:
    """Change a user's role, password or active flag; the last active admin stays one."""
    with db.write_session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise UserNotFoundError(f"no user with id {user_id}")
        before = _audit_user(user)
        was_admin = user.role == "admin" and user.active
        if role is not None:
            user.role = validate_role(role)
        if active is not None:
            user.active = active
        if password is not None:
            user.password_hash = hash_password(validate_password(password))
        session.flush()
        if (
            was_admin
            and not (user.role == "admin" and user.active)
            and _active_admins(session) == 0
        ):
            raise UserConflictError("the last active admin cannot be demoted or deactivated")
        if active is False or password is not None:
            # A changed password or a disabled account ends every session and token.
            session.execute(
                update(ApiToken)
                .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        after = _audit_user(user)
        if password is not None:
            before["password"], after["password"] = "set", "changed"
        record(
            session,
            actor,
            "user.update",
            "user",
            user.id,
            user.username,
            before=before,
            after=after,
        )
    forget_verified_tokens(db)
    return user


def delete_user(db: Database, actor: Actor, user_id: int) -> None:
    """Delete a user and their tokens; the audit log keeps their name."""
    with db.write_session() as session:
        user = session.get(User, user_id)
        if user is None:
            raise UserNotFoundError(f"no user with id {user_id}")
        if user.role == "admin" and user.active and _active_admins(session) <= 1:
            raise UserConflictError("the last active admin cannot be deleted")
        record(
            session, actor, "user.delete", "user", user.id, user.username, before=_audit_user(user)
        )
        session.delete(user)
    forget_verified_tokens(db)


def authenticate_password(
    db: Database, username: str, password: str, clock: Clock = utcnow
) -> User:
    """The user whose password this is; throttled after repeated failures for one account."""
    now = clock()
    window_start = now - THROTTLE_WINDOW
    with db.session() as session:
        failures = list(
            session.scalars(
                select(LoginFailure.failed_at)
                .where(LoginFailure.username == username, LoginFailure.failed_at > window_start)
                .order_by(LoginFailure.failed_at)
            )
        )
        user = session.scalars(select(User).where(User.username == username)).first()
    if len(failures) >= THROTTLE_FAILURES:
        unlock_at = failures[-THROTTLE_FAILURES] + THROTTLE_WINDOW
        raise LoginThrottledError(max(1, int((unlock_at - now).total_seconds() + 0.999)))
    if user is None or not user.active or not _verify(user.password_hash, password):
        with db.write_session() as session:
            session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= window_start))
            session.add(LoginFailure(username=username[:150], failed_at=now))
        raise InvalidCredentialsError("invalid username or password")
    with db.write_session() as session:
        values: dict[str, Any] = {"last_login_at": now}
        if HASHER.check_needs_rehash(user.password_hash):
            values["password_hash"] = hash_password(password)
        session.execute(update(User).where(User.id == user.id).values(values))
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    return user


@cache
def _dummy_hash() -> str:
    """Verified against when a username is unknown, so that answering takes as long."""
    return HASHER.hash(secrets.token_hex(16))


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False


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
    now = clock()
    if expires_at is not None and expires_at <= now:
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
    forget_verified_tokens(db)


def end_session(db: Database, secret: str, clock: Clock = utcnow) -> None:
    """Log a dashboard session out."""
    with db.write_session() as session:
        session.execute(
            update(ApiToken)
            .where(ApiToken.token_hash == hash_token(secret), ApiToken.kind == "session")
            .values(revoked_at=clock())
        )
    forget_verified_tokens(db)


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


def remembered_principal(
    db: Database,
    secret: str,
    clock: Clock = utcnow,
    *,
    kind: str = "api",
    idle_timeout: timedelta | None = None,
) -> Principal | None:
    """The user of a token verified moments ago and still live, without any I/O; None
    if it was not (then ask :func:`authenticate_token`). See :mod:`iroa.auth.recent`."""
    if not _well_formed(secret):
        return None
    return _remembered(recent_tokens(db.url), kind, hash_token(secret), clock(), idle_timeout)


def _well_formed(secret: str) -> bool:
    return secret.startswith(TOKEN_PREFIX) and len(secret) <= 200


def _remembered(
    recent: RecentTokens,
    kind: str,
    token_hash: str,
    now: datetime,
    idle_timeout: timedelta | None,
) -> Principal | None:
    verified = recent.get(kind, token_hash)
    if verified is None or _lapsed(verified, now, idle_timeout) is not None:
        return None
    if now - verified.last_used_at >= LAST_USED_RESOLUTION:
        return None  # its use is due to be recorded: that extends a session's idle time
    return verified.principal


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
    verified moments ago is not looked up again (:mod:`iroa.auth.recent`).
    """
    if not _well_formed(secret):
        return None
    now = clock()
    token_hash = hash_token(secret)
    recent = recent_tokens(db.url)
    remembered = _remembered(recent, kind, token_hash, now, idle_timeout)
    if remembered is not None:
        return remembered
    generation = recent.generation
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
    principal = Principal(row.user_id, row.username, row.role, row.id, row.kind)
    verified = Verified(principal, row.created_at, row.expires_at, last_used_at)
    recent.remember(kind, token_hash, verified, generation)
    return principal


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


def forget_verified_tokens(db: Database) -> None:
    """After a token ended (or may have): check every token against the database again."""
    recent_tokens(db.url).forget_all()


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


def ensure_initial_admin(db: Database, password: str | None) -> tuple[str, str | None] | None:
    """Create user ``admin`` if there are no users.

    Returns ``(username, generated password)`` — the password None when it was
    given — or None if users already existed.
    """
    with db.session() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
    generated = None
    if password is None:
        generated = password = generate_password()
    try:
        create_user(db, Actor(None, "first start"), "admin", "admin", password)
    except UserConflictError:
        return None
    return "admin", generated
