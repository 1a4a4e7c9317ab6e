"""The inventory object types, in the order references allow them to be written."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Column, Table

from iroa.inventory import models

LIFECYCLE_COLUMNS = frozenset(
    {"id", "integration_id", "external_id", "first_seen_at", "last_seen_at", "removed_at"}
)


@dataclass(frozen=True)
class ObjectType:
    """One kind of inventory object and its table."""

    name: str
    plural: str
    model: type[models.InventoryRow]
    primary: bool
    """Listed on its own and guarded by the mass-removal safeguard; others follow a parent."""
    placements: bool = False
    """Its list items also name the datastores and networks it uses (VMs)."""
    monitored: bool = False
    """Monitoring systems report on it: its detail carries their metrics and problems."""
    search_index: bool = False
    """Searches of three characters or more read a trigram index (on SQLite)."""
    parts: tuple[str, ...] = ()
    """Types (by plural) whose rows belong to one of these, through ``<name>_id``: their
    changes are part of its timeline."""

    @property
    def table(self) -> Table:
        return self.model.__table__  # type: ignore[attr-defined, no-any-return]

    @cached_property
    def data_columns(self) -> tuple[Column[object], ...]:
        """Columns a source fills: everything but identity and lifecycle."""
        return tuple(c for c in self.table.columns if c.name not in LIFECYCLE_COLUMNS)

    @cached_property
    def refs(self) -> dict[str, str]:
        """Reference columns (``host_id``) and the table each points to, by foreign key or
        (in the tables that have none) as the column says."""
        refs: dict[str, str] = {}
        for column in self.data_columns:
            for fk in column.foreign_keys:
                refs[column.name] = fk.column.table.name
            if models.REFERENCES in column.info:
                refs[column.name] = column.info[models.REFERENCES]
        return refs


OBJECT_TYPES: tuple[ObjectType, ...] = (
    ObjectType("datacenter", "datacenters", models.Datacenter, primary=True),
    ObjectType("cluster", "clusters", models.Cluster, primary=True),
    ObjectType("host", "hosts", models.Host, primary=True, monitored=True),
    ObjectType("datastore", "datastores", models.Datastore, primary=True),
    ObjectType("network", "networks", models.Network, primary=True),
    ObjectType("resource_pool", "resource_pools", models.ResourcePool, primary=True),
    ObjectType(
        "vm",
        "vms",
        models.Vm,
        primary=True,
        placements=True,
        monitored=True,
        search_index=True,
        parts=("vm_disks", "vm_nics", "vm_snapshots", "vm_partitions", "vm_devices"),
    ),
    ObjectType("vm_disk", "vm_disks", models.VmDisk, primary=False),
    ObjectType("vm_nic", "vm_nics", models.VmNic, primary=False),
    ObjectType("vm_snapshot", "vm_snapshots", models.VmSnapshot, primary=False),
    ObjectType("vm_datastore", "vm_datastores", models.VmDatastore, primary=False),
    ObjectType("vm_network", "vm_networks", models.VmNetwork, primary=False),
    ObjectType("vm_partition", "vm_partitions", models.VmPartition, primary=False),
    ObjectType("vm_device", "vm_devices", models.VmDevice, primary=False),
    ObjectType("tag", "tags", models.Tag, primary=False),
)

BY_NAME = {t.name: t for t in OBJECT_TYPES}
BY_PLURAL = {t.plural: t for t in OBJECT_TYPES}
BY_TABLE = {t.table.name: t for t in OBJECT_TYPES}
