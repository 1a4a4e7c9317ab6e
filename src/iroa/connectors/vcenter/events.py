"""vCenter events as plain records: who did what to which object, and when.

Events are read through an EventHistoryCollector (:func:`read_events`) and mapped
from pyVmomi's ``vim.event.Event`` objects (:func:`event_record`); storing them and
joining them to changes is the sync engine's. An event type IROA does not know is
kept under its type name, never dropped.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from pyVmomi import vim, vmodl

from iroa.connectors.base import EventCursor, EventRecord, EventsUnavailableError
from iroa.connectors.vcenter.decoder import LeanDecoder
from iroa.connectors.vcenter.mapping import as_utc

log = logging.getLogger(__name__)

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
    # A GeneralEvent (one a user or a script posted) says its text in ``message``.
    message = getattr(event, "fullFormattedMessage", None) or getattr(event, "message", None)
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


FIRST_READ = timedelta(days=1)
"""How far back the first read of an integration's events goes."""
RESUME_MARGIN = timedelta(minutes=10)
"""A resumed read asks for events from this long before the last one kept: an event is
stamped when logged, so one logged a moment later may carry an earlier time. Events of a
key already kept are dropped."""


def read_events(
    content: Any,
    after: EventCursor | None,
    now: datetime,
    page: int = 500,
    decoder: LeanDecoder | None = None,
) -> list[EventRecord]:
    """The events about inventory objects logged after ``after`` (from :data:`FIRST_READ` ago
    when None), oldest first, read page by page through an EventHistoryCollector that is
    destroyed after; ``decoder`` decodes the pages if given (else pyVmomi). Events that name
    no inventory object (logins, logouts) are left out by the filter, at the server."""
    begin = now - FIRST_READ if after is None else after.created_at - RESUME_MARGIN
    spec = vim.event.EventFilterSpec(  # type: ignore[no-untyped-call]
        time=vim.event.EventFilterSpec.ByTime(beginTime=begin),  # type: ignore[no-untyped-call]
        entity=vim.event.EventFilterSpec.ByEntity(  # type: ignore[no-untyped-call]
            entity=content.rootFolder, recursion="all"
        ),
    )
    try:
        collector = content.eventManager.CreateCollectorForEvents(filter=spec)
        try:
            # vcsim's collectors hold only their page (10 by default); vCenter pages up to 1000.
            collector.SetCollectorPageSize(maxCount=page)
            collector.RewindCollector()
            records: dict[int, EventRecord] = {}
            while batch := (
                collector.ReadNextEvents(maxCount=page)
                if decoder is None
                else decoder.read_next_events(collector, page)
            ):
                for event in batch:
                    try:
                        record = event_record(event)
                    except ValueError:  # no key or time: it cannot be kept or resumed after
                        log.debug("vCenter event skipped: %s", type(event).__name__)
                        continue
                    if after is None or record.key > after.key:
                        records[record.key] = record
        finally:
            collector.DestroyCollector()
    except vim.fault.NoPermission as exc:
        raise EventsUnavailableError(
            f"vCenter events not read: permission {exc.privilegeId or '?'} missing"
        ) from exc
    except vmodl.MethodFault as exc:
        raise EventsUnavailableError(
            f"vCenter events not read: {type(exc).__name__}: {getattr(exc, 'msg', None) or exc}"
        ) from exc
    return [records[key] for key in sorted(records)]
