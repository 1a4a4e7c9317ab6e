"""Fixtures of the inventory API tests: one synced estate per backend, read by a viewer.

The estate is built once per test module and backend; tests that read it must
not change it (those that do build their own with the function-scoped ``db``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from iroa.audit.service import CLI_ACTOR
from iroa.auth.tokens import create_token
from iroa.auth.users import create_user
from iroa.config import Settings
from iroa.db.engine import Database
from iroa.models import Base
from iroa.server import create_app
from tests.api.inventory_estate import EstateIds, build_estate

MAX_PAGES = 200


@dataclass
class InventoryApi:
    client: TestClient
    db: Database
    ids: EstateIds

    def get(self, path: str, **params: Any) -> Any:
        """GET ``/api/v1{path}`` expecting 200; the decoded body."""
        response = self.client.get(f"/api/v1{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def all_items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, following ``next_cursor``."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(MAX_PAGES):
            page = self.get(path, **params, **({"cursor": cursor} if cursor else {}))
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError(f"{path} {params}: still a next_cursor after {MAX_PAGES} pages")


def viewer_token(db: Database) -> str:
    user = create_user(db, CLI_ACTOR, "inventory-reader", "viewer", "read-only-password")
    return create_token(db, CLI_ACTOR, user.id, "inventory tests").secret


def empty_database_url(request: pytest.FixtureRequest, directory: Path) -> str:
    """A migrated, empty database of the backend in ``request.param``."""
    if request.param == "sqlite":
        path = directory / "iroa.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database_url")
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@contextmanager
def open_inventory_api(db: Database, directory: Path) -> Iterator[InventoryApi]:
    """The estate built in ``db``, served by the real app to a viewer's token."""
    ids = build_estate(db)
    token = viewer_token(db)
    app = create_app(Settings(data_dir=directory, database_url=db.url))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield InventoryApi(client, db, ids)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def inventory_api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InventoryApi]:
    directory = tmp_path_factory.mktemp("inventory-api")
    db = Database(empty_database_url(request, directory))
    with open_inventory_api(db, directory) as api:
        yield api
    db.dispose()
