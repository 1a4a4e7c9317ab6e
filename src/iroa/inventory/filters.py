"""What each inventory list may be filtered by, and how each filter becomes SQL."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    cast,
    func,
    literal_column,
    select,
    tuple_,
)

from iroa.errors import check_choice
from iroa.inventory import models
from iroa.inventory.types import BY_PLURAL
from iroa.paging import MAX_INT, InvalidQueryError, check_text
from iroa.vocabulary import HostPowerState, PowerState

VM_POWER_STATES = tuple(PowerState)


HOST_POWER_STATES = tuple(HostPowerState)


SEARCH_FIELDS: dict[str, tuple[str, ...]] = {
    "vms": ("name", "guest_hostname", "ip_addresses", "uuid"),
    "hosts": ("name", "model", "serial_number"),
    "clusters": ("name",),
    "datacenters": ("name",),
    "datastores": ("name", "url"),
    "networks": ("name", "switch_name", "vlan"),
}
"""The fields ``q`` searches, case-insensitively, as a substring."""


VM_SEARCH_TABLE = "vm_search"
"""SQLite's FTS5 trigram index over the VM search fields (migration 0004)."""

VM_SEARCH_TEXT_SQL = (
    "name || E'\\x1f' || coalesce(guest_hostname, '') || E'\\x1f' || "
    "coalesce(ip_addresses::text, '') || E'\\x1f' || coalesce(uuid, '')"
)
"""On PostgreSQL, a VM's search fields as one text, each after a unit separator (which a
search cannot hold, so a match never spans two fields): one trigram (GIN) index,
``ix_vms_search_text`` (migration 0014), serves every VM search. Four indexes, one per
field, cost a first sync of 100,000 VMs about 2 s more."""


def vm_search_text(table: Table) -> ColumnElement[str]:
    """:data:`VM_SEARCH_TEXT_SQL` as SQLAlchemy renders it: the same expression, which
    the planner must recognise to read the index."""
    # Constants, not bound parameters, or the expression is not the index's.
    separator = literal_column("E'\\x1f'", Text())
    empty = literal_column("''", Text())
    text: ColumnElement[str] = table.c.name
    for field in (table.c.guest_hostname, cast(table.c.ip_addresses, Text), table.c.uuid):
        text = text + separator + func.coalesce(field, empty)
    return text


TRIGRAM = 3


@dataclass(frozen=True)
class Filter:
    """One type-specific filter: its value type and the condition it adds.

    ``narrow`` marks a condition that holds for a small share of the rows (the
    VMs of one cluster). SQLite is told so (``unlikely()``): otherwise it may walk
    the list's sort order checking each row, which for a name that matches
    nothing reads every VM (160 ms at 100,000 VMs, against 0.2 ms from the
    cluster's index; 27 ms against 5 ms for a cluster of 675 VMs).
    """

    value_type: type
    condition: Callable[[Table, Any], ColumnElement[bool]]
    choices: tuple[str, ...] = ()
    narrow: bool = False
    parse: Callable[[str, str], str] | None = None
    """Checks a text value beyond its type (raises InvalidQueryError), returns what to bind."""


def _equals(column: str) -> Callable[[Table, Any], ColumnElement[bool]]:
    return lambda table, value: table.c[column] == value


def _ref_name(column: str, target: str, *, narrow: bool = False) -> Filter:
    """The object referenced by ``column`` (``cluster_id``), of table ``target``, has this name."""
    target_table = BY_PLURAL[target].table

    def condition(table: Table, value: Any) -> ColumnElement[bool]:
        return table.c[column].in_(select(target_table.c.id).where(target_table.c.name == value))

    return Filter(str, condition, narrow=narrow)


def _ref_id(column: str, *, narrow: bool = False) -> Filter:
    return Filter(int, _equals(column), narrow=narrow)


def _related(
    relation: type[models.VmDatastore] | type[models.VmNetwork],
    column: str,
    target: type[models.Datastore] | type[models.Network],
    *,
    by_name: bool,
) -> Filter:
    """VMs related (through vm_datastores / vm_networks) to an object with this name or id."""
    rel = relation.__table__
    target_table = target.__table__

    def condition(table: Table, value: Any) -> ColumnElement[bool]:
        targets = (
            select(target_table.c.id).where(target_table.c.name == value)
            if by_name
            else select(target_table.c.id).where(target_table.c.id == value)
        )
        return table.c.id.in_(
            select(rel.c.vm_id).where(rel.c.removed_at.is_(None), rel.c[column].in_(targets))
        )

    return Filter(str if by_name else int, condition)


TAG_FILTER_KIND = "vsphere_tag"
"""The tags ``tag=Category:Name`` matches: vSphere tags (category → tag name)."""


def _tagged(object_type: str) -> Filter:
    """Objects carrying the vSphere tag ``Category:Name`` (the value as given, checked by
    :func:`check_tag`)."""
    tag = models.Tag.__table__

    def condition(table: Table, value: Any) -> ColumnElement[bool]:
        separator = literal_column("':'", Text())
        # Uncorrelated, so it runs once, not once per listed row.
        return tuple_(table.c.integration_id, table.c.external_id).in_(
            select(tag.c.integration_id, tag.c.object_external_id).where(
                tag.c.object_type == object_type,
                tag.c.kind == TAG_FILTER_KIND,
                tag.c.removed_at.is_(None),
                tag.c.key + separator + tag.c.value == value,
            )
        )

    return Filter(str, condition, parse=check_tag)


def check_tag(name: str, value: str) -> str:
    """``Category:Name``, both parts non-empty (a name may hold further colons)."""
    category, colon, tag = value.partition(":")
    if not colon or not category.strip() or not tag.strip():
        raise InvalidQueryError(f"{name} must be Category:Name, e.g. {name}=Environment:Production")
    return value


def _placement_filters(*, cluster: bool = True) -> dict[str, Filter]:
    found = {
        "datacenter": _ref_name("datacenter_id", "datacenters"),
        "datacenter_id": _ref_id("datacenter_id"),
    }
    if cluster:
        found |= {
            "cluster": _ref_name("cluster_id", "clusters", narrow=True),
            "cluster_id": _ref_id("cluster_id", narrow=True),
        }
    return found


FILTERS: dict[str, dict[str, Filter]] = {
    "vms": {
        **_placement_filters(),
        "host": _ref_name("host_id", "hosts", narrow=True),
        "host_id": _ref_id("host_id", narrow=True),
        "datastore": _related(models.VmDatastore, "datastore_id", models.Datastore, by_name=True),
        "datastore_id": _related(
            models.VmDatastore, "datastore_id", models.Datastore, by_name=False
        ),
        "network": _related(models.VmNetwork, "network_id", models.Network, by_name=True),
        "network_id": _related(models.VmNetwork, "network_id", models.Network, by_name=False),
        "power_state": Filter(str, _equals("power_state"), VM_POWER_STATES),
        "is_template": Filter(bool, _equals("is_template")),
        "guest_os": Filter(str, _equals("guest_os")),
        "tag": _tagged("vm"),
    },
    "hosts": {
        **_placement_filters(),
        "connection_state": Filter(str, _equals("connection_state")),
        "power_state": Filter(str, _equals("power_state"), HOST_POWER_STATES),
        "in_maintenance": Filter(bool, _equals("in_maintenance")),
        "tag": _tagged("host"),
    },
    "clusters": {**_placement_filters(cluster=False), "tag": _tagged("cluster")},
    "datacenters": {"tag": _tagged("datacenter")},
    "datastores": {
        **_placement_filters(),
        "type": Filter(str, _equals("type")),
        "accessible": Filter(bool, _equals("accessible")),
        "tag": _tagged("datastore"),
    },
    "networks": {
        **_placement_filters(cluster=False),
        "type": Filter(str, _equals("type")),
        "vlan_id": Filter(int, _equals("vlan_id")),
        "switch_name": Filter(str, _equals("switch_name")),
        "tag": _tagged("network"),
    },
}
"""Type-specific filters; ``cluster`` and friends match the referenced object's name,
``tag`` a vSphere tag as ``Category:Name``."""


def check_value(name: str, value: Any, spec: Filter) -> Any:
    if spec.value_type is bool:
        if not isinstance(value, bool):
            raise InvalidQueryError(f"{name} must be true or false")
        return value
    if spec.value_type is int:
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_INT:
            raise InvalidQueryError(f"{name} must be an integer")
        return value
    if not isinstance(value, str):
        raise InvalidQueryError(f"{name} must be a string")
    check_text(name, value)
    if spec.choices:
        check_choice(name, value, spec.choices, InvalidQueryError)
    if spec.parse is not None:
        return spec.parse(name, value)
    return value
