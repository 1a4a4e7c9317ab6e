"""An empty dashboard says what to do next (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.support import log_in
from tests.web.test_pages import Web, start


@pytest.fixture
def empty_web(db_url: str, tmp_path: Path) -> Iterator[Web]:
    yield from start(db_url, tmp_path, estate=False)


def test_empty_estate_says_what_to_do(empty_web: Web) -> None:
    log_in(empty_web.client, "admin")
    assert "Add one on the Integrations page" in empty_web.client.get("/").text
    vms = empty_web.client.get("/vms").text
    assert "No virtual machines yet" in vms and "Add an integration and sync it" in vms
    assert "No integrations yet" in empty_web.client.get("/integrations").text


def test_a_viewer_is_told_who_adds_integrations(empty_web: Web) -> None:
    log_in(empty_web.client, "viewer")
    assert "An admin adds one" in empty_web.client.get("/").text
    assert "Add an integration" not in empty_web.client.get("/integrations").text
