"""Inventory tables: the common model of both platforms (docs/model.md).

Every inventory row belongs to one integration and is identified there by its
``external_id``; ``removed_at`` is set when the object vanishes from its source
and cleared if it comes back. References to other objects (``host_id``) are
filled by the sync engine from the records' external ids.

The tables that grow with the VMs — VMs, their disks, NICs, snapshots,
placements, guest partitions and CD/USB devices, tags — have no foreign keys
(``grows_with_vms``): PostgreSQL checks
each key of each inserted row with a query of its own, which was more than half
of a first sync of a big estate. Their references are indexed id columns the
sync engine alone writes; deleting an integration deletes their rows
explicitly. The smaller tables keep theirs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from iroa.db.base import Base, JSONType, UTCDateTime
from iroa.db.types import IdType


class InventoryRow:
    """Columns every inventory table has."""

    grows_with_vms: ClassVar[bool] = False
    """A table of many rows per VM or so: no foreign keys (see the module's doc)."""

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(500))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @declared_attr
    def integration_id(cls) -> Mapped[int]:
        if cls.grows_with_vms:
            return mapped_column(IdType)
        return mapped_column(IdType, ForeignKey("integrations.id", ondelete="CASCADE"))

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Index, ...]:
        table = cls.__tablename__  # type: ignore[attr-defined]
        return (
            Index(
                f"uq_{table}_integration_id_external_id",
                "integration_id",
                "external_id",
                unique=True,
            ),
        )


def _ref(table: str) -> Mapped[int | None]:
    return mapped_column(IdType, ForeignKey(f"{table}.id", ondelete="SET NULL"), index=True)


REFERENCES = "references"
"""The ``info`` key naming the table a reference without a foreign key points to."""


def _unkeyed_ref(table: str) -> Mapped[int | None]:
    """A reference from a table that grows with the VMs to a row of ``table``: an indexed
    id, no key."""
    return mapped_column(IdType, index=True, info={REFERENCES: table})


def _facts() -> Mapped[list[dict[str, Any]]]:
    """A list of facts (JSON), empty where none were collected."""
    return mapped_column(JSONType, server_default=text("'[]'"))


class Datacenter(InventoryRow, Base):
    __tablename__ = "datacenters"

    name: Mapped[str] = mapped_column(String(500), index=True)


class Cluster(InventoryRow, Base):
    __tablename__ = "clusters"

    name: Mapped[str] = mapped_column(String(500), index=True)
    datacenter_id: Mapped[int | None] = _ref("datacenters")
    host_count: Mapped[int | None] = mapped_column(Integer)
    cpu_total_mhz: Mapped[int | None] = mapped_column(BigInteger)
    cpu_cores: Mapped[int | None] = mapped_column(Integer)
    cpu_threads: Mapped[int | None] = mapped_column(Integer)
    memory_total_mib: Mapped[int | None] = mapped_column(BigInteger)
    ha_enabled: Mapped[bool | None] = mapped_column(Boolean)
    drs_enabled: Mapped[bool | None] = mapped_column(Boolean)
    drs_behavior: Mapped[str | None] = mapped_column(String(64))
    overall_status: Mapped[str | None] = mapped_column(String(32))


class Host(InventoryRow, Base):
    __tablename__ = "hosts"

    name: Mapped[str] = mapped_column(String(500), index=True)
    datacenter_id: Mapped[int | None] = _ref("datacenters")
    cluster_id: Mapped[int | None] = _ref("clusters")
    vendor: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    serial_number: Mapped[str | None] = mapped_column(String(200))
    cpu_model: Mapped[str | None] = mapped_column(String(200))
    cpu_sockets: Mapped[int | None] = mapped_column(Integer)
    cpu_cores: Mapped[int | None] = mapped_column(Integer)
    cpu_threads: Mapped[int | None] = mapped_column(Integer)
    cpu_mhz: Mapped[int | None] = mapped_column(Integer)
    memory_mib: Mapped[int | None] = mapped_column(BigInteger)
    hypervisor_name: Mapped[str | None] = mapped_column(String(200))
    hypervisor_version: Mapped[str | None] = mapped_column(String(64))
    hypervisor_build: Mapped[str | None] = mapped_column(String(64))
    connection_state: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[str | None] = mapped_column(String(32))
    in_maintenance: Mapped[bool | None] = mapped_column(Boolean)
    boot_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overall_status: Mapped[str | None] = mapped_column(String(32))
    datastore_external_ids: Mapped[list[str] | None] = mapped_column(JSONType)
    """The datastores available to the host (vCenter); None if not reported."""
    # RVTools' host sheets (vNIC, vSwitch, vPort, vSC_VMK, vHBA): a few small dicts each.
    physical_nics: Mapped[list[dict[str, Any]]] = _facts()
    virtual_switches: Mapped[list[dict[str, Any]]] = _facts()
    portgroups: Mapped[list[dict[str, Any]]] = _facts()
    vmkernel_nics: Mapped[list[dict[str, Any]]] = _facts()
    host_bus_adapters: Mapped[list[dict[str, Any]]] = _facts()
    # RVTools' vMultiPath: a LUN each, with its policy and paths.
    multipaths: Mapped[list[dict[str, Any]]] = _facts()


class Datastore(InventoryRow, Base):
    __tablename__ = "datastores"

    name: Mapped[str] = mapped_column(String(500), index=True)
    datacenter_id: Mapped[int | None] = _ref("datacenters")
    cluster_id: Mapped[int | None] = _ref("clusters")
    type: Mapped[str | None] = mapped_column(String(32))
    file_system: Mapped[str | None] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(String(2000))
    capacity_bytes: Mapped[int | None] = mapped_column(BigInteger)
    free_bytes: Mapped[int | None] = mapped_column(BigInteger)
    provisioned_bytes: Mapped[int | None] = mapped_column(BigInteger)
    accessible: Mapped[bool | None] = mapped_column(Boolean)
    maintenance_mode: Mapped[str | None] = mapped_column(String(32))
    overall_status: Mapped[str | None] = mapped_column(String(32))


class Network(InventoryRow, Base):
    __tablename__ = "networks"

    name: Mapped[str] = mapped_column(String(500), index=True)
    datacenter_id: Mapped[int | None] = _ref("datacenters")
    type: Mapped[str | None] = mapped_column(String(32))
    vlan_id: Mapped[int | None] = mapped_column(Integer)
    vlan: Mapped[str | None] = mapped_column(String(200))
    switch_name: Mapped[str | None] = mapped_column(String(500))
    # RVTools' dvPort and dvSwitch sheets: a distributed port group's policy, its switch's facts.
    port_policy: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    distributed_switch: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class ResourcePool(InventoryRow, Base):
    __tablename__ = "resource_pools"

    name: Mapped[str] = mapped_column(String(500), index=True)
    datacenter_id: Mapped[int | None] = _ref("datacenters")
    cluster_id: Mapped[int | None] = _ref("clusters")
    path: Mapped[str | None] = mapped_column(String(2000))
    overall_status: Mapped[str | None] = mapped_column(String(32))
    cpu_reservation_mhz: Mapped[int | None] = mapped_column(BigInteger)
    cpu_limit_mhz: Mapped[int | None] = mapped_column(BigInteger)
    cpu_expandable: Mapped[bool | None] = mapped_column(Boolean)
    cpu_shares_level: Mapped[str | None] = mapped_column(String(16))
    cpu_shares: Mapped[int | None] = mapped_column(Integer)
    memory_reservation_mib: Mapped[int | None] = mapped_column(BigInteger)
    memory_limit_mib: Mapped[int | None] = mapped_column(BigInteger)
    memory_expandable: Mapped[bool | None] = mapped_column(Boolean)
    memory_shares_level: Mapped[str | None] = mapped_column(String(16))
    memory_shares: Mapped[int | None] = mapped_column(Integer)
    cpu_max_usage_mhz: Mapped[int | None] = mapped_column(BigInteger)
    cpu_reservation_used_mhz: Mapped[int | None] = mapped_column(BigInteger)
    cpu_reservation_used_for_vm_mhz: Mapped[int | None] = mapped_column(BigInteger)
    cpu_unreserved_for_pool_mhz: Mapped[int | None] = mapped_column(BigInteger)
    cpu_unreserved_for_vm_mhz: Mapped[int | None] = mapped_column(BigInteger)
    memory_max_usage_bytes: Mapped[int | None] = mapped_column(BigInteger)
    memory_reservation_used_bytes: Mapped[int | None] = mapped_column(BigInteger)
    memory_reservation_used_for_vm_bytes: Mapped[int | None] = mapped_column(BigInteger)
    memory_unreserved_for_pool_bytes: Mapped[int | None] = mapped_column(BigInteger)
    memory_unreserved_for_vm_bytes: Mapped[int | None] = mapped_column(BigInteger)


class Vm(InventoryRow, Base):
    __tablename__ = "vms"
    grows_with_vms = True

    name: Mapped[str] = mapped_column(String(500), index=True)
    datacenter_id: Mapped[int | None] = _unkeyed_ref("datacenters")
    cluster_id: Mapped[int | None] = _unkeyed_ref("clusters")
    host_id: Mapped[int | None] = _unkeyed_ref("hosts")
    power_state: Mapped[str] = mapped_column(String(16), index=True)
    is_template: Mapped[bool] = mapped_column(Boolean)
    num_cpu: Mapped[int | None] = mapped_column(Integer)
    cores_per_socket: Mapped[int | None] = mapped_column(Integer)
    memory_mib: Mapped[int | None] = mapped_column(BigInteger)
    memory_assigned_mib: Mapped[int | None] = mapped_column(BigInteger)
    memory_dynamic: Mapped[bool | None] = mapped_column(Boolean)
    memory_min_mib: Mapped[int | None] = mapped_column(BigInteger)
    memory_max_mib: Mapped[int | None] = mapped_column(BigInteger)
    guest_os: Mapped[str | None] = mapped_column(String(500))
    guest_os_version: Mapped[str | None] = mapped_column(String(200))
    guest_id: Mapped[str | None] = mapped_column(String(200))
    guest_hostname: Mapped[str | None] = mapped_column(String(500))
    ip_addresses: Mapped[list[str]] = mapped_column(JSONType)
    tools_status: Mapped[str | None] = mapped_column(String(64))
    tools_version: Mapped[str | None] = mapped_column(String(64))
    uuid: Mapped[str | None] = mapped_column(String(64), index=True)
    instance_uuid: Mapped[str | None] = mapped_column(String(64))
    resource_pool: Mapped[str | None] = mapped_column(String(2000))
    folder: Mapped[str | None] = mapped_column(String(2000))
    notes: Mapped[str | None] = mapped_column(Text)
    hardware_version: Mapped[str | None] = mapped_column(String(32))
    generation: Mapped[int | None] = mapped_column(Integer)
    is_clustered: Mapped[bool | None] = mapped_column(Boolean)
    provisioned_bytes: Mapped[int | None] = mapped_column(BigInteger)
    used_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    boot_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overall_status: Mapped[str | None] = mapped_column(String(32))
    tools_guest_os: Mapped[str | None] = mapped_column(String(500))
    guest_state: Mapped[str | None] = mapped_column(String(32))
    connection_state: Mapped[str | None] = mapped_column(String(32))
    heartbeat: Mapped[str | None] = mapped_column(String(32))
    firmware: Mapped[str | None] = mapped_column(String(16))
    config_path: Mapped[str | None] = mapped_column(String(2000))
    video_ram_kib: Mapped[int | None] = mapped_column(BigInteger)
    num_monitors: Mapped[int | None] = mapped_column(Integer)
    consolidation_needed: Mapped[bool | None] = mapped_column(Boolean)
    tools_version_status: Mapped[str | None] = mapped_column(String(64))


class VmDisk(InventoryRow, Base):
    __tablename__ = "vm_disks"
    grows_with_vms = True

    vm_id: Mapped[int | None] = _unkeyed_ref("vms")
    label: Mapped[str] = mapped_column(String(200))
    datastore_id: Mapped[int | None] = _unkeyed_ref("datastores")
    capacity_bytes: Mapped[int | None] = mapped_column(BigInteger)
    file_path: Mapped[str | None] = mapped_column(String(2000))
    thin_provisioned: Mapped[bool | None] = mapped_column(Boolean)
    used_bytes: Mapped[int | None] = mapped_column(BigInteger)
    disk_format: Mapped[str | None] = mapped_column(String(16))
    disk_type: Mapped[str | None] = mapped_column(String(32))
    disk_mode: Mapped[str | None] = mapped_column(String(64))
    controller: Mapped[str | None] = mapped_column(String(200))
    unit_number: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[bool | None] = mapped_column(Boolean)
    raw_compatibility_mode: Mapped[str | None] = mapped_column(String(32))
    sharing: Mapped[str | None] = mapped_column(String(32))
    eagerly_scrub: Mapped[bool | None] = mapped_column(Boolean)
    disk_uuid: Mapped[str | None] = mapped_column(String(64))


class VmNic(InventoryRow, Base):
    __tablename__ = "vm_nics"
    grows_with_vms = True

    vm_id: Mapped[int | None] = _unkeyed_ref("vms")
    label: Mapped[str] = mapped_column(String(200))
    network_id: Mapped[int | None] = _unkeyed_ref("networks")
    network_name: Mapped[str | None] = mapped_column(String(500))
    mac_address: Mapped[str | None] = mapped_column(String(32), index=True)
    adapter_type: Mapped[str | None] = mapped_column(String(64))
    connected: Mapped[bool | None] = mapped_column(Boolean)
    ip_addresses: Mapped[list[str]] = mapped_column(JSONType)


class VmSnapshot(InventoryRow, Base):
    __tablename__ = "vm_snapshots"
    grows_with_vms = True

    vm_id: Mapped[int | None] = _unkeyed_ref("vms")
    name: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    parent_external_id: Mapped[str | None] = mapped_column(String(500))
    is_current: Mapped[bool | None] = mapped_column(Boolean)
    power_state: Mapped[str | None] = mapped_column(String(16))
    # Sizes grow while a snapshot is kept (the current one's delta disks): stored, never
    # tracked as changes (docs/sync.md, volatile fields).
    vmsn_bytes: Mapped[int | None] = mapped_column(BigInteger, info={"volatile": True})
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, info={"volatile": True})


class VmDatastore(InventoryRow, Base):
    __tablename__ = "vm_datastores"
    grows_with_vms = True

    vm_id: Mapped[int | None] = _unkeyed_ref("vms")
    datastore_id: Mapped[int | None] = _unkeyed_ref("datastores")


class VmNetwork(InventoryRow, Base):
    __tablename__ = "vm_networks"
    grows_with_vms = True

    vm_id: Mapped[int | None] = _unkeyed_ref("vms")
    network_id: Mapped[int | None] = _unkeyed_ref("networks")


class VmPartition(InventoryRow, Base):
    __tablename__ = "vm_partitions"
    grows_with_vms = True

    vm_id: Mapped[int | None] = _unkeyed_ref("vms")
    disk_path: Mapped[str] = mapped_column(String(2000))
    capacity_bytes: Mapped[int | None] = mapped_column(BigInteger)
    free_bytes: Mapped[int | None] = mapped_column(BigInteger)
    disk_key: Mapped[int | None] = mapped_column(Integer)


class VmDevice(InventoryRow, Base):
    __tablename__ = "vm_devices"
    grows_with_vms = True

    vm_id: Mapped[int | None] = _unkeyed_ref("vms")
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200))
    connected: Mapped[bool | None] = mapped_column(Boolean)
    start_connected: Mapped[bool | None] = mapped_column(Boolean)
    device_type: Mapped[str | None] = mapped_column(String(2000))
    unit_number: Mapped[int | None] = mapped_column(Integer)
    usb_family: Mapped[str | None] = mapped_column(String(200))
    usb_speed: Mapped[str | None] = mapped_column(String(200))
    ehci_enabled: Mapped[bool | None] = mapped_column(Boolean)
    auto_connect: Mapped[bool | None] = mapped_column(Boolean)
    bus_number: Mapped[int | None] = mapped_column(Integer)


class Tag(InventoryRow, Base):
    __tablename__ = "tags"
    grows_with_vms = True

    object_type: Mapped[str] = mapped_column(String(32))
    object_external_id: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(500))
    value: Mapped[str | None] = mapped_column(Text)


class UsageLatest(Base):
    """The latest usage figures of one VM or host (vCenter ``summary.quickStats``).

    Not inventory: they change at every read, so they are kept out of the VMs' and
    hosts' rows and their change rows (docs/sync.md). A full sync replaces the
    integration's rows; a watched change replaces those of the objects it read.
    """

    __tablename__ = "usage_latest"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(IdType)
    object_type: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(500))
    run_id: Mapped[int] = mapped_column(IdType)
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cpu_used_mhz: Mapped[int | None] = mapped_column(Integer)
    memory_used_mib: Mapped[int | None] = mapped_column(Integer)
    """A host's memory in use."""
    guest_memory_used_mib: Mapped[int | None] = mapped_column(Integer)
    """A VM's guest memory in active use."""
    host_memory_used_mib: Mapped[int | None] = mapped_column(Integer)
    """A host's memory a VM consumes."""
    uptime_s: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index(
            "uq_usage_latest_object", "integration_id", "object_type", "external_id", unique=True
        ),
    )


class VmCpuSample(Base):
    """A running VM's CPU use as one full sync read it; the last few syncs' are kept, for
    the idle VM finding."""

    __tablename__ = "vm_cpu_samples"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(IdType)
    run_id: Mapped[int] = mapped_column(IdType)
    external_id: Mapped[str] = mapped_column(String(500))
    cpu_used_mhz: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_vm_cpu_samples_integration_id_run_id", "integration_id", "run_id"),
        Index("ix_vm_cpu_samples_integration_id_external_id", "integration_id", "external_id"),
    )


class OrphanedDisk(Base):
    """A virtual disk file on a datastore that no VM of the integration uses, as the last
    full sync that searched the datastore found it (docs/findings.md, orphaned disks).

    Not inventory with a history: each search replaces the datastore's rows; a file
    still there keeps its row and the time it was first found.
    """

    __tablename__ = "orphaned_disks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    integration_id: Mapped[int] = mapped_column(IdType)
    datastore_external_id: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(String(2000))
    """``[datastore] folder/name.vmdk``."""
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    """The descriptor with its extents (``-flat``, ``-delta``, ``-sesparse``, ``-ctk``)."""
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_orphaned_disks_datastore", "integration_id", "datastore_external_id", "path"),
    )


# Paged lists (``removed_at IS NULL ORDER BY name, id``) and their counts read these
# indexes alone; the power state one also serves ``power_state=…`` filters in name order.
Index("ix_vms_removed_at_name_id", Vm.removed_at, Vm.name, Vm.id)
Index("ix_vms_removed_at_power_state_name_id", Vm.removed_at, Vm.power_state, Vm.name, Vm.id)
# A detail page's tags are looked up by the object they belong to.
Index("ix_tags_object", Tag.integration_id, Tag.object_type, Tag.object_external_id)
