"""A dashboard session ends after IROA_SESSION_IDLE_MINUTES without activity (a frozen clock
moves time; nothing sleeps), and activity keeps it alive."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.fixtures import FrozenClock
from tests.web.support import Web, log_in, start


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def idle_web(db_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[Web]:
    yield from start(db_url, tmp_path, estate=False, clock=clock, session_idle_minutes=20)


def test_an_idle_session_sends_to_login_with_a_clear_message(
    idle_web: Web, clock: FrozenClock
) -> None:
    client = idle_web.client
    log_in(client, "viewer")
    clock.advance(minutes=19)
    assert client.get("/vms").status_code == 200  # activity: the idle time starts again
    clock.advance(minutes=19)
    assert client.get("/hosts").status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 200
    clock.advance(minutes=20)
    response = client.get("/hosts?q=esx")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/hosts%3Fq%3Desx&reason=idle"
    assert client.get("/api/v1/auth/me").status_code == 401  # the API session is the same
    login = client.get(response.headers["location"])
    assert login.status_code == 200  # no redirect loop back to the page
    assert "Your session ended after 20 minutes without activity" in login.text
    log_in(client, "viewer")
    assert client.get("/hosts").status_code == 200


def test_the_absolute_lifetime_still_holds_and_other_reasons_are_not_echoed(
    idle_web: Web, clock: FrozenClock
) -> None:
    client = idle_web.client
    log_in(client, "viewer")
    for _ in range(37):  # 12 hours of activity every 19.5 minutes
        clock.advance(minutes=19.5)
        if client.get("/").status_code != 200:
            break
    response = client.get("/")
    assert response.headers["location"] == "/login?next=/&reason=expired"
    assert "limit of 12 hours" in client.get(response.headers["location"]).text
    forged = client.get("/login?reason=<script>").text
    assert "<script>" not in forged and "Your session" not in forged


def test_a_page_without_any_session_gives_no_reason(idle_web: Web) -> None:
    response = idle_web.client.get("/vms")
    assert response.headers["location"] == "/login?next=/vms"
