"""Helpers of the dashboard tests: users per role, logging in through the form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from iroa.auth.models import User
from iroa.config import Settings
from iroa.db.engine import Database
from iroa.server import create_app
from tests.api.fixtures import PASSWORD, ROLES, FrozenClock, password_hash
from tests.api.inventory_estate import EstateIds, build_estate, resync_vcenter

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_users(db: Database) -> None:
    """One user per role, named ``{role}-user``, all with PASSWORD."""
    with db.write_session() as session:
        session.add_all(
            User(username=f"{role}-user", role=role, password_hash=password_hash())
            for role in ROLES
        )


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def log_in(client: TestClient, role: str, password: str = PASSWORD) -> str:
    """Log in through the form; the CSRF token of the session's pages."""
    form = client.get("/login")
    assert form.status_code == 200
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_of(form.text),
            "username": f"{role}-user",
            "password": password,
            "next": "/",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


@dataclass
class Web:
    client: TestClient
    db: Database
    ids: EstateIds | None


def start(
    db_url: str,
    tmp_path: Path,
    estate: bool,
    clock: FrozenClock | None = None,
    **settings: object,
) -> Iterator[Web]:
    config = Settings(data_dir=tmp_path / "data", database_url=db_url, **settings)  # type: ignore[arg-type]
    app = create_app(config, clock) if clock is not None else create_app(config)
    with TestClient(app, follow_redirects=False) as client:
        db: Database = app.state.runtime.db
        add_users(db)
        ids = None
        if estate:
            ids = build_estate(db)
            resync_vcenter(db, ids.vcenter_id)
        yield Web(client, db, ids)
