"""CSV downloads stream from one read transaction, and a client that goes away ends it.

A real uvicorn server on PostgreSQL: the client reads a few KB of a large CSV
and closes the connection; the export's transaction must then be gone from
``pg_stat_activity`` (its connection back in the pool, idle), not left open
until the generator is garbage-collected.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from iroa.audit.service import CLI_ACTOR
from iroa.auth.tokens import create_token
from iroa.auth.users import create_user
from iroa.config import Settings
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.server import create_app
from iroa.sync.engine import run_sync
from tests.api.test_concurrent_readers import large_snapshot
from tests.inventory.history_estate import StaticConnector

# Backends of this database other than the checker's own that hold a transaction.
IN_TRANSACTION = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
)


@pytest.fixture
def served(settings: Settings, db: Database, box: SecretBox) -> Iterator[tuple[str, str]]:
    """The app under uvicorn on a synced estate of 2,000 large VMs; its URL and a token."""
    user = create_user(db, CLI_ACTOR, "ops", "operator", "a long passphrase")
    token = create_token(db, CLI_ACTOR, user.id, "stream").secret
    integration = add_integration(db, box, IntegrationInput("vcenter", "big", "https://big"))
    snapshot = large_snapshot()
    # 8 KB of notes per VM: 16 MB of CSV, more than the sockets buffer, so the server
    # is still reading when the client goes.
    vms = [dataclasses.replace(vm, notes="n" * 8192) for vm in snapshot.vms]
    snapshot = dataclasses.replace(snapshot, vms=vms)
    assert run_sync(db, integration.id, StaticConnector(snapshot)).succeeded
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            # No scheduler or watchers: nothing but the downloads under test runs in it.
            create_app(settings.model_copy(update={"scheduler": False})),
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.should_exit = True
        thread.join(10)


def in_transaction(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(IN_TRANSACTION).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("path", ["/api/v1/export/vms.csv", "/api/v1/export/vInfo.csv"])
def test_a_client_that_goes_away_ends_the_export_transaction(
    served: tuple[str, str], db_url: str, path: str
) -> None:
    base_url, token = served
    headers = {"Authorization": f"Bearer {token}"}
    # Repeat the download a few times: each must give its transaction back.
    for _ in range(3):
        client = httpx.Client(base_url=base_url, headers=headers, timeout=30)
        with client, client.stream("GET", path) as response:
            assert response.status_code == 200
            assert response.headers["content-disposition"].startswith("attachment;")
            received = b""
            for chunk in response.iter_bytes():
                received += chunk
                if len(received) >= 4096:
                    break
            assert received.startswith((b"id,", b"VM,"))
            # The server is held back by the unread response: its transaction is open.
            assert in_transaction(db_url) == 1
        deadline = time.monotonic() + 10
        while (count := in_transaction(db_url)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert count == 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_errors_answer_before_streaming(served: tuple[str, str]) -> None:
    base_url, token = served
    headers = {"Authorization": f"Bearer {token}"}
    # A loaded CI machine has stalled a 16 MB download past httpx's default 5 s.
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        missing = client.get("/api/v1/export/vms.csv", params={"integration": "nope"})
        assert missing.status_code == 404 and "nope" in missing.json()["detail"]
        bad = client.get("/api/v1/export/vInfo.csv", params={"as_of": "yesterday"})
        assert bad.status_code == 422 and "detail" in bad.json()
        whole = client.get("/api/v1/export/vms.csv")
        assert whole.status_code == 200 and whole.text.count("\r\n") == 2_001
