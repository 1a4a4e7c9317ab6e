"""Settings and the instance secret key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from iroa.config import Settings
from iroa.crypto import SecretBox, SecretKeyError, load_secret_key


def test_defaults_use_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve() / 'iroa.db'}"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IROA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("IROA_DATABASE_URL", "postgresql://u@h/db")
    settings = Settings()
    assert settings.data_dir == tmp_path
    assert settings.resolved_database_url == "postgresql://u@h/db"


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    assert not (tmp_path / "d").exists()
    key = load_secret_key(settings)
    path = tmp_path / "d" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret_key(settings) == key and len(key) > 40


def test_explicit_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key=SecretStr("k" * 32))
    assert load_secret_key(settings) == "k" * 32
    assert not (tmp_path / "secret.key").exists()


def test_secret_box_round_trip_and_wrong_key() -> None:
    token = SecretBox("one").encrypt("p@ss")
    assert "p@ss" not in token
    assert SecretBox("one").decrypt(token) == "p@ss"
    with pytest.raises(SecretKeyError, match="secret key differs"):
        SecretBox("two").decrypt(token)
