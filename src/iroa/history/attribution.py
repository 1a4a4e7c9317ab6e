"""Which event explains a change: the rules of the join between change rows and vCenter events.

A change row of a VM gets the user and type of the event that explains it: the
latest event about that VM, of a type that can cause what the change records
(:func:`compatible_event_types`), logged after the VM was last seen as it was
before and no later than the change was seen. A change no event explains keeps
no actor: the join never guesses. Pure functions; the sync engine applies them
(:mod:`iroa.sync.events`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from iroa.connectors.base import EventRecord

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
