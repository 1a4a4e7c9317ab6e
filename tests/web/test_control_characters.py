"""NUL and other control characters typed into the dashboard's forms are refused as the API
refuses them: a form error, nothing saved (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from iroa.integrations import service
from tests.api.fixtures import PASSWORD
from tests.web.support import Web, csrf_of, log_in, start

HOSTILE = ["vc\x00one", "vc\x1b[2Jone", "vc\x7fone", "vc\x85one"]


@pytest.fixture
def web(db_url: str, tmp_path: Path) -> Iterator[Web]:
    yield from start(db_url, tmp_path, estate=True)


@pytest.mark.parametrize("name", HOSTILE)
def test_the_add_form_refuses_control_characters_in_a_name(web: Web, name: str) -> None:
    csrf = log_in(web.client, "admin")
    before = [i.name for i in service.list_integrations(web.db)]
    response = web.client.post(
        "/integrations",
        data={"csrf_token": csrf, "kind": "vcenter", "name": name, "url": "https://vc9.example"},
    )
    assert response.status_code == 422
    assert "the name must" in response.text
    assert [i.name for i in service.list_integrations(web.db)] == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "vc\x00one"),
        ("name", "vc\x1bone"),
        ("username", "ad\x00min"),
        ("ca_file", "/c\x1b"),
    ],
)
def test_the_edit_form_refuses_control_characters_and_saves_nothing(
    web: Web, field: str, value: str
) -> None:
    assert web.ids is not None
    csrf = log_in(web.client, "admin")
    integration_id = web.ids.vcenter_id
    before = service.integration_view(web.db, integration_id)
    data = {"csrf_token": csrf, "name": before["name"], "url": before["url"], field: value}
    response = web.client.post(f"/integrations/{integration_id}/edit", data=data)
    assert response.status_code == 422
    assert "must not contain" in response.text
    assert service.integration_view(web.db, integration_id) == before


@pytest.mark.parametrize("field", ["username", "password"])
def test_the_login_form_refuses_a_nul_as_a_form_error(web: Web, field: str) -> None:
    csrf = csrf_of(web.client.get("/login").text)
    data = {"csrf_token": csrf, "username": "admin-user", "password": PASSWORD, "next": "/"}
    data[field] += "\x00"
    response = web.client.post("/login", data=data)
    assert response.status_code == 422
    assert f"The {field} must not contain NUL characters" in response.text
    assert "iroa_session" not in response.cookies
