"""Each sheet's headers pinned against RVTools 4.x's own, in RVTools' order.

The lists below are RVTools' documented columns of each sheet (RVTools 4.7's
layout, as its exports head them), without custom-attribute columns. IROA's
sheets must carry exactly these first, then only IROA's own columns, ending
with ``Platform`` and ``Integration``. Pure: no database.
"""

from __future__ import annotations

import pytest

from iroa.exports.columns import empty
from iroa.exports.service import SHEETS

VM_TAIL = [
    "Annotation",
    "Datacenter",
    "Cluster",
    "Host",
    "Folder",
    "OS according to the configuration file",
    "OS according to the VMware Tools",
    "VM ID",
    "VM UUID",
    "VI SDK Server",
    "VI SDK UUID",
]
VM_TAIL_REF = [*VM_TAIL[:7], "VMRef", *VM_TAIL[7:]]
HEAD = ["VM", "Powerstate", "Template", "SRM Placeholder"]

RVTOOLS = {
    "vInfo": [
        *HEAD,
        "Config status", "DNS Name", "Connection state", "Guest state", "Heartbeat",
        "Consolidation Needed", "PowerOn", "Suspended To Memory", "Suspend time",
        "Suspend Interval", "Creation date", "Change Version", "CPUs", "Overall Cpu Readiness",
        "Memory", "Active Memory", "NICs", "Disks", "Total disk capacity MiB",
        "Fixed Passthru HotPlug", "min Required EVC Mode Key", "Latency Sensitivity",
        "Op Notification Timeout", "EnableUUID", "CBT", "Primary IP Address",
        "Network #1", "Network #2", "Network #3", "Network #4", "Network #5", "Network #6",
        "Network #7", "Network #8", "Num Monitors", "Video Ram KiB", "Resource pool",
        "Folder ID", "Folder", "vApp", "DAS protection", "FT State", "FT Role", "FT Latency",
        "FT Bandwidth", "FT Sec. Latency", "Vm Failover In Progress", "Provisioned MiB",
        "In Use MiB", "Unshared MiB", "HA Restart Priority", "HA Isolation Response",
        "HA VM Monitoring", "Cluster rule(s)", "Cluster rule name(s)", "Boot Required",
        "Boot delay", "Boot retry delay", "Boot retry enabled", "Boot BIOS setup",
        "Reboot PowerOff", "EFI Secure boot", "Firmware", "HW version", "HW upgrade status",
        "HW upgrade policy", "HW target", "Path", "Log directory", "Snapshot directory",
        "Suspend directory", "Annotation", "Datacenter", "Cluster", "Host",
        "OS according to the configuration file", "OS according to the VMware Tools",
        "Customization Info", "Guest Detailed Data", "VM ID", "SMBIOS UUID", "VM UUID",
        "VI SDK Server type", "VI SDK API Version", "VI SDK Server", "VI SDK UUID",
    ],
    "vCPU": [
        *HEAD,
        "CPUs", "Sockets", "Cores p/s", "Max", "Overall", "Level", "Shares", "Reservation",
        "Entitlement", "DRS Entitlement", "Limit", "Hot Add", "Hot Remove",
        "Numa Hotadd Exposed", *VM_TAIL,
    ],
    "vMemory": [
        *HEAD,
        "Size MiB", "Memory Reservation Locked To Max", "Overhead", "Max", "Consumed",
        "Consumed Overhead", "Private", "Shared", "Swapped", "Ballooned", "Active",
        "Entitlement", "DRS Entitlement", "Level", "Shares", "Reservation", "Limit", "Hot Add",
        *VM_TAIL,
    ],
    "vDisk": [
        *HEAD,
        "Disk", "Disk Key", "Disk UUID", "Disk Path", "Capacity MiB", "Raw", "Disk Mode",
        "Sharing mode", "Thin", "Eagerly Scrub", "Split", "Write Through", "Level", "Shares",
        "Reservation", "Limit", "Controller", "Label", "SCSI Unit #", "Unit #", "Shared Bus",
        "Path", "Raw LUN ID", "Raw Comp. Mode", "Internal Sort Column", *VM_TAIL,
    ],
    "vPartition": [
        *HEAD,
        "Disk Key", "Disk", "Capacity MiB", "Consumed MiB", "Free MiB", "Free %",
        "Internal Sort Column", *VM_TAIL,
    ],
    "vNetwork": [
        *HEAD,
        "NIC label", "Adapter", "Network", "Switch", "Connected", "Starts Connected",
        "Mac Address", "Type", "IPv4 Address", "IPv6 Address", "Direct Path IO",
        "Internal Sort Column", *VM_TAIL,
    ],
    "vCD": [
        *HEAD,
        "Device Node", "Connected", "Starts Connected", "Device Type", *VM_TAIL_REF,
    ],
    "vUSB": [
        *HEAD,
        "Device Node", "Device Type", "Connected", "Family", "Speed", "EHCI enabled",
        "Auto connect", "Bus number", "Unit number",
        *(h.replace("VMware Tools", "VMware tools") for h in VM_TAIL_REF),
    ],
    "vSnapshot": [
        "VM", "Powerstate", "Name", "Description", "Date / time", "Filename",
        "Size MiB (vmsn)", "Size MiB (total)", "Quiesced", "State", *VM_TAIL,
    ],
    "vTools": [
        *HEAD,
        "VM Version", "Tools", "Tools Version", "Required Version", "Upgradeable",
        "Upgrade Policy", "Sync time", "App status", "Heartbeat status", "Kernel Crash state",
        "Operation Ready", "State change support", "Interactive Guest", *VM_TAIL_REF,
    ],
    "vSource": [
        "Name", "OS type", "API type", "API version", "Version", "Patch level", "Build",
        "Fullname", "Product name", "Product version", "Product line", "Vendor",
        "VI SDK Server", "VI SDK UUID",
    ],
    "vRP": [
        "Resource Pool name", "Resource Pool path", "Status", "# VMs total", "# VMs", "# vCPUs",
        "CPU limit", "CPU overheadLimit", "CPU reservation", "CPU level", "CPU shares",
        "CPU expandableReservation", "CPU maxUsage", "CPU overallUsage", "CPU reservationUsed",
        "CPU reservationUsedForVm", "CPU unreservedForPool", "CPU unreservedForVm",
        "Mem Configured", "Mem limit", "Mem overheadLimit", "Mem reservation", "Mem level",
        "Mem shares", "Mem expandableReservation", "Mem maxUsage", "Mem overallUsage",
        "Mem reservationUsed", "Mem reservationUsedForVm", "Mem unreservedForPool",
        "Mem unreservedForVm", "QS overallCpuDemand", "QS overallCpuUsage",
        "QS staticCpuEntitlement", "QS distributedCpuEntitlement", "QS balloonedMemory",
        "QS compressedMemory", "QS consumedOverheadMemory", "QS distributedMemoryEntitlement",
        "QS guestMemoryUsage", "QS hostMemoryUsage", "QS overheadMemory", "QS privateMemory",
        "QS sharedMemory", "QS staticMemoryEntitlement", "QS swappedMemory", "Object ID",
        "VI SDK Server", "VI SDK UUID",
    ],
    "vCluster": [
        "Name", "Config status", "OverallStatus", "NumHosts", "numEffectiveHosts", "TotalCpu",
        "NumCpuCores", "NumCpuThreads", "Effective Cpu", "TotalMemory", "Effective Memory",
        "Num VMotions", "HA enabled", "Failover Level", "AdmissionControlEnabled",
        "Host monitoring", "HB Datastore Candidate Policy", "Isolation Response",
        "Restart Priority", "Cluster Settings", "Max Failures", "Max Failure Window",
        "Failure Interval", "Min Up Time", "VM Monitoring", "DRS enabled",
        "DRS default VM behavior", "DRS vmotion rate", "DPM enabled", "DPM default behavior",
        "DPM Host Power Action Rate", "Object ID", "VI SDK Server", "VI SDK UUID",
    ],
    "vHost": [
        "Host", "Datacenter", "Cluster", "Config status", "Compliance Check State",
        "in Maintenance Mode", "in Quarantine Mode", "vSAN Fault Domain Name", "CPU Model",
        "Speed", "HT Available", "HT Active", "# CPU", "Cores per CPU", "# Cores",
        "CPU usage %", "# Memory", "Memory Tiering Type", "Memory usage %", "Console",
        "# NICs", "# HBAs", "# VMs total", "# VMs", "VMs per Core", "# vCPUs",
        "vCPUs per Core", "vRAM", "VM Used memory", "VM Memory Swapped", "VM Memory Ballooned",
        "VMotion support", "Storage VMotion support", "Current EVC", "Max EVC",
        "Assigned License(s)", "ATS Heartbeat", "ATS Locking", "Current CPU power man. policy",
        "Supported CPU power man.", "Host Power Policy", "ESX Version", "Boot time",
        "DNS Servers", "DHCP", "Domain", "Domain List", "DNS Search Order", "NTP Server(s)",
        "NTPD running", "Time Zone", "Time Zone Name", "GMT Offset", "Vendor", "Model",
        "Serial number", "Service tag", "OEM specific string", "BIOS Vendor", "BIOS Version",
        "BIOS Date", "Certificate Issuer", "Certificate Start Date", "Certificate Expiry Date",
        "Certificate Status", "Certificate Subject", "Object ID", "UUID", "VI SDK Server",
        "VI SDK UUID",
    ],
    "vHBA": [
        "Host", "Datacenter", "Cluster", "Device", "Type", "Status", "Bus", "Pci", "Driver",
        "Model", "WWN", "VI SDK Server", "VI SDK UUID",
    ],
    "vNIC": [
        "Host", "Datacenter", "Cluster", "Network Device", "Driver", "Speed", "Duplex", "MAC",
        "Switch", "Uplink port", "PCI", "WakeOn", "VI SDK Server", "VI SDK UUID",
    ],
    "vSwitch": [
        "Host", "Datacenter", "Cluster", "Switch", "# Ports", "Free Ports", "Promiscuous Mode",
        "Mac Changes", "Forged Transmits", "Traffic Shaping", "Width", "Peak", "Burst",
        "Policy", "Reverse Policy", "Notify Switch", "Rolling Order", "Offload", "TSO",
        "Zero Copy Xmit", "MTU", "VI SDK Server", "VI SDK UUID",
    ],
    "vPort": [
        "Host", "Datacenter", "Cluster", "Port Group", "Switch", "VLAN", "Promiscuous Mode",
        "Mac Changes", "Forged Transmits", "Traffic Shaping", "Width", "Peak", "Burst",
        "Policy", "Reverse Policy", "Notify Switch", "Rolling Order", "Offload", "TSO",
        "Zero Copy Xmit", "VI SDK Server", "VI SDK UUID",
    ],
    "dvSwitch": [
        "Switch", "Datacenter", "Name", "Vendor", "Version", "Description", "Created",
        "Host members", "Max Ports", "# Ports", "# VMs", "In Traffic Shaping", "In Avg",
        "In Peak", "In Burst", "Out Traffic Shaping", "Out Avg", "Out Peak", "Out Burst",
        "CDP Type", "CDP Operation", "LACP Name", "LACP Mode", "LACP Load Balance Alg.",
        "Max MTU", "Contact", "Admin Name", "Object ID", "VI SDK Server", "VI SDK UUID",
    ],
    "dvPort": [
        "Port", "Switch", "Type", "# Ports", "VLAN", "Speed", "Full Duplex", "Blocked",
        "Allow Promiscuous", "Mac Changes", "Active Uplink", "Standby Uplink", "Policy",
        "Forged Transmits", "In Traffic Shaping", "In Avg", "In Peak", "In Burst",
        "Out Traffic Shaping", "Out Avg", "Out Peak", "Out Burst", "Reverse Policy",
        "Notify Switch", "Rolling Order", "Check Beacon", "Live Port Moving", "Check Duplex",
        "Check Error %", "Check Speed", "Percentage", "Block Override", "Config Reset",
        "Shaping Override", "Vendor Config Override", "Sec. Policy Override",
        "Teaming Override", "Vlan Override", "Object ID", "VI SDK Server", "VI SDK UUID",
    ],
    "vSC_VMK": [
        "Host", "Datacenter", "Cluster", "Port Group", "Device", "Mac Address", "DHCP",
        "IP Address", "IP 6 Address", "Subnet mask", "Gateway", "IP 6 Gateway", "MTU",
        "VI SDK Server", "VI SDK UUID",
    ],
    "vDatastore": [
        "Name", "Config status", "Address", "Accessible", "Type", "# VMs total", "# VMs",
        "Capacity MiB", "Provisioned MiB", "In Use MiB", "Free MiB", "Free %", "SIOC enabled",
        "SIOC Threshold", "# Hosts", "Hosts", "Cluster name", "Cluster capacity MiB",
        "Cluster free space MiB", "Block size", "Max Blocks", "# Extents", "Major Version",
        "Version", "VMFS Upgradeable", "MHA", "URL", "Object ID", "VI SDK Server",
        "VI SDK UUID",
    ],
    "vMultiPath": [
        "Host", "Cluster", "Datacenter", "Datastore", "Disk", "Display name", "Policy",
        "Oper. State", "Path 1", "Path 1 state", "Path 2", "Path 2 state", "Path 3",
        "Path 3 state", "Path 4", "Path 4 state", "Path 5", "Path 5 state", "Path 6",
        "Path 6 state", "Path 7", "Path 7 state", "Path 8", "Path 8 state", "vStorage",
        "Queue depth", "Vendor", "Model", "Revision", "Level", "Serial #", "UUID", "Object ID",
        "VI SDK Server", "VI SDK UUID",
    ],
    "vLicense": [
        "Name", "Key", "Labels", "Cost Unit", "Total", "Used", "Expiration Date", "Features",
        "VI SDK Server", "VI SDK UUID",
    ],
    "vHealth": ["Name", "Message", "Message type", "VI SDK Server", "VI SDK UUID"],
    "vMetaData": ["RVTools major version", "RVTools version", "xlsx creation datetime", "Server"],
}  # fmt: skip

IROA_EXTRAS = {
    "vInfo": ["Instance UUID", "Generation"],
    "vMemory": ["Assigned MiB", "Dynamic Memory", "Minimum MiB", "Maximum MiB"],
    "vDisk": ["Datastore", "Disk Format", "Disk Type", "Used MiB"],
    "vSnapshot": ["Current"],
    "vRP": ["Datacenter", "Cluster"],
    "vCluster": ["Datacenter"],
    "vHost": [
        "# Threads",
        "Hypervisor",
        "Hypervisor Version",
        "Hypervisor Build",
        "Connection State",
        "Power State",
        "Overall Status",
    ],
    "dvPort": ["VLAN Ranges"],
    "vMultiPath": ["SATP", "# Paths", "Working Paths"],
    "vDatastore": ["File System", "Maintenance Mode", "Datacenter"],
    "vHealth": ["Object type", "Severity", "Rule"],
    "vMetaData": ["Exported by", "Version"],
}

FILLED = {
    "vInfo": {"VM", "Powerstate", "Template", "CPUs", "Memory", "Network #1", "Firmware"},
    "vDisk": {"Disk", "Disk Key", "Capacity MiB", "Raw", "Disk Mode", "Thin", "Path"},
    "vSnapshot": {
        "Name",
        "Description",
        "Date / time",
        "Size MiB (vmsn)",
        "Size MiB (total)",
        "State",
    },
    "vPartition": {"Disk", "Capacity MiB", "Consumed MiB", "Free MiB", "Free %"},
    "vCD": {"Device Node", "Connected", "Starts Connected", "Device Type"},
    "vUSB": {"Device Node", "Device Type", "Connected", "Family", "Speed", "EHCI enabled"},
    "vSource": {"Name", "API version", "Version", "Build", "Fullname", "VI SDK UUID"},
    "vRP": {
        "Resource Pool name",
        "Resource Pool path",
        "Status",
        "# VMs total",
        "# VMs",
        "# vCPUs",
        "CPU limit",
        "CPU reservation",
        "CPU level",
        "CPU shares",
        "CPU maxUsage",
        "Mem Configured",
        "Mem limit",
        "Mem reservation",
        "Mem shares",
        "Mem maxUsage",
        "Object ID",
    },
    "vLicense": {"Name", "Key", "Total", "Used", "Expiration Date", "Features"},
    "vHost": {"# NICs", "# HBAs"},
    "vHBA": {"Device", "Type", "Status", "Driver", "Model", "WWN"},
    "vNIC": {"Network Device", "Driver", "Speed", "Duplex", "MAC", "Switch", "Uplink port", "PCI"},
    "vSwitch": {"Switch", "# Ports", "Promiscuous Mode", "Mac Changes", "Forged Transmits"},
    "vPort": {"Port Group", "Switch", "VLAN", "Promiscuous Mode", "Policy"},
    "dvSwitch": {"Switch", "Vendor", "Version", "Host members", "Max Ports", "# VMs"},
    "dvPort": {"Port", "Switch", "VLAN", "Allow Promiscuous", "Mac Changes", "Forged Transmits"},
    "vSC_VMK": {"Port Group", "Device", "Mac Address", "DHCP", "IP Address", "Subnet mask"},
    "vMultiPath": {
        "Host",
        "Disk",
        "Display name",
        "Policy",
        "Oper. State",
        *(f"Path {n}{state}" for n in range(1, 9) for state in ("", " state")),
        "vStorage",
        "Queue depth",
        "Vendor",
        "Model",
        "Revision",
        "Level",
        "Serial #",
        "UUID",
    },
}
"""Columns the issue names that IROA fills (for at least one platform): never the empty getter."""


def test_every_sheet_is_pinned() -> None:
    assert [sheet.name for sheet in SHEETS] == list(RVTOOLS)


@pytest.mark.parametrize("sheet", SHEETS, ids=lambda sheet: sheet.name)
def test_headers_are_rvtools_then_iroa(sheet: object) -> None:
    headers = [column.header for column in sheet.columns]  # type: ignore[attr-defined]
    expected = RVTOOLS[sheet.name]  # type: ignore[attr-defined]
    extras = IROA_EXTRAS.get(sheet.name, [])  # type: ignore[attr-defined]
    assert headers == [*expected, *extras, "Platform", "Integration"]


@pytest.mark.parametrize("name", sorted(FILLED))
def test_named_columns_are_filled(name: str) -> None:
    sheet = next(s for s in SHEETS if s.name == name)
    getters = {c.header: c.value for c in sheet.columns}  # type: ignore[attr-defined]
    assert all(getters[header] is not empty for header in FILLED[name])
