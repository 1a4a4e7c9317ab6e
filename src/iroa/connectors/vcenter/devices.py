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

from dataclasses import dataclass, field, replace
from enum import Enum, auto
from typing import TYPE_CHECKING, Any, Final, NamedTuple, cast

from lxml import etree
from pyVmomi import vim

from iroa.connectors.vcenter.retrieval import moref_id
from iroa.connectors.vcenter.wire import VIM25

if TYPE_CHECKING:
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
_Cdrom = vim.vm.device.VirtualCdrom
_Usb = vim.vm.device.VirtualUSB
_UsbController = vim.vm.device.VirtualUSBController
_UsbXhciController = vim.vm.device.VirtualUSBXHCIController
_DeviceBacking = vim.vm.device.VirtualDevice.DeviceBackingInfo
_RemoteDeviceBacking = vim.vm.device.VirtualDevice.RemoteDeviceBackingInfo


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


class MediaFacts(NamedTuple):
    """A CD/DVD drive or a USB device as the mapping reads it (raw values)."""

    key: object
    label: object
    usb: bool
    connected: object
    """A USB device's own ``connected``; a drive's from its connection state."""
    start_connected: object
    backing_name: object
    """An ISO file's path, or the name of the device behind it (None: neither)."""
    controller_key: object
    unit_number: object
    family: list[str]
    speed: list[str]


class UsbControllerFacts(NamedTuple):
    """A USB controller as the mapping reads it (raw values)."""

    bus_number: object
    auto_connect: object
    ehci_enabled: object
    """Only USB 2 controllers have it: None on an xHCI (USB 3) one."""


@dataclass(frozen=True, slots=True)
class Devices:
    """A VM's devices as the mapping reads them: the labels of the disks' controllers by
    key (a disk's controller is named by it), the disks, the network adapters and the video
    card, the CD/DVD drives and USB devices and the USB controllers by key."""

    labels: dict[object, object]
    disks: list[DiskFacts]
    nics: list[NicFacts]
    video: VideoFacts | None = None
    media: list[MediaFacts] = field(default_factory=list)
    usb_controllers: dict[object, UsbControllerFacts] = field(default_factory=dict)


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
        elif isinstance(device, _Cdrom | _Usb):
            connectable = device.connectable
            connect_info = connectable if isinstance(connectable, _Connectable) else None
            usb = isinstance(device, _Usb)
            usb_device: Any = device
            if usb:
                connected = usb_device.connected
            else:
                connected = connect_info.connected if connect_info is not None else None
            if isinstance(backing, _FileBacking):
                backing_name = backing.fileName
            elif isinstance(backing, _DeviceBacking | _RemoteDeviceBacking):
                backing_name = backing.deviceName
            else:
                backing_name = None
            found.media.append(
                MediaFacts(
                    device.key,
                    label,
                    usb,
                    connected,
                    connect_info.startConnected if connect_info is not None else None,
                    backing_name,
                    device.controllerKey,
                    device.unitNumber,
                    list(usb_device.family) if usb else [],
                    list(usb_device.speed) if usb else [],
                )
            )
        elif isinstance(device, _UsbController | _UsbXhciController):
            found.usb_controllers[device.key] = UsbControllerFacts(
                device.busNumber,
                device.autoConnectDevices,
                device.ehciEnabled if isinstance(device, _UsbController) else None,
            )
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
    return replace(found, video=video, labels=_controllers(found.labels, found.disks))


def read_devices(decoder: LeanDecoder, array: etree._Element) -> Devices:
    """The facts of the devices in an ``ArrayOfVirtualDevice`` element of an answer, each
    field read off the XML as pyVmomi would decode it (no device object is built)."""
    found = Devices({}, [], [])
    video: VideoFacts | None = None
    for element in array:
        cls = decoder.class_of(element, _VirtualDevice)
        kind = _kind_of(cls)
        if kind is _Kind.DISK:
            found.disks.append(_read_disk(decoder, element, cls))
        elif kind is _Kind.NIC:
            found.nics.append(_read_nic(decoder, element, cls))
        elif kind is _Kind.MEDIA:
            found.media.append(_read_media(decoder, element, cls))
        elif kind is _Kind.VIDEO and video is None:
            video = VideoFacts(*decoder.read_fields(element, cls, _VIDEO))
        elif kind is _Kind.USB_CONTROLLER:
            key, *facts = decoder.read_fields(element, cls, _USB_CONTROLLER)
            found.usb_controllers[key] = UsbControllerFacts(*facts)
    return replace(found, video=video, labels=_controller_labels(decoder, array, found.disks))


_VIDEO: Final = ("videoRamSizeInKB", "numDisplays")
_USB_CONTROLLER: Final = ("key", "busNumber", "autoConnectDevices", "ehciEnabled")
_RAW: Final = frozenset({"deviceInfo", "backing", "connectable", "port"})
_DISK: Final = (
    "key",
    "deviceInfo",
    "controllerKey",
    "capacityInBytes",
    "capacityInKB",
    "unitNumber",
    "backing",
)
_DISK_BACKING: Final = (
    "fileName",
    "datastore",
    "thinProvisioned",
    "diskMode",
    "sharing",
    "eagerlyScrub",
    "uuid",
    "compatibilityMode",
)
_NIC: Final = ("key", "deviceInfo", "macAddress", "backing", "connectable")
_NIC_BACKING: Final = ("network", "deviceName", "port")
_MEDIA: Final = (
    "key",
    "deviceInfo",
    "connected",
    "controllerKey",
    "unitNumber",
    "family",
    "speed",
    "backing",
    "connectable",
)
_MEDIA_BACKING: Final = ("fileName", "deviceName")
_CONNECTED: Final = ("connected", "startConnected")


def _backing(
    decoder: LeanDecoder, element: etree._Element | None, names: tuple[str, ...]
) -> tuple[Any, list[Any]]:
    """A device's backing element: its class (None: not sent) and the fields ``names`` (of
    a class without such a field, None, as :func:`getattr` gives)."""
    if element is None:
        return None, [None] * len(names)
    cls = decoder.class_of(element, _Backing)
    return cls, decoder.read_fields(element, cls, names, _RAW)


def _read_disk(decoder: LeanDecoder, element: etree._Element, cls: type) -> DiskFacts:
    """A virtual disk's facts off the XML, as :func:`facts_of` reads them."""
    key, info, controller, capacity, capacity_kb, unit, backing_element = decoder.read_fields(
        element, cls, _DISK, _RAW
    )
    backing_cls, (file_name, datastore, thin, mode, sharing, scrub, uuid, compatibility) = _backing(
        decoder, backing_element, _DISK_BACKING
    )
    file_backed = backing_cls is not None and issubclass(backing_cls, _FileBacking)
    return DiskFacts(
        key,
        _label(decoder, info),
        controller,
        capacity,
        capacity_kb,
        file_backed,
        file_name if file_backed else None,
        moref_id(datastore) if file_backed else None,
        thin,
        mode,
        unit,
        backing_cls is not None and issubclass(backing_cls, _RawBacking),
        sharing,
        scrub,
        uuid,
        compatibility,
    )


def _read_nic(decoder: LeanDecoder, element: etree._Element, cls: type) -> NicFacts:
    """A network adapter's facts off the XML, as :func:`facts_of` reads them."""
    key, info, mac, backing_element, connectable = decoder.read_fields(element, cls, _NIC, _RAW)
    backing_cls, (network, device_name, port) = _backing(decoder, backing_element, _NIC_BACKING)
    port_backed = backing_cls is not None and issubclass(backing_cls, _PortBacking)
    network_backed = backing_cls is not None and issubclass(backing_cls, _NetworkBacking)
    return NicFacts(
        key,
        _label(decoder, info),
        cls.__name__,
        mac,
        port_backed,
        moref_id(network) if network_backed else None,
        device_name if network_backed else None,
        decoder.field(port, _PortConnection, "portgroupKey")
        if port_backed and port is not None
        else None,
        decoder.field(connectable, _Connectable, "connected") if connectable is not None else None,
    )


def _label(decoder: LeanDecoder, info: etree._Element | None) -> object:
    """A device's ``deviceInfo.label`` off its ``deviceInfo`` element (None: no description)."""
    return decoder.field(info, _Description, "label") if info is not None else None


def _controller_labels(
    decoder: LeanDecoder, array: etree._Element, disks: list[DiskFacts]
) -> dict[object, object]:
    """The labels of the disks' controllers by key (where two devices share a key, the
    later one's counts, as in :func:`facts_of`), each device found by libxml2: a VM's other
    devices are not looked at in Python."""
    labels: dict[object, object] = {}
    for key in dict.fromkeys(disk.controller_key for disk in disks):
        if not isinstance(key, int):
            continue
        for element in cast(list[etree._Element], _DEVICE_WITH_KEY(array, key=key)):
            cls = decoder.class_of(element, _VirtualDevice)
            if issubclass(cls, _VirtualDevice):
                info = decoder.read_fields(element, cls, ("deviceInfo",), _RAW)[0]
                labels[key] = _label(decoder, info)
    return labels


_DEVICE_WITH_KEY: Final = etree.XPath("*[v:key = $key][last()]", namespaces={"v": VIM25})


def _controllers(labels: dict[object, object], disks: list[DiskFacts]) -> dict[object, object]:
    """Of every device's label by key, those of the disks' controllers."""
    return {
        disk.controller_key: labels[disk.controller_key]
        for disk in disks
        if disk.controller_key in labels
    }


class _Kind(Enum):
    """Which facts :func:`read_devices` reads of a device class."""

    NOT_A_DEVICE = auto()
    DISK = auto()
    VIDEO = auto()
    MEDIA = auto()
    USB_CONTROLLER = auto()
    NIC = auto()
    OTHER = auto()
    """Its key and label, if it is a disk's controller."""


_KIND_CLASSES: Final = (
    (_VirtualDisk, _Kind.DISK),
    (_VideoCard, _Kind.VIDEO),
    (_Cdrom | _Usb, _Kind.MEDIA),
    (_UsbController | _UsbXhciController, _Kind.USB_CONTROLLER),
    (_EthernetCard, _Kind.NIC),
)
_KINDS: dict[type, _Kind] = {}


def _kind_of(cls: type) -> _Kind:
    """The kind of a device class, found once per class (a VM has a dozen devices)."""
    kind = _KINDS.get(cls)
    if kind is None:
        if not issubclass(cls, _VirtualDevice):
            kind = _Kind.NOT_A_DEVICE
        else:
            kind = next((k for types, k in _KIND_CLASSES if issubclass(cls, types)), _Kind.OTHER)
        _KINDS[cls] = kind
    return kind


def _read_media(decoder: LeanDecoder, element: etree._Element, cls: type) -> MediaFacts:
    """A CD/DVD drive's or USB device's facts off the XML, as :func:`facts_of` reads them."""
    key, info, connected, controller, unit, family, speed, backing_element, connectable = (
        decoder.read_fields(element, cls, _MEDIA, _RAW)
    )
    backing_cls, (file_name, device_name) = _backing(decoder, backing_element, _MEDIA_BACKING)
    backing_name: object = None
    if backing_cls is not None and issubclass(backing_cls, _FileBacking):
        backing_name = file_name
    elif backing_cls is not None and issubclass(backing_cls, _DeviceBacking | _RemoteDeviceBacking):
        backing_name = device_name
    drive_connected, start_connected = (
        decoder.read_fields(connectable, _Connectable, _CONNECTED)
        if connectable is not None
        else (None, None)
    )
    usb = issubclass(cls, _Usb)
    return MediaFacts(
        key,
        _label(decoder, info),
        usb,
        connected if usb else drive_connected,
        start_connected,
        backing_name,
        controller,
        unit,
        list(family) if usb else [],
        list(speed) if usb else [],
    )
