"""Monitoring cross-reference: coverage, objects without monitoring, unmatched Zabbix hosts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from iroa.http.deps import DB, require_viewer
from iroa.http.responses import FastJSONResponse
from iroa.monitoring import queries

router = APIRouter(
    prefix="/api/v1/monitoring", tags=["monitoring"], dependencies=[Depends(require_viewer)]
)
ObjectKind = Annotated[Literal["vm", "host"], Query(description="`vm` or `host`")]
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/coverage", summary="Monitoring coverage of VMs and hosts")
def coverage(db: DB) -> JSONResponse:
    """Share of present VMs (not templates) and hosts that Zabbix monitors and that have
    Prometheus metrics, and how many Zabbix hosts match no inventory object."""
    with db.session() as session:
        return FastJSONResponse(queries.coverage(session))


@router.get("/no-metrics", summary="Objects without Prometheus metrics")
def no_metrics(db: DB, type: ObjectKind = "vm", limit: Limit = 1000) -> JSONResponse:
    """Present VMs or hosts no Prometheus integration has a series for (first ``limit``
    by name)."""
    with db.session() as session:
        return FastJSONResponse({"items": queries.objects_without_metrics(session, type, limit)})


@router.get("/not-in-zabbix", summary="Objects Zabbix does not monitor")
def not_in_zabbix(db: DB, type: ObjectKind = "vm", limit: Limit = 1000) -> JSONResponse:
    """Present VMs or hosts that no enabled Zabbix host matched (first ``limit`` by name)."""
    with db.session() as session:
        return FastJSONResponse({"items": queries.objects_not_in_zabbix(session, type, limit)})


@router.get("/zabbix/unmatched-hosts", summary="Zabbix hosts matching no inventory object")
def unmatched_hosts(db: DB, limit: Limit = 1000) -> JSONResponse:
    """Hosts Zabbix knows that are neither a VM nor a host of the inventory."""
    with db.session() as session:
        return FastJSONResponse({"items": queries.unmatched_zabbix_hosts(session, limit)})
