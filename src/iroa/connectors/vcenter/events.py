"""vCenter events as plain records: who did what to which object, and when.

Pure mapping of pyVmomi ``vim.event.Event`` objects; reading them (EventManager,
collectors, paging) and storing them are separate steps. An event type IROA does
not know is kept under its type name, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyVmomi import vim, vmodl

from iroa.connectors.vcenter.mapping import as_utc

# The entity arguments an event may carry, most specific first: the record's
# object is the first one present.
_ENTITY_ARGS: tuple[tuple[str, str], ...] = (
    ("vm", "VirtualMachine"),
    ("host", "HostSystem"),
    ("ds", "Datastore"),
    ("net", "Network"),
    ("dvs", "DistributedVirtualSwitch"),
    ("computeResource", "ComputeResource"),
    ("datacenter", "Datacenter"),
)


@dataclass(frozen=True, slots=True)
class EventRecord:
    key: int
    created_at: datetime
    event_type: str
    user_name: str | None
    object_type: str | None
    object_external_id: str | None
    object_name: str | None
    message: str | None
    chain_id: int | None


def event_type_name(event: object) -> str:
    """The event's type: ``eventTypeId`` for EventEx/ExtendedEvent, else its class name."""
    type_id = getattr(event, "eventTypeId", None)
    if isinstance(type_id, str) and type_id:
        return type_id
    return type(event).__name__.rsplit(".", 1)[-1]


def event_record(event: object) -> EventRecord:
    """One event as a record; raises ValueError for an event without key or time."""
    key = getattr(event, "key", None)
    created = as_utc(getattr(event, "createdTime", None))
    if not isinstance(key, int) or created is None:
        raise ValueError(f"vCenter event without key or createdTime: {type(event).__name__}")
    object_type = object_id = object_name = None
    for arg, kind in _ENTITY_ARGS:
        argument = getattr(event, arg, None)
        if argument is None:
            continue
        entity = getattr(argument, _ENTITY_ATTR[arg], None)
        object_type = kind
        object_id = getattr(entity, "_moId", None) if entity is not None else None
        name = getattr(argument, "name", None)
        object_name = name if isinstance(name, str) else None
        break
    user = getattr(event, "userName", None)
    message = getattr(event, "fullFormattedMessage", None)
    chain = getattr(event, "chainId", None)
    return EventRecord(
        key=key,
        created_at=created,
        event_type=event_type_name(event),
        user_name=user if isinstance(user, str) and user else None,
        object_type=object_type,
        object_external_id=object_id,
        object_name=object_name,
        message=message if isinstance(message, str) and message else None,
        chain_id=chain if isinstance(chain, int) else None,
    )


# The managed-object attribute inside each EntityEventArgument subtype.
_ENTITY_ATTR: dict[str, str] = {
    "vm": "vm",
    "host": "host",
    "ds": "datastore",
    "net": "network",
    "dvs": "dvs",
    "computeResource": "computeResource",
    "datacenter": "datacenter",
}


# Which vCenter event types can explain a change of a VM, by change action and field.
_ADDED = frozenset({"VmCreatedEvent", "VmClonedEvent", "VmDeployedEvent", "VmRegisteredEvent"})
_REMOVED = frozenset({"VmRemovedEvent"})
_POWER = {
    "on": frozenset({"VmPoweredOnEvent", "DrsVmPoweredOnEvent"}),
    "off": frozenset({"VmPoweredOffEvent"}),
    "suspended": frozenset({"VmSuspendedEvent"}),
}
_MIGRATED = frozenset(
    {"VmMigratedEvent", "DrsVmMigratedEvent", "VmBeingHotMigratedEvent", "VmRelocatedEvent"}
)
_FIELD_EVENTS: dict[str, frozenset[str]] = {
    "name": frozenset({"VmRenamedEvent"}),
    "host_id": _MIGRATED,
    "cluster_id": _MIGRATED,
    **{
        field: frozenset({"VmReconfiguredEvent"})
        for field in (
            "num_cpu",
            "cores_per_socket",
            "memory_mib",
            "notes",
            "hardware_version",
            "firmware",
            "video_ram_kib",
            "num_monitors",
            "guest_id",
        )
    },
}


def compatible_event_types(
    action: str, fields: Mapping[str, Sequence[object]] | None
) -> frozenset[str]:
    """The VM event types that can explain a change row; empty when none can."""
    if action == "added":
        return _ADDED
    if action == "removed":
        return _REMOVED
    types: set[str] = set()
    for field, values in (fields or {}).items():
        if field == "power_state":
            if len(values) == 2 and isinstance(values[1], str):
                types |= _POWER.get(values[1], frozenset())
        else:
            types |= _FIELD_EVENTS.get(field, frozenset())
    return frozenset(types)


def match_event(
    action: str,
    fields: Mapping[str, Sequence[object]] | None,
    external_id: str,
    after: datetime | None,
    changed_at: datetime,
    events: Iterable[EventRecord],
) -> EventRecord | None:
    """The latest event of a compatible type about ``external_id`` with ``after < time <=
    changed_at`` (``after`` None: no lower bound), or None: a change never gets a guessed actor."""
    types = compatible_event_types(action, fields)
    best: EventRecord | None = None
    for event in events:
        if (
            event.event_type in types
            and event.object_external_id == external_id
            and event.created_at <= changed_at
            and (after is None or event.created_at > after)
            and (best is None or (event.created_at, event.key) > (best.created_at, best.key))
        ):
            best = event
    return best


class EventsUnavailable(Exception):
    """vCenter refused or failed the events read; the message is one line for the run."""


def read_events(
    content: Any, after_key: int | None, begin: datetime | None, page: int = 500
) -> list[EventRecord]:
    """The events with a key above ``after_key`` (all when None) created from ``begin`` on,
    oldest first, read page by page through an EventHistoryCollector that is destroyed after."""
    spec = vim.event.EventFilterSpec()  # type: ignore[no-untyped-call]
    if begin is not None:
        spec.time = vim.event.EventFilterSpec.ByTime(beginTime=begin)  # type: ignore[no-untyped-call]
    try:
        collector = content.eventManager.CreateCollectorForEvents(filter=spec)
        try:
            # vcsim's collectors hold only their page (10 by default); vCenter pages up to 1000.
            collector.SetCollectorPageSize(maxCount=page)
            records: dict[int, EventRecord] = {}
            while batch := collector.ReadNextEvents(maxCount=page):
                for event in batch:
                    record = event_record(event)
                    if after_key is None or record.key > after_key:
                        records[record.key] = record
        finally:
            collector.DestroyCollector()
    except vim.fault.NoPermission as exc:
        raise EventsUnavailable(
            f"vCenter events not read: permission {exc.privilegeId or '?'} missing"
        ) from exc
    except (vmodl.MethodFault, OSError, ValueError) as exc:
        raise EventsUnavailable(f"vCenter events not read: {type(exc).__name__}") from exc
    return [records[key] for key in sorted(records)]
