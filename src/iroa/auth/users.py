"""Users: accounts, their roles and passwords, and the first admin."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from iroa.audit.service import Actor, record
from iroa.auth.models import ROLES, ApiToken, LoginThrottle, User
from iroa.auth.service import UserConflictError, UserError, UserNotFoundError, hash_password
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.errors import check_choice

MIN_PASSWORD_LENGTH = 8


_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,149}$")


def generate_password() -> str:
    return secrets.token_urlsafe(18)


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
    check_choice("role", role, ROLES, UserError)
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


def unlock_user(db: Database, actor: Actor, username: str) -> int:
    """Forget the login attempts counted for a user, from every address, so that
    throttled logins work again at once; how many counts there were (one per client
    network, and one for the account as a whole)."""
    with db.write_session() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise UserNotFoundError(f"no user named {username!r}")
        counted = LoginThrottle.username == username
        cleared = session.scalar(
            select(func.count())
            .select_from(LoginThrottle)
            .where(counted, LoginThrottle.attempts > 0)
        )
        session.execute(delete(LoginThrottle).where(counted))
        record(session, actor, "user.unlock", "user", user.id, user.username)
    return int(cleared or 0)


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
