"""What IROA reads of a VM's virtual devices, from pyVmomi objects or straight from the answer.

A VM's ``config.hardware.device`` is most of what a full read decodes: a dozen
devices per VM, each with its description, backing and connection state. The
mapping needs a few facts of each (:class:`Devices`). With pyVmomi they are
read off its device objects (:func:`facts_of`); the lean decoder reads them off
the answer's XML (:func:`read_devices`) without building a device object at
all. Both read each field as pyVmomi would have it — the value the server sent,
else the value pyVmomi gives a field it did not send — so the records are the
same (``tests/connectors/vcenter/test_decoder.py`` holds them equal).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from pyVmomi import vim

from iroa.connectors.vcenter.retrieval import moref_id
from iroa.connectors.vcenter.wire import VIM25

if TYPE_CHECKING:
    from lxml import etree

    from iroa.connectors.vcenter.decoder import LeanDecoder

_KIB = 1024
# Resolved once: every attribute lookup on pyVmomi's lazy type modules costs a locked search.
_VirtualDevice = vim.vm.device.VirtualDevice
_VirtualDisk = vim.vm.device.VirtualDisk
_RawBacking = vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo
_VideoCard = vim.vm.device.VirtualVideoCard
_FileBacking = vim.vm.device.VirtualDevice.FileBackingInfo
_EthernetCard = vim.vm.device.VirtualEthernetCard
_NetworkBacking = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo
_PortBacking = vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo
_Description = vim.Description
_Connectable = vim.vm.device.VirtualDevice.ConnectInfo
_PortConnection = vim.dvs.PortConnection
_Backing = vim.vm.device.VirtualDevice.BackingInfo
_DEVICE_INFO: Final = f"{{{VIM25}}}deviceInfo"
_BACKING: Final = f"{{{VIM25}}}backing"
_CONNECTABLE: Final = f"{{{VIM25}}}connectable"
_PORT: Final = f"{{{VIM25}}}port"


class DiskFacts(NamedTuple):
    """A virtual disk as the mapping reads it (raw values: the mapping cleans them)."""

    key: object
    label: object
    controller_key: object
    capacity_in_bytes: object
    capacity_in_kb: object
    file_backed: bool
    file_name: object
    datastore: str | None
    thin_provisioned: object
    disk_mode: object
    unit_number: object
    raw: bool
    """Backed by a raw device mapping (RDM)."""
    sharing: object
    eagerly_scrub: object
    uuid: object
    compatibility_mode: object
    """An RDM's ``physicalMode`` or ``virtualMode``."""


class VideoFacts(NamedTuple):
    """A VM's video card as the mapping reads it (raw values: the mapping cleans them)."""

    video_ram_kib: object
    displays: object


class NicFacts(NamedTuple):
    """A network adapter as the mapping reads it (raw values: the mapping cleans them)."""

    key: object
    label: object
    class_name: str
    """pyVmomi's class name (``vim.vm.device.VirtualVmxnet3``): the adapter type."""
    mac_address: object
    port_backed: bool
    network: str | None
    """A standard network backing's network id."""
    device_name: object
    portgroup_key: object
    connected: object


@dataclass(frozen=True, slots=True)
class Devices:
    """A VM's devices as the mapping reads them: every device's label by key (a disk's
    controller is named by it), the disks, the network adapters and the video card."""

    labels: dict[object, object]
    disks: list[DiskFacts]
    nics: list[NicFacts]
    video: VideoFacts | None = None


def facts_of(devices: object) -> Devices:
    """The facts of a VM's devices: pyVmomi device objects, or what the lean decoder read."""
    if isinstance(devices, Devices):
        return devices
    found = Devices({}, [], [])
    video: VideoFacts | None = None
    for device in devices if isinstance(devices, list) else ():
        if not isinstance(device, _VirtualDevice):
            continue
        info = device.deviceInfo
        label = info.label if isinstance(info, _Description) else None
        found.labels[device.key] = label
        backing: Any = device.backing
        if isinstance(device, _VirtualDisk):
            file_backed = isinstance(backing, _FileBacking)
            found.disks.append(
                DiskFacts(
                    device.key,
                    label,
                    device.controllerKey,
                    device.capacityInBytes,
                    device.capacityInKB,
                    file_backed,
                    backing.fileName if file_backed else None,
                    moref_id(backing.datastore) if file_backed else None,
                    # Not every backing type has these (RDMs have no thin flag).
                    getattr(backing, "thinProvisioned", None),
                    getattr(backing, "diskMode", None),
                    device.unitNumber,
                    isinstance(backing, _RawBacking),
                    getattr(backing, "sharing", None),
                    getattr(backing, "eagerlyScrub", None),
                    getattr(backing, "uuid", None),
                    getattr(backing, "compatibilityMode", None),
                )
            )
        elif isinstance(device, _VideoCard) and video is None:
            video = VideoFacts(device.videoRamSizeInKB, device.numDisplays)
        elif isinstance(device, _EthernetCard):
            connectable = device.connectable
            port = backing.port if isinstance(backing, _PortBacking) else None
            network_backed = isinstance(backing, _NetworkBacking)
            found.nics.append(
                NicFacts(
                    device.key,
                    label,
                    type(device).__name__,
                    device.macAddress,
                    isinstance(backing, _PortBacking),
                    moref_id(backing.network) if network_backed else None,
                    backing.deviceName if network_backed else None,
                    port.portgroupKey if isinstance(port, _PortConnection) else None,
                    connectable.connected if isinstance(connectable, _Connectable) else None,
                )
            )
    return replace(found, video=video)


def read_devices(decoder: LeanDecoder, array: etree._Element) -> Devices:
    """The facts of the devices in an ``ArrayOfVirtualDevice`` element of an answer, each
    field read off the XML as pyVmomi would decode it (no device object is built)."""
    found = Devices({}, [], [])
    video: VideoFacts | None = None
    field = decoder.field
    for element in array:
        cls = decoder.class_of(element, _VirtualDevice)
        if not issubclass(cls, _VirtualDevice):
            continue
        key = field(element, cls, "key")
        info = next(element.iterchildren(_DEVICE_INFO), None)
        label = field(info, _Description, "label") if info is not None else None
        found.labels[key] = label
        backing: Any = next(element.iterchildren(_BACKING), None)
        backing_class = decoder.class_of(backing, _Backing) if backing is not None else None
        if issubclass(cls, _VirtualDisk):
            file_backed = backing_class is not None and issubclass(backing_class, _FileBacking)
            found.disks.append(
                DiskFacts(
                    key,
                    label,
                    field(element, cls, "controllerKey"),
                    field(element, cls, "capacityInBytes"),
                    field(element, cls, "capacityInKB"),
                    file_backed,
                    field(backing, backing_class, "fileName") if file_backed else None,
                    moref_id(field(backing, backing_class, "datastore")) if file_backed else None,
                    field(backing, backing_class, "thinProvisioned") if backing_class else None,
                    field(backing, backing_class, "diskMode") if backing_class else None,
                    field(element, cls, "unitNumber"),
                    backing_class is not None and issubclass(backing_class, _RawBacking),
                    field(backing, backing_class, "sharing") if backing_class else None,
                    field(backing, backing_class, "eagerlyScrub") if backing_class else None,
                    field(backing, backing_class, "uuid") if backing_class else None,
                    field(backing, backing_class, "compatibilityMode") if backing_class else None,
                )
            )
        elif issubclass(cls, _VideoCard) and video is None:
            video = VideoFacts(
                field(element, cls, "videoRamSizeInKB"), field(element, cls, "numDisplays")
            )
        elif issubclass(cls, _EthernetCard):
            connectable: Any = next(element.iterchildren(_CONNECTABLE), None)
            port_backed = backing_class is not None and issubclass(backing_class, _PortBacking)
            network_backed = backing_class is not None and issubclass(
                backing_class, _NetworkBacking
            )
            port: Any = next(backing.iterchildren(_PORT), None) if port_backed else None
            found.nics.append(
                NicFacts(
                    key,
                    label,
                    cls.__name__,
                    field(element, cls, "macAddress"),
                    port_backed,
                    moref_id(field(backing, backing_class, "network")) if network_backed else None,
                    field(backing, backing_class, "deviceName") if network_backed else None,
                    field(port, _PortConnection, "portgroupKey") if port is not None else None,
                    field(connectable, _Connectable, "connected")
                    if connectable is not None
                    else None,
                )
            )
    return replace(found, video=video)
