"""Users, passwords (argon2id), API and session tokens, and login throttling."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update

from iroa.audit.service import Actor
from iroa.auth.models import LoginFailure, User
from iroa.db.base import utcnow
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
THROTTLE_WINDOW = timedelta(minutes=5)


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
        return Role(self.role).includes(role)


def hash_password(password: str) -> str:
    return HASHER.hash(password)


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
