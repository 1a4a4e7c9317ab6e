"""Zabbix end to end: real Zabbix 6.0 → connector → monitoring sync → tables (both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from iroa.connectors.base import CannotConnectError, InvalidLoginError
from iroa.connectors.registry import create_monitoring_connector
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import (
    IntegrationInput,
    add_integration,
    connection_options,
    get_integration_by_id,
)
from iroa.monitoring.models import ZabbixHostRow, ZabbixLink
from iroa.monitoring.queries import (
    coverage,
    object_monitoring,
    objects_not_in_zabbix,
    unmatched_zabbix_hosts,
)
from iroa.sync.engine import run_sync
from tests.monitoring.estate import (
    HOSTNAME_VM,
    IP_VM,
    LONELY_VM,
    MEASURED_HOST,
    NAMED_VM,
    Estate,
    build_estate,
    inventory_fingerprint,
)
from tests.monitoring.fixtures import ORPHAN, PROBLEM_NAME, ZabbixEstate
from tests.peers.prometheus import PrometheusPeer, free_port
from tests.peers.zabbix import PASSWORD, USERNAME


@pytest.fixture
def estate(db: Database, box: SecretBox, vcsim: Any, zabbix_estate: ZabbixEstate) -> Estate:
    return build_estate(db, box, vcsim)


def add_zabbix(
    db: Database,
    box: SecretBox,
    url: str,
    name: str = "zbx",
    *,
    password: str = PASSWORD,
    username: str | None = USERNAME,
    token: bool = False,
    match: list[str] | None = None,
) -> int:
    data = IntegrationInput(
        "zabbix",
        name,
        url,
        username=username,
        password=password,
        token=token,
        monitoring={"match": match} if match else None,
    )
    return add_integration(db, box, data).id


def sync(db: Database, box: SecretBox, integration_id: int) -> Any:
    integration = get_integration_by_id(db, integration_id)
    connector = create_monitoring_connector("zabbix", connection_options(integration, box))
    return run_sync(db, integration_id, connector)


def test_vms_are_mapped_to_zabbix_hosts_with_problems_and_coverage(
    db: Database, box: SecretBox, estate: Estate, zabbix_estate: ZabbixEstate
) -> None:
    integration_id = add_zabbix(db, box, zabbix_estate.peer.url)

    result = sync(db, box, integration_id)

    assert result.succeeded, result.error
    assert result.totals == {
        "zabbix_hosts": 6,
        "vms_monitored": 3,
        "hosts_monitored": 1,
        "unmatched_zabbix_hosts": 2,
        "problems": 1,
    }
    with db.session() as session:
        named = object_monitoring(session, "vm", estate.vm_ids[NAMED_VM])
        by_dns = object_monitoring(session, "vm", estate.vm_ids[HOSTNAME_VM])
        by_ip = object_monitoring(session, "vm", estate.vm_ids[IP_VM])
        lonely = object_monitoring(session, "vm", estate.vm_ids[LONELY_VM])
        summary = coverage(session)
        unmatched = unmatched_zabbix_hosts(session)
        not_in_zabbix = objects_not_in_zabbix(session, "vm")
    assert named["zabbix_monitored"] is True
    [zhost] = named["zabbix"]
    assert zhost["host"] == NAMED_VM and zhost["matched_by"] == "host"
    assert zhost["zabbix_host_id"] == zabbix_estate.host_ids[NAMED_VM]
    assert zhost["url"].startswith(zabbix_estate.peer.url + "/zabbix.php?action=problem.view")
    assert zhost["availability"] in ("available", "unavailable", "unknown")
    [problem] = zhost["problems"]
    assert problem["name"] == PROBLEM_NAME
    assert (problem["severity"], problem["severity_name"]) == (4, "high")
    assert problem["started_at"] is not None
    assert [(z["host"], z["matched_by"]) for z in by_dns["zabbix"]] == [("zbx-web17", "dns")]
    assert by_dns["zabbix"][0]["problems"] == []
    assert [(z["host"], z["matched_by"]) for z in by_ip["zabbix"]] == [("by-address", "ip")]
    assert lonely["zabbix_monitored"] is False and lonely["zabbix"] == []
    assert summary["vms"] == {
        "total": 4,
        "zabbix_monitored": 3,
        "zabbix_pct": 75.0,
        "with_metrics": 0,
        "metrics_pct": 0.0,
    }
    assert summary["hosts"]["zabbix_monitored"] == 1
    assert summary["hosts"]["zabbix_pct"] == 50.0
    with db.session() as session:
        measured = object_monitoring(session, "host", estate.host_ids[MEASURED_HOST])
    assert [(z["host"], z["matched_by"]) for z in measured["zabbix"]] == [
        ("esx-by-visible-name", "name")
    ]
    assert sorted(h["host"] for h in unmatched) == sorted([ORPHAN, "Zabbix server"])
    assert [r["name"] for r in not_in_zabbix] == [LONELY_VM]


def test_the_match_order_decides_which_field_links(
    db: Database, box: SecretBox, estate: Estate, zabbix_estate: ZabbixEstate
) -> None:
    integration_id = add_zabbix(db, box, zabbix_estate.peer.url, match=["ip"])

    assert sync(db, box, integration_id).succeeded

    with db.session() as session:
        links = session.execute(
            select(ZabbixHostRow.host, ZabbixLink.matched_by, ZabbixLink.object_id).join(
                ZabbixLink, ZabbixLink.zabbix_host_row_id == ZabbixHostRow.id
            )
        ).all()
    assert [tuple(r) for r in links] == [("by-address", "ip", estate.vm_ids[IP_VM])]


def test_an_api_token_logs_in(
    db: Database, box: SecretBox, estate: Estate, zabbix_estate: ZabbixEstate
) -> None:
    integration_id = add_zabbix(
        db, box, zabbix_estate.peer.url, username=None, password=zabbix_estate.token, token=True
    )
    options = connection_options(get_integration_by_id(db, integration_id), box)

    info = create_monitoring_connector("zabbix", options).check()

    assert info.product == "Zabbix" and (info.version or "").startswith("6.0")
    assert info.object_counts == {"hosts": 6}
    assert sync(db, box, integration_id).succeeded


def test_wrong_password_fails_clearly_and_keeps_inventory_and_monitoring(
    db: Database, box: SecretBox, estate: Estate, zabbix_estate: ZabbixEstate
) -> None:
    good = add_zabbix(db, box, zabbix_estate.peer.url)
    assert sync(db, box, good).succeeded
    before = inventory_fingerprint(db)
    with db.session() as session:
        stored_before = session.execute(select(ZabbixHostRow.id, ZabbixHostRow.host)).all()
    bad = add_zabbix(db, box, zabbix_estate.peer.url, "zbx-bad", password="not-the-password")

    result = sync(db, box, bad)

    assert result.status == "failed"
    assert (result.error or "").startswith(f"Zabbix at {zabbix_estate.peer.url} rejected the login")
    assert "not-the-password" not in (result.error or "")
    assert "\n" not in (result.error or "")
    assert inventory_fingerprint(db) == before
    with db.session() as session:
        assert session.execute(select(ZabbixHostRow.id, ZabbixHostRow.host)).all() == stored_before
    options = connection_options(get_integration_by_id(db, bad), box)
    with pytest.raises(InvalidLoginError):
        create_monitoring_connector("zabbix", options).check()


def test_unreachable_zabbix_gives_a_clear_error(
    db: Database, box: SecretBox, estate: Estate, prometheus: PrometheusPeer
) -> None:
    before = inventory_fingerprint(db)
    url = f"http://127.0.0.1:{free_port()}"
    integration_id = add_zabbix(db, box, url)

    result = sync(db, box, integration_id)

    assert result.status == "failed"
    assert (result.error or "").startswith(f"cannot connect to Zabbix at {url}")
    assert inventory_fingerprint(db) == before
    options = connection_options(get_integration_by_id(db, integration_id), box)
    with pytest.raises(CannotConnectError):
        create_monitoring_connector("zabbix", options).check()
    not_zabbix = add_zabbix(db, box, prometheus.url, "not-zabbix")
    result = sync(db, box, not_zabbix)
    assert result.error == (
        f"{prometheus.url} does not look like the Zabbix API (HTTP 401 from api_jsonrpc.php)"
    )
    assert inventory_fingerprint(db) == before
