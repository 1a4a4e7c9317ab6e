"""vCenter events and the changes they explain, written straight into the database.

On top of :mod:`tests.inventory.history_estate`'s three syncs (where ``vm0`` is powered
off by the second), as the sync's collection and join would leave them: alice's
``VmPoweredOffEvent`` explains vm0's power change, and the events table holds a few
more of other users, objects and types, some of objects IROA does not have.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from iroa.db.engine import Database
from iroa.history.models import Change, Event


@dataclass(frozen=True)
class SeededEvents:
    power_off_change_id: int
    """vm0's change that powered it off, explained by alice."""
    powered_off_at: datetime
    """When alice's event was created."""
    event_ids: dict[str, int]
    """Each seeded event's id, by a short name."""


def seed_events(db: Database, integration_id: int, moments: list[datetime]) -> SeededEvents:
    """Events of ``integration_id`` around the syncs of ``moments`` (history_estate's)."""
    off_at = moments[1] + (moments[2] - moments[1]) / 2
    events = {
        # name: (key, created_at, type, user, vim type, moref, object name, message)
        "login": (100, moments[0], "UserLoginSessionEvent", "alice", None, None, None,
                  "User alice@127.0.0.1 logged in"),
        "off": (101, off_at, "VmPoweredOffEvent", "alice", "VirtualMachine", "vm-0",
                "vm0-renamed", "vm0-renamed on esx1b in DC is powered off"),
        "maintenance": (102, off_at + timedelta(microseconds=1), "EnteredMaintenanceModeEvent",
                        "bob", "HostSystem", "host-1", "esx1b",
                        "Host esx1b in DC has entered maintenance mode"),
        "switch": (103, moments[2], "DvsReconfiguredEvent", "bob", "DistributedVirtualSwitch",
                   "dvs-7", "DSwitch", "The vSphere Distributed Switch DSwitch was reconfigured"),
        "stranger": (104, moments[2], "VmPoweredOnEvent", "carol", "VirtualMachine", "vm-99",
                     "elsewhere", "elsewhere on esx9 is powered on"),
        "standalone": (105, moments[3], "DrsEnabledEvent", None, "ComputeResource", "domain-s9",
                       "esx9", "DRS enabled"),
        "on": (106, moments[3], "VmPoweredOnEvent", "alice", "VirtualMachine", "vm-3", "vm3",
               "vm3 on esx1b is powered on"),
    }  # fmt: skip
    with db.write_session() as session:
        rows = {
            name: Event(
                integration_id=integration_id,
                event_key=key,
                created_at=created_at,
                event_type=event_type,
                user_name=user,
                object_type=vim_type,
                object_external_id=moref,
                object_name=object_name,
                message=message,
                chain_id=key,
            )
            for name, (
                key,
                created_at,
                event_type,
                user,
                vim_type,
                moref,
                object_name,
                message,
            ) in events.items()
        }
        session.add_all(rows.values())
        session.flush()
        event_ids = {name: row.id for name, row in rows.items()}
        vm0_changes = session.execute(
            select(Change.id, Change.fields).where(
                Change.integration_id == integration_id,
                Change.object_type == "vm",
                Change.external_id == "vm-0",
            )
        ).all()
        (power_off,) = [
            change_id
            for change_id, fields in vm0_changes
            if fields and fields.get("power_state") == ["on", "off"]
        ]
        session.execute(
            update(Change)
            .where(Change.id == power_off)
            .values(actor="alice", event="VmPoweredOffEvent")
        )
    return SeededEvents(power_off, off_at, event_ids)
