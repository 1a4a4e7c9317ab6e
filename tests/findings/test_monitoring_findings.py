"""The monitoring rules against real Zabbix and Prometheus peers, on both backends.

A vCenter estate (real simulator) is synced; Zabbix knows some of its VMs and
hosts, one with a problem raised through the trapper; Prometheus has series for
some VMs. Findings follow each monitoring run and resolve when the condition ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from zabbix_utils import Sender, ZabbixAPI

from iroa.config import get_settings
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.findings.models import Finding
from iroa.findings.monitoring_rules import zabbix_finding_severity
from iroa.findings.rules import Thresholds
from iroa.findings.service import refresh_findings
from iroa.integrations.models import Integration
from tests.monitoring.estate import (
    HOSTNAME_VM,
    IP_VM,
    LONELY_VM,
    MEASURED_HOST,
    NAMED_VM,
    Estate,
    build_estate,
)
from tests.monitoring.fixtures import PROBLEM_NAME, ZabbixEstate, _raise_problem
from tests.monitoring.test_prometheus import BY_NAME, SERIES, add_prometheus
from tests.monitoring.test_prometheus import sync as sync_prometheus
from tests.monitoring.test_zabbix import add_zabbix
from tests.monitoring.test_zabbix import sync as sync_zabbix
from tests.peers.prometheus import PrometheusPeer
from tests.peers.zabbix import PASSWORD, USERNAME

MONITORING_RULES = {
    "vm_not_in_zabbix",
    "vm_zabbix_problems",
    "vm_without_prometheus_metrics",
    "host_not_in_zabbix",
    "host_zabbix_problems",
}


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def monitoring_findings(
    db: Database, integration_id: int, *, open_only: bool = True
) -> set[tuple[str, str | None, str]]:
    stmt = select(Finding.rule, Finding.object_name, Finding.severity).where(
        Finding.integration_id == integration_id, Finding.rule.in_(MONITORING_RULES)
    )
    if open_only:
        stmt = stmt.where(Finding.resolved_at.is_(None))
    with db.session() as session:
        return {tuple(row) for row in session.execute(stmt)}  # type: ignore[misc]


def message_of(db: Database, rule: str, name: str) -> str:
    with db.session() as session:
        return session.execute(
            select(Finding.message).where(
                Finding.rule == rule, Finding.object_name == name, Finding.resolved_at.is_(None)
            )
        ).scalar_one()


def _resolve_problem(zabbix_estate: ZabbixEstate, timeout_s: float = 60.0) -> ZabbixAPI:
    api = ZabbixAPI(url=zabbix_estate.peer.url)
    api.login(user=USERNAME, password=PASSWORD)
    sender = Sender(server="127.0.0.1", port=zabbix_estate.peer.trapper_port)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if sender.send_value(NAMED_VM, "iroa.test", 0).processed:
            break
        time.sleep(0.5)
    while time.time() < deadline:
        if not api.problem.get(output=["name"], search={"name": PROBLEM_NAME}):
            return api
        time.sleep(0.5)
    raise TimeoutError("the problem did not resolve in time")


def test_zabbix_findings_follow_monitoring_runs(
    db: Database, box: SecretBox, vcsim: Any, zabbix_estate: ZabbixEstate
) -> None:
    estate: Estate = build_estate(db, box, vcsim)
    vc = estate.integration_id
    assert monitoring_findings(db, vc) == set(), "no Zabbix integration: no Zabbix findings"

    zbx = add_zabbix(db, box, zabbix_estate.peer.url)
    assert monitoring_findings(db, vc) == set(), "not synced yet: still none"
    assert sync_zabbix(db, box, zbx).succeeded

    unmonitored_hosts = {
        ("host_not_in_zabbix", name, "warning") for name in estate.host_ids if name != MEASURED_HOST
    }
    assert monitoring_findings(db, vc) == {
        ("vm_not_in_zabbix", LONELY_VM, "warning"),
        ("vm_zabbix_problems", NAMED_VM, "critical"),  # Zabbix "high"
        *unmonitored_hosts,
    }
    message = message_of(db, "vm_zabbix_problems", NAMED_VM)
    assert message.startswith(f"an active Zabbix problem, the worst high: {PROBLEM_NAME} since ")

    api = _resolve_problem(zabbix_estate)
    try:
        assert sync_zabbix(db, box, zbx).succeeded
        assert ("vm_zabbix_problems", NAMED_VM, "critical") not in monitoring_findings(db, vc)
        assert ("vm_zabbix_problems", NAMED_VM, "critical") in monitoring_findings(
            db, vc, open_only=False
        ), "resolved, kept as history"
    finally:
        _raise_problem(api, zabbix_estate.peer)
        api.logout()
    assert sync_zabbix(db, box, zbx).succeeded
    assert ("vm_zabbix_problems", NAMED_VM, "critical") in monitoring_findings(db, vc)

    with db.write_session() as session:
        session.execute(update(Integration).where(Integration.id == zbx).values(enabled=False))
    refresh_findings(db, vc, Thresholds())
    assert monitoring_findings(db, vc) == set(), "a disabled Zabbix integration claims nothing"


def test_prometheus_findings_follow_monitoring_runs(
    db: Database, box: SecretBox, vcsim: Any, prometheus: PrometheusPeer
) -> None:
    prometheus.set_series(SERIES)
    estate = build_estate(db, box, vcsim)
    vc = estate.integration_id
    prom = add_prometheus(db, box, prometheus, "prom", BY_NAME)
    assert monitoring_findings(db, vc) == set()

    assert sync_prometheus(db, box, prom).succeeded

    assert monitoring_findings(db, vc) == {
        ("vm_without_prometheus_metrics", name, "warning")
        for name in (IP_VM, HOSTNAME_VM, LONELY_VM)
    }
    every_vm = [
        {"name": "test_vm_cpu", "labels": {"vm": name}, "value": 10}
        for name in (NAMED_VM, IP_VM, HOSTNAME_VM, LONELY_VM)
    ]
    prometheus.set_series(every_vm)
    try:
        assert sync_prometheus(db, box, prom).succeeded
    finally:
        prometheus.set_series(SERIES)
    assert monitoring_findings(db, vc) == set()
    assert len(monitoring_findings(db, vc, open_only=False)) == 3


@pytest.mark.parametrize(
    ("zabbix", "finding"),
    [(0, "info"), (1, "info"), (2, "warning"), (3, "warning"), (4, "critical"), (5, "critical")],
)
def test_zabbix_severities_map_to_finding_severities(zabbix: int, finding: str) -> None:
    assert zabbix_finding_severity(zabbix) == finding
