"""Tokens verified moments ago: not looked up again, yet never live longer than they should."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from iroa.audit.service import CLI_ACTOR
from iroa.auth.models import ApiToken
from iroa.auth.recent import RECENT_SECONDS, RecentTokens, Verified, recent_tokens
from iroa.auth.service import Principal
from iroa.auth.tokens import authenticate_token, create_token, end_session, hash_token, revoke_token
from iroa.auth.users import create_user, delete_user, update_user
from iroa.db.base import utcnow
from iroa.db.engine import Database
from tests.api.fixtures import FrozenClock


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks(db: Database, monkeypatch: pytest.MonkeyPatch) -> Ticks:
    """This database's remembered tokens, on a clock the test moves."""
    clock = Ticks()
    monkeypatch.setattr(recent_tokens(db.url), "monotonic", clock)
    return clock


@pytest.fixture
def statements(db: Database) -> Iterator[list[str]]:
    """Every statement sent to the database while the test runs."""
    sent: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    yield sent
    event.remove(db.engine, "before_cursor_execute", seen)


def _token(db: Database, role: str = "viewer", **kwargs: Any) -> tuple[int, int, str]:
    """A new user's id, and the id and secret of an API token of theirs."""
    user = create_user(db, CLI_ACTOR, "ada", role, "a long passphrase")
    issued = create_token(db, CLI_ACTOR, user.id, "t", **kwargs)
    return user.id, issued.token.id, issued.secret


def test_a_token_verified_moments_ago_is_not_looked_up_again(
    db: Database, ticks: Ticks, statements: list[str]
) -> None:
    _, _, secret = _token(db)
    first = authenticate_token(db, secret)
    sent = len(statements)
    assert sent > 0
    assert authenticate_token(db, secret) == first
    assert len(statements) == sent
    ticks.now += RECENT_SECONDS
    assert authenticate_token(db, secret) == first
    assert len(statements) > sent


def test_a_token_ended_by_another_process_is_refused_within_the_window(
    db: Database, ticks: Ticks
) -> None:
    _, _, secret = _token(db)
    assert authenticate_token(db, secret) is not None
    # What `iroa token revoke` in another process does: this process is not told.
    with db.write_session() as session:
        session.execute(update(ApiToken).values(revoked_at=utcnow()))
    ticks.now += RECENT_SECONDS - 0.01
    assert authenticate_token(db, secret) is not None
    ticks.now += 0.01
    assert authenticate_token(db, secret) is None


@pytest.mark.parametrize(
    "end",
    [
        pytest.param(
            lambda db, user_id, token_id: revoke_token(db, CLI_ACTOR, token_id), id="revoked"
        ),
        pytest.param(
            lambda db, user_id, token_id: update_user(db, CLI_ACTOR, user_id, active=False),
            id="user-disabled",
        ),
        pytest.param(
            lambda db, user_id, token_id: update_user(
                db, CLI_ACTOR, user_id, password="another passphrase"
            ),
            id="password-changed",
        ),
        pytest.param(
            lambda db, user_id, token_id: delete_user(db, CLI_ACTOR, user_id), id="user-deleted"
        ),
    ],
)
def test_ending_a_token_in_this_process_takes_effect_at_once(
    db: Database, ticks: Ticks, end: Callable[[Database, int, int], None]
) -> None:
    create_user(db, CLI_ACTOR, "root", "admin", "a long passphrase")  # the last admin stays
    user_id, token_id, secret = _token(db)
    assert authenticate_token(db, secret) is not None
    # Through another handle on the same database, as the CLI in this process would.
    other = Database(db.url)
    try:
        end(other, user_id, token_id)
    finally:
        other.dispose()
    assert authenticate_token(db, secret) is None


def test_a_new_role_applies_at_once(db: Database, ticks: Ticks) -> None:
    create_user(db, CLI_ACTOR, "root", "admin", "a long passphrase")
    user_id, _, secret = _token(db, "viewer")
    assert authenticate_token(db, secret).role == "viewer"  # type: ignore[union-attr]
    update_user(db, CLI_ACTOR, user_id, role="operator")
    assert authenticate_token(db, secret).role == "operator"  # type: ignore[union-attr]


def test_logging_out_ends_the_session_at_once(db: Database, ticks: Ticks) -> None:
    user = create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    secret = create_token(db, CLI_ACTOR, user.id, "browser", kind="session").secret
    assert authenticate_token(db, secret, kind="session") is not None
    end_session(db, secret)
    assert authenticate_token(db, secret, kind="session") is None


def test_a_remembered_token_still_expires_and_idles_on_the_request_clock(
    db: Database, ticks: Ticks
) -> None:
    clock = FrozenClock()
    _, _, secret = _token(db, expires_at=clock.now + timedelta(hours=1), clock=clock)
    assert authenticate_token(db, secret, clock) is not None
    clock.advance(hours=1)
    assert authenticate_token(db, secret, clock) is None

    user = create_user(db, CLI_ACTOR, "bob", "viewer", "a long passphrase")
    session = create_token(db, CLI_ACTOR, user.id, "browser", kind="session", clock=clock).secret
    idle = timedelta(minutes=30)
    assert authenticate_token(db, session, clock, kind="session", idle_timeout=idle) is not None
    clock.advance(minutes=30)
    assert authenticate_token(db, session, clock, kind="session", idle_timeout=idle) is None


def test_a_token_is_remembered_under_its_kind(db: Database, ticks: Ticks) -> None:
    _, _, secret = _token(db)
    assert authenticate_token(db, secret) is not None
    assert authenticate_token(db, secret, kind="session") is None


def test_a_check_that_began_before_a_token_ended_is_not_remembered() -> None:
    recent = RecentTokens()
    now = utcnow()
    verified = Verified(Principal(1, "ada", "viewer", 1, "api"), now, None, now)
    began = recent.generation
    recent.forget_all()  # a revocation committed while the check read the database
    recent.remember("api", hash_token("iroa_x"), verified, began)
    assert recent.get("api", hash_token("iroa_x")) is None
    recent.remember("api", hash_token("iroa_x"), verified, recent.generation)
    assert recent.get("api", hash_token("iroa_x")) == verified


def test_remembered_tokens_are_bounded() -> None:
    recent = RecentTokens(max_entries=2)
    now = utcnow()
    for n in range(5):
        verified = Verified(Principal(n, "ada", "viewer", n, "api"), now, None, now)
        recent.remember("api", str(n), verified, recent.generation)
    assert recent.get("api", "4") is not None
    assert sum(recent.get("api", str(n)) is not None for n in range(5)) <= 2


def test_using_a_remembered_session_still_keeps_it_from_idling_out(
    db: Database, ticks: Ticks
) -> None:
    clock = FrozenClock()
    user = create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    secret = create_token(db, CLI_ACTOR, user.id, "browser", kind="session", clock=clock).secret
    idle = timedelta(minutes=20)
    for _ in range(3):  # each use is recorded although the token is remembered
        assert authenticate_token(db, secret, clock, kind="session", idle_timeout=idle)
        clock.advance(minutes=19)
    clock.advance(minutes=1)
    assert authenticate_token(db, secret, clock, kind="session", idle_timeout=idle) is None
