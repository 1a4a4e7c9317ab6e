"""Inventory routes: paged lists, details, the summary, the change log and platform views.

Thin by design: each handler parses its query, calls :mod:`iroa.inventory`, and
renders. A parameter the core refuses (unknown sort field, bad cursor …)
answers 422 with the core's message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from iroa.db.engine import Database
from iroa.exports.platform import open_platform_inventory
from iroa.findings.listing import count_open_findings, object_detail
from iroa.http.deps import get_db, require_viewer
from iroa.http.responses import FastJSONResponse, json_stream_response
from iroa.inventory.events import list_events
from iroa.inventory.history import list_page_as_of, parse_as_of
from iroa.inventory.listing import MAX_SEARCH_LENGTH, ListParams
from iroa.inventory.overview import get_summary, list_changes
from iroa.inventory.types import BY_PLURAL
from iroa.monitoring.queries import monitoring_of
from iroa.paging import DEFAULT_LIMIT, MAX_INT, MAX_LIMIT, InvalidQueryError
from iroa.vocabulary import ChangeAction, HostPowerState, Platform, PowerState

router = APIRouter(prefix="/api/v1", tags=["inventory"], dependencies=[Depends(require_viewer)])

DB = Annotated[Database, Depends(get_db)]
ObjectId = Annotated[int, Path(ge=1, le=MAX_INT, description="The object's id")]
TextFilter = Annotated[str | None, Query(max_length=500)]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_INT)]


class PageOut(BaseModel):
    """One page of a list."""

    items: list[dict[str, Any]] = Field(
        description="Objects keyed by the field names of `iroa get --json`"
    )
    total: int = Field(description="How many objects match the filters, on all pages")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


class Paging(BaseModel):
    """The parameters every list takes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    integration: str | None = Field(
        None, max_length=200, description="Only objects of this integration (name)"
    )
    q: str | None = Field(
        None,
        max_length=MAX_SEARCH_LENGTH,
        description="Case-insensitive substring search over the name and a few obvious "
        "fields (for VMs: guest hostname, IP addresses, BIOS uuid)",
    )
    sort: str | None = Field(
        None,
        max_length=100,
        description="A field of the object; prefix `-` for descending. Default `name`",
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size")
    cursor: str | None = Field(
        None, max_length=2000, description="The `next_cursor` of the previous page"
    )
    include_removed: bool = Field(
        False, description="Also list objects that vanished from their source"
    )
    as_of: str | None = Field(
        None,
        max_length=64,
        description="ISO-8601 timestamp (UTC if no zone): the objects present at that moment, "
        "with the values they had then (see docs/history.md); 422 if it lies before the "
        "history horizon of change retention",
    )


class PlatformPaging(Paging):
    """A list of every platform's objects: it may be narrowed to one."""

    platform: Platform | None = Field(None, description="Only objects of this platform")


PAGING_FIELDS = frozenset(PlatformPaging.model_fields)
"""The fields of a list's query that are not filters."""


def _page(
    db: Database, plural: str, query: Paging, platform: Platform | None = None
) -> JSONResponse:
    """The page ``query`` asks for; its fields besides the paging ones are the filters."""
    if platform is None and isinstance(query, PlatformPaging):
        platform = query.platform
    try:
        at = None if query.as_of is None else parse_as_of(query.as_of)
        params = ListParams(
            integration=query.integration,
            platform=platform.value if platform else None,
            q=query.q,
            sort=query.sort,
            limit=query.limit,
            cursor=query.cursor,
            include_removed=query.include_removed,
            filters={
                name: value.value if isinstance(value, StrEnum) else value
                for name, value in query
                if name not in PAGING_FIELDS
            },
        )
        return FastJSONResponse(list_page_as_of(db, plural, params, at).as_dict())
    except InvalidQueryError as exc:
        raise HTTPException(422, str(exc)) from exc


NameField = Annotated[str | None, Field(max_length=500)]
IdField = Annotated[int | None, Field(ge=1, le=MAX_INT)]
TagField = Annotated[
    str | None,
    Field(
        max_length=1001,
        description="A vSphere tag as `Category:Name`: only objects carrying it",
        examples=["Environment:Production"],
    ),
]


class VmFilters(BaseModel):
    """VM filters; `host`, `cluster`, `datacenter`, `datastore`, `network` match by name."""

    power_state: PowerState | None = None
    is_template: bool | None = None
    host: NameField = None
    host_id: IdField = None
    cluster: NameField = None
    cluster_id: IdField = None
    datacenter: NameField = None
    datacenter_id: IdField = None
    datastore: NameField = None
    datastore_id: IdField = None
    network: NameField = None
    network_id: IdField = None
    guest_os: NameField = None
    tag: TagField = None


class VmQuery(VmFilters, PlatformPaging):
    pass


class PlatformVmQuery(VmFilters, Paging):
    pass


class HostQuery(PlatformPaging):
    cluster: NameField = None
    cluster_id: IdField = None
    datacenter: NameField = None
    datacenter_id: IdField = None
    connection_state: NameField = None
    power_state: HostPowerState | None = None
    in_maintenance: bool | None = None
    tag: TagField = None


class ClusterQuery(PlatformPaging):
    datacenter: NameField = None
    datacenter_id: IdField = None
    tag: TagField = None


class DatacenterQuery(PlatformPaging):
    tag: TagField = None


class DatastoreQuery(PlatformPaging):
    cluster: NameField = None
    cluster_id: IdField = None
    datacenter: NameField = None
    datacenter_id: IdField = None
    type: NameField = None
    accessible: bool | None = None
    tag: TagField = None


class NetworkQuery(PlatformPaging):
    datacenter: NameField = None
    datacenter_id: IdField = None
    type: NameField = None
    vlan_id: Annotated[int | None, Field(ge=0, le=MAX_INT)] = None
    switch_name: NameField = None
    tag: TagField = None


def _detail(db: Database, plural: str, object_id: int, label: str) -> JSONResponse:
    found = object_detail(db, plural, object_id)
    if found is None:
        raise HTTPException(404, f"no {label} with id {object_id}")
    if BY_PLURAL[plural].monitored:
        found["monitoring"] = monitoring_of(db, BY_PLURAL[plural].name, object_id)
    return FastJSONResponse(found)


@router.get("/vms", summary="List virtual machines", response_model=PageOut)
def list_vms(db: DB, query: Annotated[VmQuery, Query()]) -> JSONResponse:
    """VMs and templates; `host`, `cluster`, `datastore`… match that object's name."""
    return _page(db, "vms", query)


def _platform_vms(platform: Platform) -> Callable[..., JSONResponse]:
    def handler(db: DB, query: Annotated[PlatformVmQuery, Query()]) -> JSONResponse:
        return _page(db, "vms", query, platform)

    handler.__doc__ = f"The VMs of {platform.value} integrations: `/vms` with `platform` fixed."
    handler.__name__ = f"list_{platform.value}_vms"
    return handler


def _platform_inventory(platform: Platform) -> Callable[..., StreamingResponse]:
    def handler(
        db: DB,
        limit: Annotated[
            int | None,
            Query(
                ge=1, le=MAX_INT, description="At most this many objects per type (default: all)"
            ),
        ] = None,
    ) -> StreamingResponse:
        stream = open_platform_inventory(db, platform.value, limit)
        headers = {"X-Total-Counts": ",".join(f"{k}={v}" for k, v in stream.totals.items())}
        truncated = [k for k, total in stream.totals.items() if limit is not None and total > limit]
        if truncated:
            headers["X-Truncated"] = ",".join(truncated)
        return json_stream_response(stream.rest, stream.first, headers)

    handler.__doc__ = (
        f"Every present object of {platform.value} integrations, by type and name, streamed "
        "from one read transaction (one moment of the inventory, whatever its size). The "
        "`X-Total-Counts` header gives each type's count; with `limit`, each list holds at "
        "most that many objects and `X-Truncated` names the types cut short."
    )
    handler.__name__ = f"get_{platform.value}_inventory"
    return handler


for _platform in Platform:
    router.add_api_route(
        f"/{_platform.value}/vms",
        _platform_vms(_platform),
        methods=["GET"],
        summary=f"List {_platform.value} virtual machines",
        response_model=PageOut,
    )
    router.add_api_route(
        f"/{_platform.value}/inventory",
        _platform_inventory(_platform),
        methods=["GET"],
        summary=f"The whole {_platform.value} inventory",
    )


@router.get("/hosts", summary="List hosts", response_model=PageOut)
def list_hosts(db: DB, query: Annotated[HostQuery, Query()]) -> JSONResponse:
    """Hypervisor hosts, standalone or in a cluster."""
    return _page(db, "hosts", query)


@router.get("/clusters", summary="List clusters", response_model=PageOut)
def list_clusters(db: DB, query: Annotated[ClusterQuery, Query()]) -> JSONResponse:
    """vSphere clusters and Hyper-V failover clusters."""
    return _page(db, "clusters", query)


@router.get(
    "/datacenters",
    summary="List datacenters",
    response_model=PageOut,
)
def list_datacenters(db: DB, query: Annotated[DatacenterQuery, Query()]) -> JSONResponse:
    """vSphere datacenters."""
    return _page(db, "datacenters", query)


@router.get(
    "/datastores",
    summary="List datastores",
    response_model=PageOut,
)
def list_datastores(db: DB, query: Annotated[DatastoreQuery, Query()]) -> JSONResponse:
    """Datastores, cluster shared volumes and host volumes."""
    return _page(db, "datastores", query)


@router.get("/networks", summary="List networks", response_model=PageOut)
def list_networks(db: DB, query: Annotated[NetworkQuery, Query()]) -> JSONResponse:
    """Port groups and Hyper-V virtual switches."""
    return _page(db, "networks", query)


@router.get("/vms/{vm_id}", summary="A virtual machine")
def get_vm(db: DB, vm_id: ObjectId) -> JSONResponse:
    """A VM with its disks, NICs, snapshots, tags, datastores, networks, latest changes,
    latest vCenter ``events`` and ``monitoring`` (Prometheus utilization with history, Zabbix
    status, link and problems)."""
    return _detail(db, "vms", vm_id, "VM")


@router.get("/hosts/{host_id}", summary="A host")
def get_host(db: DB, host_id: ObjectId) -> JSONResponse:
    """A host with its VM count, its VMs (first 1000 by name), tags, latest changes, latest
    vCenter ``events`` and ``monitoring`` (as for a VM)."""
    return _detail(db, "hosts", host_id, "host")


@router.get("/clusters/{cluster_id}", summary="A cluster")
def get_cluster(db: DB, cluster_id: ObjectId) -> JSONResponse:
    """A cluster with its hosts, VMs (first 1000 by name), totals and latest changes."""
    return _detail(db, "clusters", cluster_id, "cluster")


@router.get("/datacenters/{datacenter_id}", summary="A datacenter")
def get_datacenter(db: DB, datacenter_id: ObjectId) -> JSONResponse:
    """A datacenter with its object counts, clusters and latest changes."""
    return _detail(db, "datacenters", datacenter_id, "datacenter")


@router.get("/datastores/{datastore_id}", summary="A datastore")
def get_datastore(db: DB, datastore_id: ObjectId) -> JSONResponse:
    """A datastore with the VMs on it (first 1000 by name) and latest changes."""
    return _detail(db, "datastores", datastore_id, "datastore")


@router.get("/networks/{network_id}", summary="A network")
def get_network(db: DB, network_id: ObjectId) -> JSONResponse:
    """A network with the VMs on it (first 1000 by name) and latest changes."""
    return _detail(db, "networks", network_id, "network")


@router.get("/summary", summary="KPIs of the estate")
def summary(db: DB) -> JSONResponse:
    """KPIs per integration (from its latest successful sync), per platform and in total;
    ``findings``: open health findings per severity."""
    return FastJSONResponse(get_summary(db) | {"findings": count_open_findings(db)})


@router.get("/changes", summary="The change log", response_model=PageOut)
def changes(
    db: DB,
    since: Annotated[
        datetime | None, Query(description="ISO-8601; changes at or after (UTC if no zone)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="ISO-8601; changes before (UTC if no zone)")
    ] = None,
    object_type: Annotated[
        str | None, Query(max_length=32, description="`vm`, `host`, `vm_disk`…")
    ] = None,
    object_id: IdFilter = None,
    integration: TextFilter = None,
    action: ChangeAction | None = None,
    field: Annotated[
        str | None,
        Query(
            max_length=100,
            description="Only changes of this field (`memory_mib`, `power_state`; references "
            "as `host_external_id`)",
        ),
    ] = None,
    actor: Annotated[
        str | None,
        Query(
            max_length=500,
            description="Only changes that an event of this vCenter user explains (exact name)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> JSONResponse:
    """What syncs added, modified and removed, newest first; `actor` and `event` name the
    vCenter user and event type that explain a change (null when no event does)."""
    try:
        page = list_changes(
            db,
            since=since,
            until=until,
            object_type=object_type,
            object_id=object_id,
            integration=integration,
            action=action.value if action else None,
            field=field,
            actor=actor,
            limit=limit,
            cursor=cursor,
        )
    except InvalidQueryError as exc:
        raise HTTPException(422, str(exc)) from exc
    return FastJSONResponse(page.as_dict())


@router.get("/events", summary="vCenter events", response_model=PageOut)
def events(
    db: DB,
    integration: TextFilter = None,
    object_type: Annotated[
        str | None,
        Query(
            max_length=32,
            description="`vm`, `host`, `datastore`, `network`, `cluster`, `datacenter`, "
            "`resource_pool`: events about objects of this type",
        ),
    ] = None,
    object_id: Annotated[
        int | None,
        Query(ge=1, le=MAX_INT, description="With `object_type`: events about this object"),
    ] = None,
    event_type: Annotated[
        str | None,
        Query(
            alias="type",
            max_length=200,
            description="Only events of this type (`VmPoweredOffEvent`)",
        ),
    ] = None,
    user: Annotated[
        str | None, Query(max_length=500, description="Only events of this vCenter user")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="ISO-8601; events at or after (UTC if no zone)")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="ISO-8601; events before (UTC if no zone)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> JSONResponse:
    """Who did what to which object in vCenter, newest first, as synced from its events."""
    try:
        page = list_events(
            db,
            integration=integration,
            object_type=object_type,
            object_id=object_id,
            event_type=event_type,
            user=user,
            since=since,
            until=until,
            limit=limit,
            cursor=cursor,
        )
    except InvalidQueryError as exc:
        raise HTTPException(422, str(exc)) from exc
    return FastJSONResponse(page.as_dict())
