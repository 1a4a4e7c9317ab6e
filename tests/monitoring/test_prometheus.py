"""Prometheus end to end: real Prometheus → connector → monitoring sync → tables (both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from iroa.connectors.base import CannotConnectError, UnexpectedResponseError
from iroa.connectors.registry import create_monitoring_connector
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import (
    IntegrationInput,
    add_integration,
    connection_options,
    get_integration_by_id,
)
from iroa.monitoring.models import MetricValue
from iroa.monitoring.queries import coverage, object_monitoring, objects_without_metrics
from iroa.sync.engine import run_sync
from iroa.sync.models import SyncRun
from tests.monitoring.estate import (
    HOSTNAME_VM,
    HOSTNAME_VM_FQDN,
    IP_VM,
    IP_VM_ADDRESS,
    LONELY_VM,
    MEASURED_HOST,
    NAMED_VM,
    Estate,
    build_estate,
    inventory_fingerprint,
)
from tests.peers.prometheus import PASSWORD, USERNAME, PrometheusPeer, free_port

SERIES = [
    {"name": "test_vm_cpu", "labels": {"vm": NAMED_VM}, "value": 12.5},
    {"name": "test_vm_mem", "labels": {"vm": NAMED_VM}, "value": 40},
    {"name": "test_vm_cpu", "labels": {"vm": "ghost-vm"}, "value": 99},
    {"name": "test_vm_cpu", "labels": {"vm": MEASURED_HOST}, "value": 55},
    {"name": "test_node_cpu", "labels": {"instance": f"{IP_VM_ADDRESS}:9100"}, "value": 70},
    {"name": "test_node_cpu", "labels": {"instance": f"{HOSTNAME_VM_FQDN}:9100"}, "value": 33},
    {"name": "test_node_net", "labels": {"instance": f"{IP_VM_ADDRESS}:9100"}, "value": 2048},
]


def add_prometheus(
    db: Database,
    box: SecretBox,
    prometheus: PrometheusPeer,
    name: str,
    monitoring: dict[str, Any],
    *,
    url: str | None = None,
    password: str = PASSWORD,
) -> int:
    data = IntegrationInput(
        "prometheus",
        name,
        url or prometheus.url,
        username=USERNAME,
        password=password,
        monitoring=monitoring,
    )
    return add_integration(db, box, data).id


def sync(db: Database, box: SecretBox, integration_id: int) -> Any:
    integration = get_integration_by_id(db, integration_id)
    connector = create_monitoring_connector("prometheus", connection_options(integration, box))
    return run_sync(db, integration_id, connector)


BY_NAME = {
    "label": "vm",
    "join": "name",
    "queries": {"cpu_pct": "test_vm_cpu", "memory_pct": "test_vm_mem"},
    "history_hours": 1,
    "history_step_s": 60,
}
BY_ADDRESS = {
    "label": "instance",
    "join": "ip",
    "queries": {"cpu_pct": "test_node_cpu", "net_bytes_per_s": "test_node_net"},
}


@pytest.fixture
def estate(db: Database, box: SecretBox, vcsim: Any, prometheus: PrometheusPeer) -> Estate:
    prometheus.set_series(SERIES)
    return build_estate(db, box, vcsim)


def metric_rows(db: Database, integration_id: int) -> dict[tuple[str, int, str], MetricValue]:
    with db.session() as session:
        rows = session.scalars(
            select(MetricValue).where(MetricValue.integration_id == integration_id)
        ).all()
    return {(r.object_type, r.object_id, r.metric): r for r in rows}


def test_utilization_is_stored_for_vms_matched_by_name(
    db: Database, box: SecretBox, estate: Estate, prometheus: PrometheusPeer
) -> None:
    integration_id = add_prometheus(db, box, prometheus, "prom-names", BY_NAME)

    result = sync(db, box, integration_id)

    assert result.succeeded, result.error
    assert result.totals == {
        "series": 4,
        "vms_with_metrics": 1,
        "hosts_with_metrics": 1,
        "unmatched_series": 1,
    }
    rows = metric_rows(db, integration_id)
    vm_id = estate.vm_ids[NAMED_VM]
    host_id = estate.host_ids[MEASURED_HOST]
    assert set(rows) == {
        ("vm", vm_id, "cpu_pct"),
        ("vm", vm_id, "memory_pct"),
        ("host", host_id, "cpu_pct"),
    }
    assert rows[("host", host_id, "cpu_pct")].value == 55
    cpu = rows[("vm", vm_id, "cpu_pct")]
    assert cpu.value == 12.5
    assert cpu.sampled_at is not None
    assert cpu.history and cpu.history[-1][1] == 12.5
    assert len(cpu.history) <= 61
    with db.session() as session:
        detail = object_monitoring(session, "vm", vm_id)
        lonely = object_monitoring(session, "vm", estate.vm_ids[LONELY_VM])
    assert detail["has_metrics"] is True
    assert {m["metric"]: m["value"] for m in detail["metrics"]} == {
        "cpu_pct": 12.5,
        "memory_pct": 40.0,
    }
    assert lonely == {"has_metrics": False, "metrics": [], "zabbix_monitored": False, "zabbix": []}


def test_vms_are_matched_by_ip_and_hostname_with_the_port_stripped(
    db: Database, box: SecretBox, estate: Estate, prometheus: PrometheusPeer
) -> None:
    integration_id = add_prometheus(db, box, prometheus, "prom-nodes", BY_ADDRESS)

    result = sync(db, box, integration_id)

    assert result.succeeded, result.error
    rows = metric_rows(db, integration_id)
    ip_vm, host_vm = estate.vm_ids[IP_VM], estate.vm_ids[HOSTNAME_VM]
    assert rows[("vm", ip_vm, "cpu_pct")].value == 70
    assert rows[("vm", ip_vm, "cpu_pct")].series_key == IP_VM_ADDRESS
    assert rows[("vm", ip_vm, "net_bytes_per_s")].value == 2048
    assert rows[("vm", host_vm, "cpu_pct")].value == 33
    assert {(t, i) for t, i, _ in rows} == {("vm", ip_vm), ("vm", host_vm)}


def test_objects_without_series_are_listed_as_no_metrics(
    db: Database, box: SecretBox, estate: Estate, prometheus: PrometheusPeer
) -> None:
    for name, settings in (("prom-names", BY_NAME), ("prom-nodes", BY_ADDRESS)):
        assert sync(db, box, add_prometheus(db, box, prometheus, name, settings)).succeeded

    with db.session() as session:
        vms = [r["name"] for r in objects_without_metrics(session, "vm")]
        hosts = [r["name"] for r in objects_without_metrics(session, "host")]
        summary = coverage(session)

    assert vms == [LONELY_VM]
    assert sorted(hosts) == sorted(set(estate.host_ids) - {MEASURED_HOST})
    assert summary["vms"]["total"] == 4
    assert summary["vms"]["with_metrics"] == 3
    assert summary["vms"]["metrics_pct"] == 75.0
    assert summary["hosts"]["with_metrics"] == 1
    assert summary["hosts"]["metrics_pct"] == 50.0


def test_a_second_run_replaces_the_first(
    db: Database, box: SecretBox, estate: Estate, prometheus: PrometheusPeer
) -> None:
    integration_id = add_prometheus(db, box, prometheus, "prom-names", BY_NAME)
    assert sync(db, box, integration_id).succeeded
    prometheus.set_series([{"name": "test_vm_cpu", "labels": {"vm": LONELY_VM}, "value": 5}])
    try:
        assert sync(db, box, integration_id).succeeded
        rows = metric_rows(db, integration_id)
    finally:
        prometheus.set_series(SERIES)
    assert set(rows) == {("vm", estate.vm_ids[LONELY_VM], "cpu_pct")}


def test_wrong_password_fails_with_one_clear_line_and_keeps_everything(
    db: Database, box: SecretBox, estate: Estate, prometheus: PrometheusPeer
) -> None:
    integration_id = add_prometheus(db, box, prometheus, "prom", BY_NAME)
    assert sync(db, box, integration_id).succeeded
    before_inventory = inventory_fingerprint(db)
    before_metrics = {k: v.value for k, v in metric_rows(db, integration_id).items()}
    bad = add_prometheus(db, box, prometheus, "prom-bad", BY_NAME, password="wrong")

    result = sync(db, box, bad)

    assert result.status == "failed"
    assert result.error == f"{prometheus.url} rejected the credentials (HTTP 401)"
    assert "wrong" not in (result.error or "")
    assert inventory_fingerprint(db) == before_inventory
    assert {k: v.value for k, v in metric_rows(db, integration_id).items()} == before_metrics
    assert metric_rows(db, bad) == {}
    with db.session() as session:
        run = session.get_one(SyncRun, result.run_id)
    assert run.status == "failed" and run.finished_at is not None


def test_unreachable_server_and_wrong_url_give_clear_errors(
    db: Database, box: SecretBox, estate: Estate, prometheus: PrometheusPeer
) -> None:
    before = inventory_fingerprint(db)
    closed = f"http://127.0.0.1:{free_port()}"
    down = add_prometheus(db, box, prometheus, "prom-down", BY_NAME, url=closed)
    not_prometheus = add_prometheus(
        db,
        box,
        prometheus,
        "prom-exporter",
        BY_NAME,
        url=f"http://127.0.0.1:{prometheus.exporter_port}",
    )

    down_result = sync(db, box, down)
    other_result = sync(db, box, not_prometheus)

    assert down_result.status == "failed"
    assert (down_result.error or "").startswith(f"cannot connect to {closed}: ")
    assert other_result.status == "failed"
    assert "does not look like the Prometheus API" in (other_result.error or "")
    assert inventory_fingerprint(db) == before
    options = connection_options(get_integration_by_id(db, down), box)
    with pytest.raises(CannotConnectError):
        create_monitoring_connector("prometheus", options).check()
    options = connection_options(get_integration_by_id(db, not_prometheus), box)
    with pytest.raises(UnexpectedResponseError):
        create_monitoring_connector("prometheus", options).check()


def test_check_reports_the_prometheus_version(
    db: Database, box: SecretBox, prometheus: PrometheusPeer
) -> None:
    integration_id = add_prometheus(db, box, prometheus, "prom", BY_NAME)
    options = connection_options(get_integration_by_id(db, integration_id), box)

    info = create_monitoring_connector("prometheus", options).check()

    assert info.product == "Prometheus"
    assert info.version and info.version.startswith("2.")
