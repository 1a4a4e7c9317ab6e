"""vCenter events as plain records: who did what to which object, and when.

Pure mapping of pyVmomi ``vim.event.Event`` objects; reading them (EventManager,
collectors, paging) and storing them are separate steps. An event type IROA does
not know is kept under its type name, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
