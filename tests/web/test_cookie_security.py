"""The dashboard cookies' Secure flag: the request's scheme by default, or what
``IROA_SESSION_COOKIE_SECURE`` says (behind a TLS-terminating proxy) (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from iroa.config import Settings
from iroa.server import create_app
from tests.api.fixtures import PASSWORD
from tests.web.support import add_users, csrf_of

COOKIES = ("iroa_login_csrf", "iroa_session", "iroa_csrf")


def set_cookies(db_url: str, tmp_path: Path, base_url: str, secure: bool | None) -> dict[str, str]:
    """Each cookie IROA sets through a dashboard login and an API session, with its attributes."""
    settings = Settings(
        data_dir=tmp_path / "data", database_url=db_url, session_cookie_secure=secure
    )
    seen: dict[str, str] = {}
    with TestClient(create_app(settings), base_url=base_url, follow_redirects=False) as client:
        add_users(client.app.state.runtime.db)  # type: ignore[attr-defined]
        form = client.get("/login")
        responses = [
            form,
            client.post(
                "/login",
                data={
                    "csrf_token": csrf_of(form.text),
                    "username": "viewer-user",
                    "password": PASSWORD,
                    "next": "/",
                },
            ),
            client.post(
                "/api/v1/auth/session", json={"username": "admin-user", "password": PASSWORD}
            ),
        ]
        for response in responses:
            for header in response.headers.get_list("set-cookie"):
                name = header.split("=", 1)[0]
                if "Max-Age=0" not in header and "expires=Thu, 01 Jan 1970" not in header:
                    seen[name] = header
    assert set(seen) == set(COOKIES), seen
    return seen


@pytest.mark.parametrize(
    ("base_url", "setting", "secure"),
    [
        ("http://testserver", None, False),  # by default, the request's scheme
        ("https://testserver", None, True),
        ("http://testserver", True, True),  # behind a TLS-terminating proxy
        ("https://testserver", False, False),
    ],
)
def test_the_secure_flag_follows_the_setting_or_else_the_scheme(
    db_url: str, tmp_path: Path, base_url: str, setting: bool | None, secure: bool
) -> None:
    for name, header in set_cookies(db_url, tmp_path, base_url, setting).items():
        assert ("; secure" in header.lower()) is secure, (name, header)
        assert "httponly" in header.lower() or name == "iroa_csrf", header


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IROA_SESSION_COOKIE_SECURE", "true")
    assert Settings().session_cookie_secure is True
    monkeypatch.setenv("IROA_SESSION_COOKIE_SECURE", "false")
    assert Settings().session_cookie_secure is False
    monkeypatch.delenv("IROA_SESSION_COOKIE_SECURE")
    assert Settings().session_cookie_secure is None
