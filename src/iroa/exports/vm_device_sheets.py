"""The VM sheets of a VM's guest partitions and removable devices: vPartition, vCD and vUSB.

Each has RVTools 4.x's columns in RVTools' order (docs/exports.md lists them with their
sources); a VM's custom attributes follow ``Annotation``, as in RVTools.
"""

from __future__ import annotations

from sqlalchemy import Select

from iroa.exports.columns import (
    Sheet,
    free_percent_of,
    in_use_mib,
    key,
    mib,
    rvtools_columns,
)
from iroa.exports.vm_sheets import (
    EXTRA_TAIL,
    VM_ATTRIBUTES,
    VM_HEAD,
    VM_TAIL,
    VM_TAIL_HEADERS,
    VM_TAIL_WITH_REF,
    vm_children,
)
from iroa.inventory import models as m

PARTITION_TABLE = m.VmPartition.__table__
DEVICE_TABLE = m.VmDevice.__table__

HEAD_HEADERS = ("VM", "Powerstate", "Template", "SRM Placeholder")

VPARTITION_HEADERS = (
    *HEAD_HEADERS,
    "Disk Key",
    "Disk",
    "Capacity MiB",
    "Consumed MiB",
    "Free MiB",
    "Free %",
    "Internal Sort Column",
    *VM_TAIL_HEADERS,
)

VPARTITION = Sheet(
    "vPartition",
    rvtools_columns(
        VPARTITION_HEADERS,
        {
            **VM_HEAD,
            "Disk Key": (key("disk_key"), 9),
            "Disk": (key("disk_path"), 24),
            "Capacity MiB": (mib("capacity_bytes"), 12),
            "Consumed MiB": (in_use_mib, 12),
            "Free MiB": (mib("free_bytes"), 12),
            "Free %": (free_percent_of, 7),
            **VM_TAIL,
        },
        *EXTRA_TAIL,
    ),
    lambda i: vm_children(
        PARTITION_TABLE,
        i,
        PARTITION_TABLE.c.disk_key,
        PARTITION_TABLE.c.disk_path,
        PARTITION_TABLE.c.capacity_bytes,
        PARTITION_TABLE.c.free_bytes,
        order=PARTITION_TABLE.c.disk_path,
    ),
    VM_ATTRIBUTES,
)


def _devices(kind: str, integration_id: int | None) -> Select[object]:
    return vm_children(
        DEVICE_TABLE,
        integration_id,
        *(
            DEVICE_TABLE.c[f]
            for f in (
                "label",
                "connected",
                "start_connected",
                "device_type",
                "unit_number",
                "usb_family",
                "usb_speed",
                "ehci_enabled",
                "auto_connect",
                "bus_number",
            )
        ),
        order=DEVICE_TABLE.c.label,
    ).where(DEVICE_TABLE.c.kind == kind)


VCD_HEADERS = (
    *HEAD_HEADERS,
    "Device Node",
    "Connected",
    "Starts Connected",
    "Device Type",
    *VM_TAIL_WITH_REF,
)

VCD = Sheet(
    "vCD",
    rvtools_columns(
        VCD_HEADERS,
        {
            **VM_HEAD,
            "Device Node": (key("label"), 16),
            "Connected": (key("connected"), 10),
            "Starts Connected": (key("start_connected"), 10),
            "Device Type": (key("device_type"), 30),
            **VM_TAIL,
        },
        *EXTRA_TAIL,
    ),
    lambda i: _devices("cd", i),
    VM_ATTRIBUTES,
)

_TOOLS_OS = "OS according to the VMware Tools"
_USB_TOOLS_OS = "OS according to the VMware tools"
"""vUSB spells this column with a lower-case ``tools``, as RVTools heads it."""

VUSB_HEADERS = (
    *HEAD_HEADERS,
    "Device Node",
    "Device Type",
    "Connected",
    "Family",
    "Speed",
    "EHCI enabled",
    "Auto connect",
    "Bus number",
    "Unit number",
    *(_USB_TOOLS_OS if h == _TOOLS_OS else h for h in VM_TAIL_WITH_REF),
)

VUSB = Sheet(
    "vUSB",
    rvtools_columns(
        VUSB_HEADERS,
        {
            **VM_HEAD,
            "Device Node": (key("label"), 16),
            "Device Type": (key("device_type"), 24),
            "Connected": (key("connected"), 10),
            "Family": (key("usb_family"), 14),
            "Speed": (key("usb_speed"), 10),
            "EHCI enabled": (key("ehci_enabled"), 8),
            "Auto connect": (key("auto_connect"), 8),
            "Bus number": (key("bus_number"), 8),
            "Unit number": (key("unit_number"), 8),
            **{_USB_TOOLS_OS if h == _TOOLS_OS else h: g for h, g in VM_TAIL.items()},
        },
        *EXTRA_TAIL,
    ),
    lambda i: _devices("usb", i),
    VM_ATTRIBUTES,
)
