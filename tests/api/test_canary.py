"""A canary password given to an integration shows up nowhere but encrypted in its row.

Not in any response, not in any log line at DEBUG, not in the audit log, not in
any table, and not in the bytes of the SQLite file or its write-ahead log.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from iroa.models import Base
from tests.api.fixtures import Api
from tests.api.test_sync_api import read_events
from tests.peers.vcsim import Topology

CANARY = "Canary-7f3c9e1d-Pa55"
TOPOLOGY = Topology(datacenters=1, clusters=1, hosts_per_cluster=1, standalone_hosts=0)


def test_canary_password_never_leaks(
    api: Api, vcsim: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = vcsim(TOPOLOGY, password=CANARY)
    admin, operator = api.headers("admin"), api.headers("operator")
    texts: list[str] = []

    def call(method: str, url: str, headers: dict[str, str], **kw: Any) -> Any:
        response = api.client.request(method, url, headers=headers, **kw)
        texts.append(response.text)
        texts.append(str(response.headers))
        return response

    body = {"kind": "vcenter", "name": "canary", "url": server.url, "username": server.username}
    invalid = [
        body | {"password": CANARY, "url": "nope"},
        body | {"password": CANARY, "interval_seconds": 1},
        body | {"password": CANARY * 300},
        body | {"password": CANARY, "kind": CANARY},
    ]
    for bad in invalid:
        assert call("POST", "/api/v1/integrations", admin, json=bad).status_code == 422
    created = call("POST", "/api/v1/integrations", admin, json=body | {"password": CANARY}).json()
    url = f"/api/v1/integrations/{created['id']}"
    call("GET", "/api/v1/integrations", admin)
    call("GET", url, api.headers("viewer"))
    call("PATCH", url, admin, json={"interval_seconds": 3600})
    call("PATCH", url, admin, json={"password": CANARY})
    assert call("POST", f"{url}/test", operator).json()["ok"] is True
    run = call("POST", f"{url}/sync", operator).json()
    events = read_events(api, run["id"])
    texts.append(str(events))
    assert events[-1][1]["status"] == "succeeded"
    call("GET", f"/api/v1/syncs/{run['id']}", operator)
    call("GET", "/api/v1/syncs", operator)
    call("GET", "/api/v1/audit", admin)
    call("GET", "/metrics", admin)
    call("GET", "/api/v1/vms", admin)

    # A wrong password is reported without echoing what was sent.
    call("PATCH", url, admin, json={"password": CANARY + "-wrong"})
    failed = call("POST", f"{url}/test", operator).json()
    assert failed["ok"] is False and failed["error"]

    assert [t for t in texts if CANARY in t] == []
    logged = [r.getMessage() for r in caplog.records] + [caplog.text]
    assert len(caplog.records) > 0
    assert [line for line in logged if CANARY in line] == []

    with api.db.session() as session:
        for table in Base.metadata.sorted_tables:
            rows = session.execute(select(table)).all()
            assert CANARY not in str(rows), f"{table.name} holds the canary"

    if api.db.is_sqlite:
        database = Path(api.db.engine.url.database or "")
        files = [p for p in (database, Path(f"{database}-wal")) if p.exists()]
        assert database in files
        for path in files:
            raw = path.read_bytes()
            for encoding in ("utf-8", "utf-16-le"):
                assert CANARY.encode(encoding) not in raw, f"{path.name} holds the canary"
