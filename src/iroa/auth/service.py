"""Users, passwords (argon2id), API and session tokens, and login throttling."""

from __future__ import annotations

import ipaddress
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from iroa.audit.service import Actor
from iroa.auth.models import LoginThrottle, User
from iroa.db.base import UTCDateTime, utcnow
from iroa.db.engine import Database
from iroa.errors import (
    ConflictError,
    InvalidInputError,
    IroaError,
    NotFoundError,
    UnauthenticatedError,
)
from iroa.vocabulary import Role

Clock = Callable[[], datetime]

# OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
THROTTLE_FAILURES = 5
"""Attempts for one username from one client network per window; more answer 429."""
THROTTLE_ACCOUNT_FAILURES = 100
"""Attempts for one username from anywhere per window: a ceiling on guessing from many
networks at once (a client network past its own limit adds nothing to it)."""
THROTTLE_WINDOW = timedelta(minutes=5)
ANYWHERE = "*"
"""The ``client`` of the row that counts a username's attempts from every network."""


class AuthError(IroaError):
    """Authentication failed, in one readable line."""


class InvalidCredentialsError(UnauthenticatedError, AuthError):
    pass


class LoginThrottledError(AuthError):
    def __init__(self, retry_after_s: int, where: str = "") -> None:
        super().__init__(
            f"too many failed logins for this account{where}: try again in {retry_after_s} seconds"
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
        return Role(self.role).includes(role)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def client_network(address: str) -> str:
    """What a client's login attempts are counted under: its IPv4 address, or its IPv6
    /64 (a site, even a single host, usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] if address and address != ANYWHERE else "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def authenticate_password(
    db: Database, username: str, password: str, clock: Clock = utcnow, *, client: str = ""
) -> User:
    """The user whose password this is; throttled after repeated failures.

    ``client`` is the address the attempt comes from (empty when not over the
    network). Attempts are counted per username and client network before the
    password is checked, so that concurrent attempts cannot overtake the count;
    a stranger's failures hold back that stranger's network, not the user's.
    """
    now = clock()
    name = username[:150]
    network = client_network(client)
    everywhere, since_everywhere = 0, now
    with db.write_session() as session:
        attempts, since = _count_attempt(session, name, network, now)
        if attempts <= THROTTLE_FAILURES:
            everywhere, since_everywhere = _count_attempt(session, name, ANYWHERE, now)
        user = session.scalars(select(User).where(User.username == username)).first()
    if attempts > THROTTLE_FAILURES:
        raise LoginThrottledError(_retry_after_s(since, now), " from your address")
    if everywhere > THROTTLE_ACCOUNT_FAILURES:
        raise LoginThrottledError(_retry_after_s(since_everywhere, now))
    # Unknown and disabled users are checked against a hash too, so that they take as long.
    valid = _verify(user.password_hash if user is not None else None, password)
    if user is None or not user.active or not valid:
        with db.write_session() as session:
            session.execute(
                delete(LoginThrottle).where(LoginThrottle.window_start <= now - THROTTLE_WINDOW)
            )
        raise InvalidCredentialsError("invalid username or password")
    with db.write_session() as session:
        values: dict[str, Any] = {"last_login_at": now}
        if HASHER.check_needs_rehash(user.password_hash):
            values["password_hash"] = hash_password(password)
        session.execute(update(User).where(User.id == user.id).values(values))
        # This network's failures are forgotten; this attempt no longer counts anywhere.
        session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.username == name, LoginThrottle.client == network
            )
        )
        session.execute(
            update(LoginThrottle)
            .where(
                LoginThrottle.username == name,
                LoginThrottle.client == ANYWHERE,
                LoginThrottle.attempts > 0,
            )
            .values(attempts=LoginThrottle.attempts - 1)
        )
    return user


def _count_attempt(
    session: Session, username: str, client: str, now: datetime
) -> tuple[int, datetime]:
    """Count one attempt for ``(username, client)`` in one statement; the attempts in the
    current window (this one included) and when the window began."""
    row = LoginThrottle
    insert = sqlite.insert if session.get_bind().dialect.name == "sqlite" else postgresql.insert
    over = row.window_start <= now - THROTTLE_WINDOW
    statement = (
        insert(row)
        .values(username=username, client=client, window_start=now, attempts=1)
        .on_conflict_do_update(
            index_elements=[row.username, row.client],
            set_={
                "attempts": case((over, 1), else_=row.attempts + 1),
                "window_start": case((over, literal(now, UTCDateTime())), else_=row.window_start),
            },
        )
        .returning(row.attempts, row.window_start)
    )
    attempts, since = session.execute(statement).one()
    return int(attempts), since


def _retry_after_s(since: datetime, now: datetime) -> int:
    return max(1, math.ceil((since + THROTTLE_WINDOW - now).total_seconds()))


@cache
def _dummy_hash() -> str:
    """Verified against when a username is unknown, so that answering takes as long."""
    return HASHER.hash(secrets.token_hex(16))


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
