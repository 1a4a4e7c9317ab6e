"""Syncs started over the API run in the background and stream their progress as SSE."""

from __future__ import annotations

import json
import threading
from typing import Any

from iroa.connectors.base import Progress, Snapshot, SourceInfo
from iroa.db.locks import sync_lock
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from tests.api.fixtures import Api
from tests.peers.vcsim import Topology, VcsimServer

SMALL = Topology(datacenters=1, clusters=1, hosts_per_cluster=2, standalone_hosts=1, vms_per_host=3)


def add_vcenter(api: Api, server: VcsimServer) -> int:
    response = api.client.post(
        "/api/v1/integrations",
        json={
            "kind": "vcenter",
            "name": "sim",
            "url": server.url,
            "username": server.username,
            "password": server.password,
        },
        headers=api.headers("admin"),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def read_events(api: Api, run_id: int, role: str = "viewer") -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    name = None
    with api.client.stream(
        "GET", f"/api/v1/syncs/{run_id}/events", headers=api.headers(role)
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name or "message", json.loads(line.removeprefix("data: "))))
    return events


def test_sync_over_the_api_with_live_progress(api: Api, vcsim: Any) -> None:
    server = vcsim(SMALL)
    integration_id = add_vcenter(api, server)
    response = api.client.post(
        f"/api/v1/integrations/{integration_id}/sync", headers=api.headers("operator")
    )
    assert response.status_code == 202, response.text
    run = response.json()
    assert run["status"] == "running" and run["trigger"] == "api"

    events = read_events(api, run["id"])
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "result" and kinds.count("result") == 1
    result = events[-1][1]
    assert result["id"] == run["id"]
    assert result["status"] == "succeeded", result
    assert result["totals"]["vms"] == SMALL.vm_count
    progress = [data for kind, data in events if kind == "progress"]
    phases = [p["phase"] for p in progress]
    assert "connect" in phases and "apply vms" in phases
    assert any(p["phase"].startswith("collect") for p in progress)
    assert all(set(p) == {"phase", "done", "total"} for p in progress)
    assert all(p["total"] is None or 0 <= p["done"] <= p["total"] for p in progress)

    # The finished run, its listing, and the stream of a finished run (just the result).
    finished = api.client.get(f"/api/v1/syncs/{run['id']}", headers=api.headers("viewer")).json()
    assert (finished["status"], finished["added"]) == (result["status"], result["added"])
    listed = api.client.get("/api/v1/syncs", headers=api.headers("viewer")).json()
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    assert listed["items"][0]["status"] == "succeeded"
    assert [kind for kind, _ in read_events(api, run["id"])] == ["result"]

    vms = api.client.get(
        "/api/v1/vms", params={"integration": "sim", "limit": 1000}, headers=api.headers("viewer")
    )
    if vms.status_code == 200:
        assert vms.json()["total"] == SMALL.vm_count

    # A test of the connection answers with what the simulator is.
    check = api.client.post(
        f"/api/v1/integrations/{integration_id}/test", headers=api.headers("operator")
    ).json()
    assert check["ok"] is True and check["product"]

    audit = api.client.get(
        "/api/v1/audit", params={"action": "sync.start"}, headers=api.headers("admin")
    ).json()["items"]
    assert [(e["actor"], e["after"]) for e in audit] == [
        ("operator-user", {"run_id": run["id"], "force": False})
    ]


def test_one_sync_at_a_time_and_forcing_is_for_admins(api: Api) -> None:
    response = api.client.post(
        "/api/v1/integrations",
        json={"kind": "vcenter", "name": "unreachable", "url": "http://127.0.0.1:9"},
        headers=api.headers("admin"),
    )
    integration_id = response.json()["id"]
    url = f"/api/v1/integrations/{integration_id}/sync"
    with sync_lock(api.db, integration_id) as taken:
        assert taken
        response = api.client.post(url, headers=api.headers("operator"))
        assert response.status_code == 409
        assert "already running" in response.json()["detail"]

    response = api.client.post(url, json={"force": True}, headers=api.headers("operator"))
    assert response.status_code == 403
    response = api.client.post(url, json={"force": True}, headers=api.headers("admin"))
    assert response.status_code == 202
    run = response.json()
    assert run["forced"] is True
    result = read_events(api, run["id"])[-1]
    assert result[0] == "result" and result[1]["status"] == "failed"
    assert "127.0.0.1" in result[1]["error"]
    forced = api.client.get(
        "/api/v1/audit", params={"action": "sync.force"}, headers=api.headers("admin")
    ).json()["items"]
    assert [e["actor"] for e in forced] == ["admin-user"]
    viewer = api.headers("viewer")
    listed = api.client.get("/api/v1/syncs?integration=unreachable", headers=viewer).json()
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    assert api.client.get("/api/v1/syncs?integration=other", headers=viewer).json()["items"] == []
    assert api.client.get("/api/v1/syncs?integration=a%00b", headers=viewer).status_code == 422
    assert api.client.get("/api/v1/syncs?cursor=abc", headers=viewer).status_code == 422
    assert (
        api.client.post("/api/v1/integrations/999/sync", headers=api.headers("admin")).status_code
        == 404
    )


class WaitingConnector:
    """Collects an empty estate once it is told to go on."""

    kind = "vcenter"

    def __init__(self) -> None:
        self.go = threading.Event()

    def check(self) -> SourceInfo:
        return SourceInfo("waiting", "Waiting")

    def collect(self, progress: Progress) -> Snapshot:
        assert self.go.wait(30)
        return Snapshot(SourceInfo("waiting", "Waiting"))


def test_a_run_started_elsewhere_is_followed_to_its_end(api: Api) -> None:
    integration = add_integration(
        api.db,
        api.app.state.runtime.box,
        IntegrationInput("vcenter", "cli-run", "https://x.example.com"),
    )
    connector = WaitingConnector()
    started = threading.Event()
    run_ids: list[int] = []

    def on_start(run_id: int) -> None:
        run_ids.append(run_id)
        started.set()

    worker = threading.Thread(
        target=run_sync, args=(api.db, integration.id, connector), kwargs={"on_start": on_start}
    )
    worker.start()
    try:
        assert started.wait(30)
        threading.Timer(0.3, connector.go.set).start()
        events = read_events(api, run_ids[0])
    finally:
        connector.go.set()
        worker.join(30)
    assert [kind for kind, _ in events] == ["result"]
    assert events[0][1]["status"] == "succeeded"
