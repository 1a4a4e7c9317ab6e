"""Zabbix hosts shaped once per session through the real Zabbix API, for the monitoring tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from zabbix_utils import Sender, ZabbixAPI

from tests.monitoring.estate import HOSTNAME_VM_FQDN, IP_VM_ADDRESS, MEASURED_HOST, NAMED_VM
from tests.peers.zabbix import PASSWORD, USERNAME, ZabbixPeer

PROBLEM_NAME = "IROA test: disk almost full"
ORPHAN = "orphan-box"
"""A Zabbix host no inventory object matches."""


@dataclass
class ZabbixEstate:
    peer: ZabbixPeer
    host_ids: dict[str, str]
    token: str


def _interface(ip: str = "192.0.2.1", dns: str = "", useip: int = 1) -> dict[str, object]:
    return {"type": 1, "main": 1, "useip": useip, "ip": ip, "dns": dns, "port": "10050"}


@pytest.fixture(scope="session")
def zabbix_estate(zabbix: ZabbixPeer) -> Iterator[ZabbixEstate]:
    """Hosts for some simulator VMs (by name, DNS, IP), an orphan, and one active problem."""
    api = ZabbixAPI(url=zabbix.url)
    api.login(user=USERNAME, password=PASSWORD)
    # The stock "Zabbix server" host watches an agent nobody runs here: about three minutes
    # into a session its trigger would raise a problem of its own. Disabled, it stays a host
    # (an unmatched one) and raises nothing.
    for host in api.host.get(filter={"host": "Zabbix server"}, output=["hostid"]):
        api.host.update(hostid=host["hostid"], status=1)
    group_id = api.hostgroup.create(name="IROA tests")["groupids"][0]
    groups = [{"groupid": group_id}]
    specs = {
        NAMED_VM: {"name": "Named VM", "interfaces": [_interface("192.0.2.10")]},
        "zbx-web17": {
            "name": "Web seventeen",
            "interfaces": [_interface("192.0.2.17", HOSTNAME_VM_FQDN, useip=0)],
        },
        "by-address": {"name": "By address", "interfaces": [_interface(IP_VM_ADDRESS)]},
        ORPHAN: {"name": "Orphan box", "interfaces": [_interface("192.0.2.99")]},
        "esx-by-visible-name": {"name": MEASURED_HOST, "interfaces": [_interface("192.0.2.50")]},
    }
    host_ids = {
        host: api.host.create(host=host, groups=groups, **spec)["hostids"][0]
        for host, spec in specs.items()
    }
    api.item.create(
        hostid=host_ids[NAMED_VM], name="IROA test", key_="iroa.test", type=2, value_type=3
    )
    api.trigger.create(
        description=PROBLEM_NAME, expression=f"last(/{NAMED_VM}/iroa.test)>0", priority=4
    )
    _raise_problem(api, zabbix)
    result = api.token.create(name="iroa-tests", userid=_admin_id(api))
    token = api.token.generate(result["tokenids"][0])[0]["token"]
    api.logout()
    yield ZabbixEstate(zabbix, host_ids, token)


def _admin_id(api: ZabbixAPI) -> str:
    users = api.user.get(filter={"username": USERNAME}, output=["userid"])
    return str(users[0]["userid"])


def _raise_problem(api: ZabbixAPI, zabbix: ZabbixPeer, timeout_s: float = 60.0) -> None:
    """Send a value through the trapper until the server knows the item, then await the problem."""
    sender = Sender(server="127.0.0.1", port=zabbix.trapper_port)
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if sender.send_value(NAMED_VM, "iroa.test", 1).processed:
            break
        time.sleep(0.5)
    else:
        raise TimeoutError("zabbix_server never accepted the trapper value")
    while time.time() < deadline:
        if api.problem.get(output=["name"], search={"name": PROBLEM_NAME}):
            return
        time.sleep(0.5)
    raise TimeoutError("the trapper value raised no problem in time")
