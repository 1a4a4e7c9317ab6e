"""Pure logic: matching monitoring records to inventory objects, and settings validation."""

from __future__ import annotations

import pytest

from iroa.connectors.monitoring import ZabbixHost, strip_port
from iroa.integrations.monitoring import (
    PRESETS,
    MonitoringSettingsError,
    resolve_settings,
    validate_settings,
)
from iroa.monitoring.matching import InventoryObject, ObjectIndex

OBJECTS = [
    InventoryObject("vm", 1, "web01", "web01.example.com", ("10.0.0.1", "fe80::1"), "UUID-A"),
    InventoryObject("vm", 2, "DB-Server", None, ("10.0.0.2",), None),
    InventoryObject("host", 3, "esx1.example.com"),
    InventoryObject("host", 4, "192.168.1.10"),
]
INDEX = ObjectIndex.of(OBJECTS)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("10.0.0.1:9100", "10.0.0.1"),
        ("[fe80::1]:9100", "fe80::1"),
        ("fe80::1", "fe80::1"),
        ("host.example.com:443", "host.example.com"),
        ("plain", "plain"),
    ],
)
def test_strip_port(address: str, expected: str) -> None:
    assert strip_port(address) == expected


@pytest.mark.parametrize(
    ("join", "value", "expected"),
    [
        ("name", "WEB01", [("vm", 1)]),
        ("name", "web01.other.org", [("vm", 1)]),
        ("name", "db-server", [("vm", 2)]),
        ("name", "esx1", [("host", 3)]),
        ("hostname", "web01.example.com", [("vm", 1)]),
        ("ip", "10.0.0.2", [("vm", 2)]),
        ("ip", "fe80::1", [("vm", 1)]),
        ("ip", "192.168.1.10", [("host", 4)]),
        ("ip", "10.0.0.99", []),
        ("uuid", "uuid-a", [("vm", 1)]),
        ("uuid", "web01", []),
        ("name", "10", []),
    ],
)
def test_prometheus_join_values_find_objects(
    join: str, value: str, expected: list[tuple[str, int]]
) -> None:
    assert INDEX.find(join, value) == expected


def zhost(
    host: str, name: str | None = None, dns: tuple[str, ...] = (), ips: tuple[str, ...] = ()
) -> ZabbixHost:
    return ZabbixHost("1", host, name or host, True, "unknown", "u", dns, ips)


def test_zabbix_hosts_match_in_the_configured_order() -> None:
    both = zhost("unrelated", name="web01", ips=("10.0.0.2",))
    assert INDEX.match_zabbix(both, ["host", "name", "dns", "ip"]) == ("name", [("vm", 1)])
    assert INDEX.match_zabbix(both, ["ip", "name"]) == ("ip", [("vm", 2)])
    assert INDEX.match_zabbix(zhost("x", dns=("esx1.example.com",)), ["dns"]) == (
        "dns",
        [("host", 3)],
    )
    assert INDEX.match_zabbix(zhost("nothing", ips=("1.2.3.4",)), ["host", "ip"]) is None
    assert INDEX.match_zabbix(zhost("web01"), ["name"]) == ("name", [("vm", 1)])
    assert INDEX.match_zabbix(zhost("web01"), ["ip"]) is None


def test_presets_expand_and_queries_override() -> None:
    assert resolve_settings("prometheus", {})["queries"] == PRESETS["node_exporter"]["queries"]
    vmware = resolve_settings("prometheus", {"preset": "vmware_exporter"})
    assert (vmware["label"], vmware["join"]) == ("vm_name", "name")
    custom = resolve_settings("prometheus", {"queries": {"cpu_pct": "x"}})
    assert custom["queries"] == {"cpu_pct": "x"}
    merged = resolve_settings(
        "prometheus", {"preset": "windows_exporter", "queries": {"cpu_pct": "x"}}
    )
    assert merged["queries"]["cpu_pct"] == "x" and len(merged["queries"]) == 4
    assert resolve_settings("zabbix", {}) == {"match": ["host", "name", "dns", "ip"]}


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("prometheus", {"preset": "nope"}, "unknown preset 'nope'"),
        ("prometheus", {"join": "mac"}, "unknown join 'mac'"),
        ("prometheus", {"label": "9bad"}, "invalid Prometheus label name"),
        ("prometheus", {"queries": {"load": "x"}}, "unknown metric 'load'"),
        ("prometheus", {"queries": {"cpu_pct": " "}}, "the query for cpu_pct"),
        ("prometheus", {"history_hours": 24, "history_step_s": 60}, "at most 200"),
        ("prometheus", {"match": ["ip"]}, "do not take match"),
        ("zabbix", {"match": ["ip", "mac"]}, "unknown match field 'mac'"),
        ("zabbix", {"match": ["ip", "ip"]}, "lists a field twice"),
        ("zabbix", {"join": "ip"}, "do not take join"),
        ("vcenter", {"match": ["ip"]}, "take no monitoring settings"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_line(
    kind: str, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(MonitoringSettingsError, match=message):
        validate_settings(kind, settings)


def test_good_settings_are_kept_as_given() -> None:
    assert validate_settings("zabbix", {"match": "dns,ip"}) == {"match": ["dns", "ip"]}
    given = {"preset": "node_exporter", "history_hours": 2, "history_step_s": 300}
    assert validate_settings("prometheus", given) == given
