"""What the collector and the watcher ask vCenter for."""

from __future__ import annotations

from iroa.connectors.base import USAGE_FIELDS, HostRecord, VmRecord
from iroa.connectors.vcenter.properties import (
    PROPERTIES,
    UNWATCHED,
    USAGE_PREFIX,
    paths_for,
    watched_paths_for,
)

VSPHERE_8 = (8, 0, 3)


def test_usage_figures_are_read_as_their_leaves_only() -> None:
    usage = {
        name: [p for p in paths if p.startswith("summary.quickStats")]
        for name, paths in PROPERTIES.items()
    }
    assert sorted(usage["VirtualMachine"]) == [
        "summary.quickStats.guestMemoryUsage",
        "summary.quickStats.hostMemoryUsage",
        "summary.quickStats.overallCpuUsage",
        "summary.quickStats.uptimeSeconds",
    ]
    assert sorted(usage["HostSystem"]) == [
        "summary.quickStats.overallCpuUsage",
        "summary.quickStats.overallMemoryUsage",
        "summary.quickStats.uptime",
    ]
    assert not any(
        paths for name, paths in usage.items() if name not in ("VirtualMachine", "HostSystem")
    )
    assert "summary.quickStats" not in PROPERTIES["VirtualMachine"]  # never the whole object
    assert "summary" not in PROPERTIES["VirtualMachine"] + PROPERTIES["HostSystem"]


def test_a_watch_asks_for_everything_but_the_usage_figures_and_guest_disks() -> None:
    for name in PROPERTIES:
        full, watched = paths_for(name, VSPHERE_8), watched_paths_for(name, VSPHERE_8)
        expected = {p for p in full if not p.startswith(USAGE_PREFIX) and p not in UNWATCHED}
        assert set(watched) == expected, name
        assert [p for p in full if p in watched] == list(watched)  # in the same order
    assert set(paths_for("VirtualMachine", VSPHERE_8)) - set(
        watched_paths_for("VirtualMachine", VSPHERE_8)
    ) == {
        "guest.disk",
        "summary.quickStats.guestMemoryUsage",
        "summary.quickStats.hostMemoryUsage",
        "summary.quickStats.overallCpuUsage",
        "summary.quickStats.uptimeSeconds",
    }


def test_the_usage_fields_are_record_fields_of_vms_and_hosts() -> None:
    assert set(USAGE_FIELDS["vm"]) <= set(VmRecord.__dataclass_fields__)
    assert set(USAGE_FIELDS["host"]) <= set(HostRecord.__dataclass_fields__)
