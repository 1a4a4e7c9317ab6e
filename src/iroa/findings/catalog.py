"""Every rule IROA evaluates, by id, and how each condition reads with the thresholds in force."""

from __future__ import annotations

from iroa.findings.monitoring_rules import (
    host_not_in_zabbix,
    host_zabbix_problems,
    vm_not_in_zabbix,
    vm_without_prometheus_metrics,
    vm_zabbix_problems,
)
from iroa.findings.rules import (
    HOST_UNREACHABLE,
    Rule,
    Thresholds,
    cd_connected,
    consolidation_needed,
    cpu_overcommit,
    datastore_inaccessible,
    datastore_many_vms,
    disk_not_on_host,
    figure,
    host_in_maintenance,
    host_unreachable,
    idle_vms,
    large_snapshots,
    low_free_space,
    many_snapshots,
    memory_overcommit,
    old_hardware_version,
    old_snapshots,
    orphaned_disks,
    overall_status,
    partition_low_free_space,
    powered_off_long,
    tools_not_running,
    tools_outdated,
)

RULES: tuple[Rule, ...] = (
    Rule("host_unreachable", "Host disconnected", ("host",), "critical", host_unreachable),
    Rule(
        "datastore_inaccessible",
        "Datastore not accessible",
        ("datastore",),
        "critical",
        datastore_inaccessible,
    ),
    Rule(
        "disk_datastore_not_on_host",
        "VM disk on a datastore its host does not see",
        ("vm",),
        "critical",
        disk_not_on_host,
    ),
    Rule(
        "overall_status",
        "vCenter status red or yellow",
        ("vm", "host", "cluster", "datastore"),
        "critical",
        overall_status,
    ),
    Rule(
        "datastore_low_free_space",
        "Datastore low on free space",
        ("datastore",),
        "critical",
        low_free_space,
    ),
    Rule(
        "guest_partition_low_free_space",
        "Guest partition low on free space",
        ("vm",),
        "critical",
        partition_low_free_space,
    ),
    Rule("snapshot_too_old", "Old VM snapshot", ("vm",), "warning", old_snapshots),
    Rule("snapshot_too_many", "Too many VM snapshots", ("vm",), "warning", many_snapshots),
    Rule(
        "consolidation_needed",
        "VM disks need consolidation",
        ("vm",),
        "warning",
        consolidation_needed,
    ),
    Rule(
        "datastore_too_many_vms",
        "Too many VMs on a datastore",
        ("datastore",),
        "warning",
        datastore_many_vms,
    ),
    Rule(
        "guest_tools_not_running",
        "Guest tools not running",
        ("vm",),
        "warning",
        tools_not_running,
    ),
    Rule("cpu_overcommit", "vCPU overcommit", ("cluster", "host"), "warning", cpu_overcommit),
    Rule(
        "memory_overcommit",
        "Memory overcommit",
        ("cluster", "host"),
        "warning",
        memory_overcommit,
    ),
    Rule("guest_tools_outdated", "Guest tools outdated", ("vm",), "warning", tools_outdated),
    Rule("vm_cdrom_connected", "CD/DVD drive connected", ("vm",), "warning", cd_connected),
    Rule(
        "hardware_version_old",
        "Old virtual hardware version",
        ("vm",),
        "info",
        old_hardware_version,
    ),
    Rule("vm_powered_off_long", "VM powered off for long", ("vm",), "info", powered_off_long),
    Rule("host_in_maintenance", "Host in maintenance", ("host",), "info", host_in_maintenance),
    Rule("vm_idle", "Idle VM", ("vm",), "info", idle_vms),
    Rule(
        "vm_not_in_zabbix",
        "VM not monitored in Zabbix",
        ("vm",),
        "warning",
        vm_not_in_zabbix,
    ),
    Rule(
        "vm_zabbix_problems",
        "VM with active Zabbix problems",
        ("vm",),
        "critical",
        vm_zabbix_problems,
    ),
    Rule(
        "vm_without_prometheus_metrics",
        "VM with no Prometheus metrics",
        ("vm",),
        "warning",
        vm_without_prometheus_metrics,
    ),
    Rule(
        "host_not_in_zabbix",
        "Host not monitored in Zabbix",
        ("host",),
        "warning",
        host_not_in_zabbix,
    ),
    Rule(
        "host_zabbix_problems",
        "Host with active Zabbix problems",
        ("host",),
        "critical",
        host_zabbix_problems,
    ),
    Rule(
        "snapshot_too_large",
        "Large VM snapshots",
        ("vm",),
        "warning",
        large_snapshots,
    ),
    Rule(
        "datastore_orphaned_disks",
        "Orphaned VM disks",
        ("datastore",),
        "warning",
        orphaned_disks,
    ),
)


RULES_BY_ID = {rule.id: rule for rule in RULES}


def describe_conditions(thresholds: Thresholds) -> dict[str, str]:
    """Each active rule's condition in words, with its current thresholds."""
    t = thresholds
    return {
        "host_unreachable": "connection state " + ", ".join(HOST_UNREACHABLE),
        "datastore_low_free_space": f"free space below {figure(t.datastore_free_warning_pct)}% "
        f"(warning) or {figure(t.datastore_free_critical_pct)}% (critical)",
        "guest_partition_low_free_space": "a guest file system (VMware Tools) with free space "
        f"below {figure(t.partition_free_warning_pct)}% (warning) or "
        f"{figure(t.partition_free_critical_pct)}% (critical)",
        "snapshot_too_old": f"oldest snapshot older than {figure(t.snapshot_max_age_days)} days",
        "snapshot_too_many": f"more than {t.snapshot_max_count} snapshots",
        "guest_tools_not_running": "a running VM whose VMware Tools are not running or not "
        "installed, or whose Hyper-V integration services report no state",
        "cpu_overcommit": f"more than {figure(t.vcpu_per_core_max)} vCPUs of running VMs per core",
        "memory_overcommit": "memory of running VMs above "
        f"{figure(t.memory_overcommit_max)} times the hosts' memory",
        "guest_tools_outdated": "VMware Tools or Hyper-V integration services need an update "
        "(warning when vCenter calls the tools too old or blacklisted)",
        "vm_cdrom_connected": "a CD/DVD drive connected to an ISO image or a device "
        "(Hyper-V: holding media)",
        "datastore_inaccessible": "the datastore (volume, CSV) is not accessible",
        "disk_datastore_not_on_host": "a VM disk on a datastore its host does not mount",
        "overall_status": "vCenter status red (critical) or yellow (warning)",
        "consolidation_needed": "vCenter says the VM's disks need consolidation",
        "datastore_too_many_vms": f"more than {t.datastore_vm_max} VMs on the datastore",
        "hardware_version_old": f"virtual hardware below vmx-{t.hardware_version_min}",
        "vm_powered_off_long": f"powered off for more than {figure(t.powered_off_days)} days",
        "host_in_maintenance": "in maintenance mode (Hyper-V: paused or draining)",
        "vm_idle": f"a running VM whose CPU use stayed under {figure(t.idle_cpu_pct)}% of its "
        f"vCPUs' capacity at each of its samples (at least {t.idle_min_samples}) of the last "
        f"{t.idle_syncs} full syncs (vCenter)",
        "vm_not_in_zabbix": f"no monitored Zabbix host matches the VM{_ONCE_ZABBIX}",
        "vm_zabbix_problems": f"{_PROBLEMS}{_ONCE_ZABBIX}",
        "vm_without_prometheus_metrics": "a running VM no Prometheus series names "
        "(once an enabled Prometheus integration has synced)",
        "host_not_in_zabbix": f"no monitored Zabbix host matches the host{_ONCE_ZABBIX}",
        "host_zabbix_problems": f"{_PROBLEMS}{_ONCE_ZABBIX}",
        "snapshot_too_large": "snapshots of the VM hold more than "
        f"{figure(t.snapshot_max_size_gib)} GiB on disk (vCenter)",
        "datastore_orphaned_disks": "virtual disk files (.vmdk) on the datastore that no VM "
        "uses, as the last full sync's search of the datastore found them (vCenter)",
    }


_ONCE_ZABBIX = " (once an enabled Zabbix integration has synced)"


_PROBLEMS = (
    "its Zabbix host has active problems: high or disaster critical, "
    "average or warning a warning, information or not classified info"
)
