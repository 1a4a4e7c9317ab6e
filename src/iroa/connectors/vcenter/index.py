"""Lookup tables one collection builds up as it goes, so mapping stays a pure function.

Records reference each other by managed object id; what a record needs from
*other* objects (its datacenter, its folder path, a portgroup's id from its
key) comes from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_CLUSTER_TYPE = "ClusterComputeResource"
_DATACENTER_TYPE = "Datacenter"


@dataclass(frozen=True, slots=True)
class Node:
    """One container in the inventory tree: folder, datacenter, compute resource, pool."""

    name: str
    parent_id: str | None
    type: str


@dataclass(frozen=True, slots=True)
class PortgroupVlan:
    """A standard port group's VLAN and virtual switch as one host configures it."""

    vlan_id: int | None
    switch_name: str | None


@dataclass(slots=True)
class InventoryIndex:
    """What mapping needs to know about objects other than the one it maps."""

    root_folder_id: str | None = None
    nodes: dict[str, Node] = field(default_factory=dict)
    host_clusters: dict[str, str | None] = field(default_factory=dict)
    portgroup_ids_by_key: dict[str, str] = field(default_factory=dict)
    network_names: dict[str, str] = field(default_factory=dict)
    switch_names: dict[str, str] = field(default_factory=dict)
    host_names: dict[str, str] = field(default_factory=dict)
    switch_facts: dict[str, dict[str, object]] = field(default_factory=dict)
    """Distributed switches' facts by switch id (see ``networking.distributed_switch``)."""
    field_names: dict[int, str] = field(default_factory=dict)
    # (datacenter id, port group name) -> what each host says about it
    host_portgroups: dict[tuple[str | None, str], set[PortgroupVlan]] = field(default_factory=dict)
    _paths: dict[str, str | None] = field(default_factory=dict)
    _datacenters: dict[str, str | None] = field(default_factory=dict)

    def add_node(self, object_id: str, name: str, parent_id: str | None, type_name: str) -> None:
        """Remember a container of the inventory tree."""
        self.nodes[object_id] = Node(name, parent_id, type_name)

    def path(self, object_id: str | None) -> str | None:
        """Inventory path of a container (``/DC0/vm/web``), or None if its chain is unknown."""
        if object_id is None:
            return None
        if object_id in self._paths:
            return self._paths[object_id]
        node = self.nodes.get(object_id)
        path: str | None
        if node is None:
            path = None
        elif node.parent_id is None or node.parent_id == self.root_folder_id:
            path = f"/{node.name}"
        else:
            parent_path = self.path(node.parent_id)
            path = None if parent_path is None else f"{parent_path}/{node.name}"
        self._paths[object_id] = path
        return path

    def datacenter_of(self, object_id: str | None) -> str | None:
        """The id of the datacenter that contains a container, if known."""
        if object_id is None:
            return None
        if object_id in self._datacenters:
            return self._datacenters[object_id]
        node = self.nodes.get(object_id)
        found: str | None
        if node is None:
            found = None
        elif node.type == _DATACENTER_TYPE:
            found = object_id
        else:
            found = self.datacenter_of(node.parent_id)
        self._datacenters[object_id] = found
        return found

    def cluster_of(self, object_id: str | None) -> str | None:
        """The id of the cluster that contains a container (a resource pool), if any."""
        seen = 0
        while object_id is not None and seen < len(self.nodes):
            node = self.nodes.get(object_id)
            if node is None:
                return None
            if node.type == _CLUSTER_TYPE:
                return object_id
            object_id, seen = node.parent_id, seen + 1
        return None

    def cluster_of_parent(self, parent_id: str | None) -> str | None:
        """The parent's id if it is a cluster (a host's parent), else None."""
        node = self.nodes.get(parent_id) if parent_id else None
        return parent_id if node is not None and node.type == _CLUSTER_TYPE else None

    def add_host_portgroup(self, datacenter_id: str | None, name: str, vlan: PortgroupVlan) -> None:
        """Record how one host configures a standard port group."""
        self.host_portgroups.setdefault((datacenter_id, name), set()).add(vlan)

    def standard_portgroup(self, datacenter_id: str | None, name: str) -> PortgroupVlan | None:
        """The VLAN of a standard port group if every host of the datacenter agrees on it."""
        seen = self.host_portgroups.get((datacenter_id, name), set())
        return next(iter(seen)) if len(seen) == 1 else None
