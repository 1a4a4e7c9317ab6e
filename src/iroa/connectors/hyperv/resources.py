"""Hyper-V datastores (cluster shared volumes and local volumes) and networks (virtual
switches, with the VLANs their adapters use)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from iroa.connectors.base import (
    DatastoreRecord,
    NetworkRecord,
)
from iroa.connectors.hyperv.envelope import (
    Envelope,
    Item,
    as_bool,
    as_guid,
    as_int,
    as_list,
    as_str,
    code_or,
    enum_code,
    items,
)
from iroa.connectors.hyperv.index import (
    DatastoreLocator,
    HostIndex,
    SwitchIndex,
    network_of_adapter,
    normal_path,
    share_of,
)

if TYPE_CHECKING:
    from iroa.connectors.hyperv.mapping import ClusterIdentity


_CSV_STATES = {0: "Inherited", 1: "Initializing", 2: "Online", 3: "Offline", 4: "Failed"}


_CSV_ONLINE = 2


SWITCH_TYPES = {0: "private", 1: "internal", 2: "external"}


_VLAN_ACCESS_MODE = 1


def map_datastores(
    envelope: Envelope, index: HostIndex, cluster: ClusterIdentity | None
) -> tuple[list[DatastoreRecord], DatastoreLocator]:
    """Cluster shared volumes, local volumes and the SMB shares VM files live on."""
    locator = DatastoreLocator()
    records: dict[str, DatastoreRecord] = {}
    for csv in items(envelope, "Get-ClusterSharedVolume"):
        external_id = as_guid(csv.get("Id"))
        if external_id is None:
            continue
        infos = [info for info in as_list(csv.get("SharedVolumeInfo")) if isinstance(info, dict)]
        info: Item = infos[0] if infos else {}
        raw_partition = info.get("Partition")
        partition: Item = raw_partition if isinstance(raw_partition, dict) else {}
        path = as_str(info.get("FriendlyVolumeName"))
        maintenance = as_bool(info.get("MaintenanceMode"))
        state = enum_code(csv.get("State"), _CSV_STATES)
        if path:
            locator.shared.append((normal_path(path), external_id))
        records[external_id] = DatastoreRecord(
            external_id=external_id,
            name=as_str(csv.get("Name")) or path or external_id,
            cluster_external_id=cluster.external_id if cluster else None,
            type="CSV",
            file_system=as_str(partition.get("FileSystem")),
            url=path,
            capacity_bytes=as_int(partition.get("Size")),
            free_bytes=as_int(partition.get("FreeSpace")),
            accessible=None if state is None else state == _CSV_ONLINE,
            maintenance_mode=None
            if maintenance is None
            else "inMaintenance"
            if maintenance
            else "normal",
        )
    for volume in items(envelope, "Get-Volume"):
        external_id = (as_str(volume.get("UniqueId")) or as_str(volume.get("Path")) or "").lower()
        host_id = index.resolve(volume.get("ComputerName"))
        if not external_id or external_id in records:
            continue
        letter = as_str(volume.get("DriveLetter"))
        label = as_str(volume.get("FileSystemLabel"))
        file_system = as_str(volume.get("FileSystem"))
        drive = f"{letter[0].upper()}:" if letter else None
        if drive and host_id:
            locator.local.setdefault(host_id, []).append((normal_path(drive), external_id))
        host_name = index.short_names.get(host_id or "", "")
        name = " ".join(part for part in (host_name, drive or label or external_id) if part)
        if drive and label:
            name += f" ({label})"
        records[external_id] = DatastoreRecord(
            external_id=external_id,
            name=name,
            cluster_external_id=None,
            type=file_system,
            file_system=file_system,
            url=f"{drive}\\" if drive else as_str(volume.get("Path")),
            capacity_bytes=as_int(volume.get("Size")),
            free_bytes=as_int(volume.get("SizeRemaining")),
            accessible=True,
        )
    paths = [item.get("Path") for item in items(envelope, "Get-VMHardDiskDrive")]
    paths += [item.get("ConfigurationLocation") for item in items(envelope, "Get-VM")]
    for path in paths:
        text = as_str(path)
        share = share_of(normal_path(text)) if text else None
        if text and share and f"smb:{share}" not in records:
            written = "\\\\" + "\\".join(text.replace("/", "\\").lstrip("\\").split("\\")[:2])
            records[f"smb:{share}"] = DatastoreRecord(
                external_id=f"smb:{share}", name=written, type="SMB", url=written
            )
    return list(records.values()), locator


def map_networks(
    envelope: Envelope, index: HostIndex, adapters: list[Item]
) -> tuple[list[NetworkRecord], SwitchIndex]:
    """Virtual switches as networks; also how (cluster, switch id or name) resolves to one."""
    resolve: SwitchIndex = {}
    switches: dict[str, tuple[str, Item]] = {}
    for switch in items(envelope, "Get-VMSwitch"):
        name = as_str(switch.get("Name"))
        switch_id = as_guid(switch.get("Id"))
        if name is None or switch_id is None:
            continue
        cluster_id = index.cluster_of(index.resolve(switch.get("ComputerName")))
        external_id = f"{cluster_id}:{name.lower()}" if cluster_id else switch_id
        switches.setdefault(external_id, (name, switch))
        resolve[(None, switch_id)] = external_id
        resolve.setdefault((cluster_id, name.lower()), external_id)
    vlans: dict[str, set[int]] = defaultdict(set)
    for adapter in adapters:
        network_id = network_of_adapter(adapter, index, resolve)
        vlan = _access_vlan(adapter)
        if network_id is not None and vlan is not None:
            vlans[network_id].add(vlan)
    records: list[NetworkRecord] = []
    for external_id, (name, switch) in switches.items():
        used = sorted(vlans.get(external_id, ()))
        records.append(
            NetworkRecord(
                external_id=external_id,
                name=name,
                type=SWITCH_TYPES.get(code_or(enum_code(switch.get("SwitchType"), SWITCH_TYPES))),
                vlan_id=used[0] if len(used) == 1 else None,
                vlan=",".join(str(vlan) for vlan in used) or None,
                switch_name=name,
            )
        )
    return records, resolve


def host_switches(envelope: Envelope, index: HostIndex) -> dict[str, tuple[dict[str, str], ...]]:
    """The virtual switches each host has, by host id, as the vSwitch sheet lists them (their
    name: nothing else the sheet shows is collected)."""
    found: dict[str, set[str]] = defaultdict(set)
    for switch in items(envelope, "Get-VMSwitch"):
        name = as_str(switch.get("Name"))
        host_id = index.resolve(switch.get("ComputerName"))
        if name is not None and host_id is not None:
            found[host_id].add(name)
    return {host: tuple({"name": n} for n in sorted(names)) for host, names in found.items()}


def _access_vlan(adapter: Item) -> int | None:
    setting = adapter.get("VlanSetting")
    if not isinstance(setting, dict):
        return None
    mode = enum_code(setting.get("OperationMode"), {0: "Untagged", 1: "Access", 2: "Trunk"})
    vlan = as_int(setting.get("AccessVlanId"))
    return vlan if mode == _VLAN_ACCESS_MODE and vlan else None
