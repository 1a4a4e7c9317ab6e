"""Passwords, tokens and throttling in the core, without HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from iroa.audit.service import CLI_ACTOR, list_entries
from iroa.auth import service
from iroa.auth.models import ApiToken, User
from iroa.auth.service import (
    THROTTLE_ACCOUNT_FAILURES,
    THROTTLE_FAILURES,
    InvalidCredentialsError,
    LoginThrottledError,
    UserConflictError,
    UserError,
    authenticate_password,
    client_network,
)
from iroa.auth.tokens import authenticate_token, create_token, hash_token, revoke_token
from iroa.auth.users import create_user, delete_user, ensure_initial_admin, update_user
from iroa.db.engine import Database
from tests.api.fixtures import FrozenClock


def test_passwords_are_argon2id_with_at_least_owasp_parameters(db: Database) -> None:
    user = create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    assert user.password_hash.startswith("$argon2id$")
    params = dict(p.split("=") for p in user.password_hash.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024
    assert int(params["t"]) >= 2
    assert int(params["p"]) >= 1
    assert PasswordHasher().verify(user.password_hash, "a long passphrase")


def test_bad_users_are_refused(db: Database) -> None:
    with pytest.raises(UserError, match="role"):
        create_user(db, CLI_ACTOR, "ada", "root", "a long passphrase")
    with pytest.raises(UserError, match="at least 8"):
        create_user(db, CLI_ACTOR, "ada", "viewer", "short")
    with pytest.raises(UserError, match="username"):
        create_user(db, CLI_ACTOR, "bad name", "viewer", "a long passphrase")
    create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    with pytest.raises(UserConflictError, match="already exists"):
        create_user(db, CLI_ACTOR, "ada", "admin", "a long passphrase")


def test_tokens_are_stored_as_hashes_and_can_be_revoked_or_expire(db: Database) -> None:
    clock = FrozenClock()
    user = create_user(db, CLI_ACTOR, "ada", "operator", "a long passphrase")
    issued = create_token(
        db, CLI_ACTOR, user.id, "ci", expires_at=clock.now + timedelta(days=1), clock=clock
    )
    with db.session() as session:
        stored = session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hash_token(issued.secret) != issued.secret
    assert issued.secret not in stored.prefix or len(stored.prefix) < len(issued.secret)

    principal = authenticate_token(db, issued.secret, clock)
    assert principal is not None and principal.username == "ada" and principal.role == "operator"
    with db.session() as session:
        assert session.get(ApiToken, stored.id).last_used_at == clock.now  # type: ignore[union-attr]

    clock.advance(days=1)
    assert authenticate_token(db, issued.secret, clock) is None

    other = create_token(db, CLI_ACTOR, user.id, "laptop", clock=clock)
    assert authenticate_token(db, other.secret, clock) is not None
    revoke_token(db, CLI_ACTOR, other.token.id, clock)
    assert authenticate_token(db, other.secret, clock) is None
    assert authenticate_token(db, "iroa_" + "x" * 43, clock) is None


def test_a_new_password_or_deactivation_ends_tokens(db: Database) -> None:
    user = create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    issued = create_token(db, CLI_ACTOR, user.id, "t")
    update_user(db, CLI_ACTOR, user.id, password="another passphrase")
    assert authenticate_token(db, issued.secret) is None
    assert authenticate_password(db, "ada", "another passphrase").id == user.id
    issued = create_token(db, CLI_ACTOR, user.id, "t2")
    update_user(db, CLI_ACTOR, user.id, active=False)
    assert authenticate_token(db, issued.secret) is None
    with pytest.raises(InvalidCredentialsError):
        authenticate_password(db, "ada", "another passphrase")


def test_the_last_admin_stays(db: Database) -> None:
    admin = create_user(db, CLI_ACTOR, "root", "admin", "a long passphrase")
    with pytest.raises(UserConflictError):
        update_user(db, CLI_ACTOR, admin.id, role="viewer")
    with pytest.raises(UserConflictError):
        update_user(db, CLI_ACTOR, admin.id, active=False)
    with pytest.raises(UserConflictError):
        delete_user(db, CLI_ACTOR, admin.id)
    second = create_user(db, CLI_ACTOR, "root2", "admin", "a long passphrase")
    delete_user(db, CLI_ACTOR, admin.id)
    with db.session() as session:
        assert [u.username for u in session.scalars(select(User))] == ["root2"]
    # The audit log keeps the deleted user's name.
    deleted = list_entries(db, action="user.delete")
    assert [(e["target_name"], e["target_id"]) for e in deleted] == [("root", admin.id)]
    assert second.role == "admin"


def test_five_failures_lock_the_account_for_five_minutes(db: Database) -> None:
    clock = FrozenClock()
    create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            authenticate_password(db, "ada", "wrong", clock)
        clock.advance(seconds=10)
    # Locked, even with the right password; retry-after counts from the first failure.
    with pytest.raises(LoginThrottledError) as locked:
        authenticate_password(db, "ada", "a long passphrase", clock)
    assert locked.value.retry_after_s == 300 - 50
    clock.advance(seconds=249)
    with pytest.raises(LoginThrottledError):
        authenticate_password(db, "ada", "a long passphrase", clock)
    clock.advance(seconds=1)
    assert authenticate_password(db, "ada", "a long passphrase", clock).username == "ada"


def test_throttling_is_per_account(db: Database) -> None:
    clock = FrozenClock()
    create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    create_user(db, CLI_ACTOR, "bob", "viewer", "a long passphrase")
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            authenticate_password(db, "ada", "wrong", clock)
    with pytest.raises(LoginThrottledError):
        authenticate_password(db, "ada", "a long passphrase", clock)
    assert authenticate_password(db, "bob", "a long passphrase", clock).username == "bob"


def test_throttling_is_per_client_network(db: Database) -> None:
    clock = FrozenClock()
    create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            authenticate_password(db, "ada", "wrong", clock, client="2001:db8::1")
    # Another host of that /64 is the same network; another /64 is not.
    with pytest.raises(LoginThrottledError, match="from your address"):
        authenticate_password(db, "ada", "a long passphrase", clock, client="2001:db8::2")
    user = authenticate_password(db, "ada", "a long passphrase", clock, client="2001:db8:0:1::1")
    assert user.username == "ada"


def test_many_networks_hit_an_account_wide_ceiling(db: Database) -> None:
    clock = FrozenClock()
    networks = THROTTLE_ACCOUNT_FAILURES // THROTTLE_FAILURES
    for n in range(networks):
        for _ in range(THROTTLE_FAILURES):
            with pytest.raises(InvalidCredentialsError):
                authenticate_password(db, "root", "guess", clock, client=f"192.0.2.{n}")
        # Throttled for its network, and so not counted for the account.
        with pytest.raises(LoginThrottledError, match="from your address"):
            authenticate_password(db, "root", "guess", clock, client=f"192.0.2.{n}")
    with pytest.raises(LoginThrottledError) as locked:
        authenticate_password(db, "root", "guess", clock, client="198.51.100.1")
    assert "from your address" not in str(locked.value)
    clock.advance(minutes=5)
    with pytest.raises(InvalidCredentialsError):
        authenticate_password(db, "root", "guess", clock, client="198.51.100.1")


def test_client_networks() -> None:
    assert client_network("192.0.2.7") == "192.0.2.7"
    assert client_network("2001:db8::1") == client_network("2001:db8::ffff") == "2001:db8::/64"
    assert client_network("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_network("testclient") == "testclient"
    assert client_network("") == client_network("*") == "unknown"


class CountingHasher(PasswordHasher):
    """The real hasher, counting the passwords it checks."""

    def __init__(self) -> None:
        super().__init__(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self.checked = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.checked += 1
        return super().verify(hash, password)


def test_unknown_and_disabled_users_cost_a_password_check(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that how long a refusal takes does not tell which usernames exist."""
    create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    bob = create_user(db, CLI_ACTOR, "bob", "viewer", "a long passphrase")
    update_user(db, CLI_ACTOR, bob.id, active=False)
    hasher = CountingHasher()
    monkeypatch.setattr(service, "HASHER", hasher)
    for username, password in [
        ("nobody", "a long passphrase"),
        ("bob", "a long passphrase"),
        ("ada", "wrong"),
    ]:
        with pytest.raises(InvalidCredentialsError):
            authenticate_password(db, username, password)
    assert hasher.checked == 3


def test_first_start_creates_one_admin(db: Database) -> None:
    created = ensure_initial_admin(db, None)
    assert created is not None
    username, generated = created
    assert username == "admin" and generated is not None and len(generated) >= 16
    assert authenticate_password(db, "admin", generated).role == "admin"
    assert ensure_initial_admin(db, None) is None


def test_first_start_uses_the_given_password(db: Database) -> None:
    assert ensure_initial_admin(db, "from the environment") == ("admin", None)
    assert authenticate_password(db, "admin", "from the environment").role == "admin"
