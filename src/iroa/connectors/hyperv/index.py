"""Lookups shared by the mapping of several object types: hosts, datastores by path, switches."""

from __future__ import annotations

from dataclasses import dataclass, field

from iroa.connectors.base import HostRecord
from iroa.connectors.hyperv.envelope import Item, as_guid, as_str

SwitchIndex = dict[tuple[str | None, str], str]
"""``(None, switch id)`` or ``(cluster id, lowercase switch name)`` -> network external id."""


@dataclass(frozen=True, slots=True)
class HostIndex:
    """Resolves the computer names cmdlets emit (``HV01``, ``hv01.corp``) to host ids."""

    ids: dict[str, str]
    clusters: dict[str, str | None]
    short_names: dict[str, str]

    @classmethod
    def of(cls, hosts: list[HostRecord]) -> HostIndex:
        """Index hosts by FQDN and by short name, upper-cased (Windows names ignore case)."""
        ids: dict[str, str] = {}
        for host in hosts:
            ids.setdefault(host.name.upper(), host.external_id)
            ids.setdefault(host.name.split(".", 1)[0].upper(), host.external_id)
        return cls(
            ids,
            {host.external_id: host.cluster_external_id for host in hosts},
            {host.external_id: host.name.split(".", 1)[0] for host in hosts},
        )

    def resolve(self, name: object) -> str | None:
        """The host a computer name denotes; on a standalone host, that host whatever the name."""
        text = as_str(name)
        found = (
            self.ids.get(text.upper()) or self.ids.get(text.split(".", 1)[0].upper())
            if text
            else None
        )
        only_host = len(self.clusters) == 1
        if found is None and only_host:
            return next(iter(self.clusters))
        return found

    def cluster_of(self, host_id: str | None) -> str | None:
        """The cluster of a host, or None for a standalone host."""
        return self.clusters.get(host_id) if host_id else None


@dataclass(slots=True)
class DatastoreLocator:
    """Finds the datastore holding a file path: the longest matching CSV, volume or share."""

    shared: list[tuple[str, str]] = field(default_factory=list)  # (prefix, datastore id)
    local: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # host id -> prefixes

    def locate(self, path: object, host_id: str | None) -> str | None:
        """The datastore id for a file on ``host_id``: CSVs anywhere, local volumes of that host."""
        text = as_str(path)
        if text is None:
            return None
        normalized = normal_path(text)
        share = share_of(normalized)
        if share is not None:
            return f"smb:{share}"
        candidates = [*self.shared, *self.local.get(host_id or "", [])]
        matches = [(prefix, ds) for prefix, ds in candidates if normalized.startswith(prefix)]
        return max(matches, key=lambda match: len(match[0]))[1] if matches else None


def normal_path(path: str) -> str:
    """A Windows path for prefix matching: backslashes, lower case, a trailing backslash."""
    normalized = path.replace("/", "\\").lower()
    return normalized if normalized.endswith("\\") else normalized + "\\"


def share_of(normalized: str) -> str | None:
    """``\\\\server\\share\\dir\\x.vhdx`` -> ``\\\\server\\share``."""
    if not normalized.startswith("\\\\") or normalized.startswith("\\\\?\\"):
        return None
    parts = normalized[2:].split("\\")
    if len(parts) < 2 or not parts[0] or not parts[1]:
        return None
    return "\\\\" + parts[0] + "\\" + parts[1]


def network_of_adapter(adapter: Item, index: HostIndex, resolve: SwitchIndex) -> str | None:
    """The network a VM adapter is connected to: by switch id, else by name in its cluster."""
    switch_id = as_guid(adapter.get("SwitchId"))
    if switch_id and (None, switch_id) in resolve:
        return resolve[(None, switch_id)]
    name = as_str(adapter.get("SwitchName"))
    cluster_id = index.cluster_of(index.resolve(adapter.get("ComputerName")))
    return resolve.get((cluster_id, name.lower())) if name else None
