"""``/metrics``: sync results and durations, object counts and HTTP latency, from the database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from iroa.config import Settings
from iroa.connectors.base import (
    DatacenterRecord,
    HostRecord,
    Progress,
    Snapshot,
    SourceInfo,
    VmRecord,
)
from iroa.db.base import utcnow
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.integrations.watchers import record_watch_state, this_process
from iroa.server import create_app
from iroa.sync.engine import run_sync
from iroa.vocabulary import WatchState
from tests.api.fixtures import Api


class TinyConnector:
    kind = "vcenter"

    def check(self) -> SourceInfo:
        return SourceInfo("tiny", "Tiny")

    def collect(self, progress: Progress) -> Snapshot:
        return Snapshot(
            SourceInfo("tiny", "Tiny"),
            datacenters=[DatacenterRecord("dc", "DC")],
            hosts=[HostRecord("h1", "esx1", "dc")],
            vms=[VmRecord(f"vm-{i}", f"vm{i}", "dc", None, "h1", "on") for i in range(3)],
        )


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_report_syncs_objects_and_latency(api: Api) -> None:
    integration = add_integration(
        api.db,
        api.app.state.runtime.box,
        IntegrationInput("vcenter", "tiny", "https://tiny.example.com"),
    )
    assert run_sync(api.db, integration.id, TinyConnector()).succeeded
    api.client.get("/api/v1/integrations", headers=api.headers("viewer"))
    response = api.client.get("/metrics", headers=api.headers("viewer"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    tiny = ("integration", "tiny")
    assert found[("iroa_sync_runs_total", frozenset({tiny, ("status", "succeeded")}))] == 1
    assert found[("iroa_inventory_objects", frozenset({tiny, ("type", "vms")}))] == 3
    assert found[("iroa_inventory_objects", frozenset({tiny, ("type", "hosts")}))] == 1
    assert ("iroa_sync_last_duration_seconds", frozenset({tiny, ("status", "succeeded")})) in found
    assert ("iroa_sync_last_success_timestamp_seconds", frozenset({tiny})) in found
    route = frozenset({("method", "GET"), ("route", "/api/v1/integrations"), ("status", "200")})
    assert found[("iroa_http_request_duration_seconds_count", route)] >= 1


@pytest.fixture
def public_metrics_client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path / "data", metrics_public=True)
    with TestClient(create_app(settings)) as client:
        yield client


def test_metrics_can_be_made_public(public_metrics_client: TestClient) -> None:
    assert public_metrics_client.get("/metrics").status_code == 200
    assert public_metrics_client.get("/api/v1/integrations").status_code == 401


def test_metrics_report_each_watcher(api: Api) -> None:
    integration = add_integration(
        api.db, api.app.state.runtime.box, IntegrationInput("vcenter", "vc", "https://vc.example")
    )
    record_watch_state(
        api.db,
        integration.id,
        WatchState.LIVE,
        utcnow(),
        None,
        utcnow(),
        this_process(),
        last_delay_s=0.25,
        updates=7,
    )
    found = samples(api.client.get("/metrics", headers=api.headers("viewer")).text)
    labels = {("integration", "vc")}
    assert found[("iroa_watch_state", frozenset(labels | {("state", "live")}))] == 1
    assert found[("iroa_watch_state", frozenset(labels | {("state", "failed")}))] == 0
    assert found[("iroa_watch_updates_total", frozenset(labels))] == 7
    assert found[("iroa_watch_last_delay_seconds", frozenset(labels))] == 0.25


def test_clients_cannot_add_label_values(public_metrics_client: TestClient) -> None:
    """Methods outside a fixed set count as ``other``, paths outside the routes as ``unmatched``."""
    client = public_metrics_client
    for method in ("BREW", "PROPFIND", "X-MADE-UP-1", "X-MADE-UP-2"):
        client.request(method, "/api/v1/integrations")
    for n in range(3):
        client.get(f"/no/such/page/{n}")
    found = samples(client.get("/metrics").text)
    labels = {
        (dict(key)["method"], dict(key)["route"])
        for name, key in found
        if name == "iroa_http_request_duration_seconds_count"
    }
    methods = {method for method, _ in labels}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert ("other", "/api/v1/integrations") in labels
    assert ("GET", "unmatched") in labels
    assert not any(route.startswith("/no/") for _, route in labels)
