"""What IROA reads of each vSphere managed object type: the property paths the collector asks
the PropertyCollector for, and the API version each needs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from iroa.connectors.vcenter.devices import read_devices

_TREE_PATHS = ("name", "parent")


PROPERTIES: Final[Mapping[str, tuple[str, ...]]] = {
    "Folder": _TREE_PATHS,
    "Datacenter": (*_TREE_PATHS, "customValue"),
    # configurationEx as a whole: vCenter refuses paths into it (its declared
    # type lacks dasConfig), although vcsim would accept them.
    "ClusterComputeResource": (
        *_TREE_PATHS,
        "configurationEx",
        "customValue",
        "overallStatus",
        "summary.numCpuCores",
        "summary.numCpuThreads",
        "summary.numHosts",
        "summary.totalCpu",
        "summary.totalMemory",
    ),
    "ComputeResource": _TREE_PATHS,
    "ResourcePool": (
        *_TREE_PATHS,
        "config.cpuAllocation",
        "config.memoryAllocation",
        "overallStatus",
        *(
            f"runtime.{resource}.{usage}"
            for resource in ("cpu", "memory")
            for usage in (
                "maxUsage",
                "reservationUsed",
                "reservationUsedForVm",
                "unreservedForPool",
                "unreservedForVm",
            )
        ),
    ),
    "HostSystem": (
        *_TREE_PATHS,
        "config.network.pnic",
        "config.network.portgroup",
        "config.network.proxySwitch",
        "config.network.vnic",
        "config.network.vswitch",
        "config.storageDevice.hostBusAdapter",
        "config.storageDevice.multipathInfo.lun",
        "config.storageDevice.scsiLun",
        "customValue",
        "datastore",
        "overallStatus",
        "runtime.bootTime",
        "runtime.connectionState",
        "runtime.inMaintenanceMode",
        "runtime.powerState",
        "summary.config.product",
        "summary.hardware",
        "summary.quickStats.overallCpuUsage",
        "summary.quickStats.overallMemoryUsage",
        "summary.quickStats.uptime",
    ),
    "Datastore": (*_TREE_PATHS, "customValue", "host", "overallStatus", "summary"),
    "Network": (*_TREE_PATHS, "customValue"),
    "DistributedVirtualPortgroup": (
        *_TREE_PATHS,
        "config.defaultPortConfig",
        "config.distributedVirtualSwitch",
        "config.numPorts",
        "config.policy",
        "config.type",
        "customValue",
        "key",
    ),
    # config as a whole, as for clusters: its declared type lacks maxMtu and the LACP groups.
    # Not summary.vm: it changes with every VM connected, and a watcher would read it all.
    "DistributedVirtualSwitch": (
        *_TREE_PATHS,
        "config",
        "summary.description",
        "summary.hostMember",
        "summary.productInfo",
    ),
    "VirtualMachine": (
        *_TREE_PATHS,
        "config.annotation",
        "config.createDate",
        "config.files.vmPathName",
        "config.firmware",
        "config.guestFullName",
        "config.guestId",
        "config.hardware.device",
        "config.hardware.memoryMB",
        "config.hardware.numCPU",
        "config.hardware.numCoresPerSocket",
        "config.instanceUuid",
        "config.template",
        "config.uuid",
        "config.version",
        "customValue",
        "datastore",
        "guestHeartbeatStatus",
        "guest.disk",
        "guest.guestFullName",
        "guest.guestState",
        "guest.hostName",
        "guest.ipAddress",
        "guest.net",
        "guest.toolsRunningStatus",
        "guest.toolsStatus",
        "guest.toolsVersion",
        "guest.toolsVersionStatus2",
        "network",
        "overallStatus",
        "resourcePool",
        "runtime.bootTime",
        "runtime.connectionState",
        "runtime.consolidationNeeded",
        "runtime.host",
        "runtime.powerState",
        "snapshot",
        "summary.quickStats.guestMemoryUsage",
        "summary.quickStats.hostMemoryUsage",
        "summary.quickStats.overallCpuUsage",
        "summary.quickStats.uptimeSeconds",
        "summary.storage.committed",
        "summary.storage.uncommitted",
    ),
}
"""The properties read per managed entity type (subtypes included), keyed by vSphere type name.

Each type is listed with a ContainerView; a benchmark can retrieve exactly
these to compare with :func:`collect_inventory`.
"""


def _fields(*names: str, **nested: Mapping[str, object]) -> dict[str, object]:
    return {**dict.fromkeys(names), **nested}


_HOST_POLICY = _fields(
    "security",
    "offloadPolicy",
    "shapingPolicy",
    nicTeaming=_fields("policy", "reversePolicy", "notifySwitches", "rollingOrder"),
)
_SNAPSHOT_TREE = _fields("snapshot", "name", "description", "createTime", "state")
_SNAPSHOT_TREE["childSnapshotList"] = _SNAPSHOT_TREE

KEPT: Final[Mapping[str, Mapping[str, object]]] = {
    "ClusterComputeResource": {
        "configurationEx": _fields(
            dasConfig=_fields("enabled"), drsConfig=_fields("enabled", "defaultVmBehavior")
        ),
    },
    "HostSystem": {
        "config.network.pnic": _fields(
            "key", "device", "driver", "pci", "mac", "wakeOnLanSupported", "linkSpeed"
        ),
        "config.network.portgroup": _fields(
            spec=_fields("name", "vlanId", "vswitchName"), computedPolicy=_HOST_POLICY
        ),
        "config.network.proxySwitch": _fields(
            "dvsName",
            "uplinkPort",
            spec=_fields(backing=_fields(pnicSpec=_fields("pnicDevice", "uplinkPortKey"))),
        ),
        "config.network.vnic": _fields(
            "device",
            "portgroup",
            spec=_fields(
                "mac",
                "mtu",
                "portgroup",
                ip=_fields(
                    "dhcp",
                    "ipAddress",
                    "subnetMask",
                    ipV6Config=_fields(ipV6Address=_fields("ipAddress", "prefixLength")),
                ),
                ipRouteSpec=_fields(ipRouteConfig=_fields("defaultGateway", "ipV6DefaultGateway")),
            ),
        ),
        "config.network.vswitch": _fields(
            "name",
            "pnic",
            "numPorts",
            "numPortsAvailable",
            "mtu",
            spec=_fields(policy=_HOST_POLICY),
        ),
        "config.storageDevice.hostBusAdapter": _fields(
            "device",
            "bus",
            "status",
            "model",
            "driver",
            "pci",
            "portWorldWideName",
            "iScsiName",
        ),
        "config.storageDevice.multipathInfo.lun": _fields(
            "lun",
            path=_fields("name", "pathState", "state", "isWorkingPath"),
            policy=_fields("policy"),
            storageArrayTypePolicy=_fields("policy"),
        ),
        "config.storageDevice.scsiLun": _fields(
            "key",
            "canonicalName",
            "displayName",
            "vendor",
            "model",
            "revision",
            "scsiLevel",
            "serialNumber",
            "uuid",
            "queueDepth",
            "operationalState",
            "vStorageSupport",
        ),
    },
    "DistributedVirtualSwitch": {
        "config": _fields(
            "createTime",
            "maxPorts",
            "numPorts",
            "maxMtu",
            "contact",
            "linkDiscoveryProtocolConfig",
            lacpGroupConfig=_fields("name", "mode", "loadbalanceAlgorithm"),
            defaultPortConfig=_fields("inShapingPolicy", "outShapingPolicy"),
        ),
    },
    "VirtualMachine": {
        "config.hardware.device": read_devices,
        "guest.disk": _fields("diskPath", "capacity", "freeSpace", mappings=_fields("key")),
        "guest.net": _fields("deviceConfigId", "macAddress", "ipAddress"),
        "snapshot": _fields("currentSnapshot", rootSnapshotList=_SNAPSHOT_TREE),
    },
}
"""Of the large values among :data:`PROPERTIES`, the fields the mapping reads, nested (None:
the whole value): the lean decoder builds nothing else. A property not listed is built whole;
a VM's devices are read straight into :class:`~iroa.connectors.vcenter.devices.DeviceFacts`."""


UNWATCHED: Final = frozenset({"guest.disk"})
"""Paths a full collection reads that a watcher's filter leaves out: a guest's free space
changes as it writes, and watching it would read VMs again all the time. A VM read again for
another change has them anew; the next full sync records the rest.

(A pool's ``runtime.*.overallUsage``, its live consumption, is not read at all, as a VM's
assigned memory is not: it changes on every read and would make every pool look modified.)"""


SEARCH_PATHS: Final = ("name", "summary.type", "summary.accessible", "browser")
"""Read apart, by full reads that search the datastores for orphaned disks
(:mod:`~iroa.connectors.vcenter.disks`): which datastores can be searched, and their
browsers."""

LAYOUT_PATHS: Final = ("layoutEx",)
"""Read apart, and only for the VMs that have snapshots: a VM's file layout, for its
snapshots' sizes (:mod:`~iroa.connectors.vcenter.layout`). Not among :data:`PROPERTIES`, so
no watch's filter holds it: its file sizes change as the VM writes its logs and deltas. A
watch that reads a VM again for another change reads its layout with it, the same way."""


CUSTOM_FIELDS_PATHS: Final = ("field",)
"""Read from the CustomFieldsManager (not an entity) for the names of custom attributes."""


_MIN_API_VERSION: Final[Mapping[str, tuple[int, ...]]] = {"config.createDate": (6, 7)}


USAGE_PREFIX: Final = "summary.quickStats."
"""Paths under it are a moment's usage (CPU, memory, uptime): vCenter refreshes them about
every 20 s for every running VM and host, so a watch leaves them out (:func:`watched_paths_for`)."""


def paths_for(type_name: str, api_version: tuple[int, ...]) -> tuple[str, ...]:
    """The paths of :data:`PROPERTIES` for a type that a server of ``api_version`` knows."""
    return tuple(
        path for path in PROPERTIES[type_name] if api_version >= _MIN_API_VERSION.get(path, ())
    )


def watched_paths_for(type_name: str, api_version: tuple[int, ...]) -> tuple[str, ...]:
    """The paths a watch's filter holds: :func:`paths_for` without the usage figures, whose
    constant change would wake the watch for every running VM (they are read again with
    any object a watch reads, and by every full collection), and without :data:`UNWATCHED`."""
    return tuple(
        path
        for path in paths_for(type_name, api_version)
        if not path.startswith(USAGE_PREFIX) and path not in UNWATCHED
    )
