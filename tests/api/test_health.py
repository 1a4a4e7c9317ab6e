"""The served application: it migrates its database on start and answers health checks."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from iroa.config import Settings
from iroa.db.engine import Database
from iroa.db.migrate import is_up_to_date
from iroa.server import create_app


def test_app_migrates_on_start_and_reports_health(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/health")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"
        assert client.get("/api/v1/openapi.json").status_code == 200
    db = Database(settings.resolved_database_url)
    assert is_up_to_date(db.engine)
    db.dispose()


def test_app_on_postgresql(db_url: str, tmp_path: Path) -> None:
    with TestClient(create_app(Settings(data_dir=tmp_path, database_url=db_url))) as client:
        assert client.get("/api/v1/health").json()["status"] == "ok"
