"""Fixtures for API tests: a started app on the test database, and a user with a token per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from iroa.audit.service import CLI_ACTOR
from iroa.auth.models import User
from iroa.auth.service import hash_password
from iroa.auth.tokens import create_token
from iroa.config import Settings
from iroa.db.engine import Database
from iroa.server import create_app

ROLES = ("viewer", "operator", "admin")
PASSWORD = "correct horse battery"


@cache
def password_hash() -> str:
    """PASSWORD hashed once per session: argon2id is slow on purpose."""
    return hash_password(PASSWORD)


@dataclass
class FrozenClock:
    """A clock that moves only when told to."""

    now: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Api:
    """A running app, its client, and a Bearer token for each role."""

    app: FastAPI
    client: TestClient
    tokens: dict[str, str]
    user_ids: dict[str, int]

    @property
    def db(self) -> Database:
        db: Database = self.app.state.runtime.db
        return db

    def headers(self, role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def start_api(settings: Settings, clock: FrozenClock | None = None) -> Iterator[Api]:
    app = create_app(settings, clock) if clock is not None else create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        db: Database = app.state.runtime.db
        tokens: dict[str, str] = {}
        user_ids: dict[str, int] = {}
        with db.write_session() as session:
            users = [
                User(username=f"{role}-user", role=role, password_hash=password_hash())
                for role in ROLES
            ]
            session.add_all(users)
        for role, user in zip(ROLES, users, strict=True):
            user_ids[role] = user.id
            tokens[role] = create_token(db, CLI_ACTOR, user.id, "tests").secret
        yield Api(app, client, tokens, user_ids)


@pytest.fixture
def frozen_clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The app on the test database (SQLite and PostgreSQL), with one user per role."""
    yield from start_api(settings)
