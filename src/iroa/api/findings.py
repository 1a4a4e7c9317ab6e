"""Health findings: the paged list, counts per severity and rule, and the rule catalogue."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from iroa.api.inventory import IdFilter, PageOut, TextFilter
from iroa.db.engine import Database
from iroa.findings.catalog import RULES, describe_conditions
from iroa.findings.listing import (
    DEFAULT_SORT,
    FindingParams,
    count_open_by_rule,
    count_open_findings,
    list_findings,
)
from iroa.findings.rules import Thresholds
from iroa.http.deps import get_db, require_viewer, runtime_of
from iroa.http.responses import FastJSONResponse
from iroa.inventory.listing import MAX_SEARCH_LENGTH
from iroa.paging import DEFAULT_LIMIT, MAX_LIMIT, InvalidQueryError
from iroa.vocabulary import Platform

router = APIRouter(
    prefix="/api/v1/findings", tags=["findings"], dependencies=[Depends(require_viewer)]
)
DB = Annotated[Database, Depends(get_db)]

Severity = StrEnum("Severity", {s: s for s in ("critical", "warning", "info")})  # type: ignore[misc]
RuleId = StrEnum("RuleId", {rule.id: rule.id for rule in RULES})  # type: ignore[misc]
ObjectType = StrEnum(  # type: ignore[misc]
    "ObjectType", {t: t for t in ("vm", "host", "cluster", "datastore")}
)


class Status(StrEnum):
    open = "open"
    resolved = "resolved"
    all = "all"


@router.get("", summary="List health findings", response_model=PageOut)
def findings(
    db: DB,
    status: Annotated[Status, Query(description="Open (default), resolved, or all")] = Status.open,
    severity: Severity | None = None,
    rule: RuleId | None = None,
    object_type: ObjectType | None = None,
    object_id: IdFilter = None,
    integration: TextFilter = None,
    platform: Platform | None = None,
    q: Annotated[
        str | None,
        Query(max_length=MAX_SEARCH_LENGTH, description="Substring of the object name or message"),
    ] = None,
    sort: Annotated[
        str | None,
        Query(
            max_length=100,
            description="severity, rule, object_type, object_name, first_seen_at, "
            f"last_seen_at, resolved_at or id; prefix `-` for descending. Default `{DEFAULT_SORT}`",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=2000, description="The `next_cursor` of the previous page")
    ] = None,
) -> JSONResponse:
    """Findings of the health rules, most severe first; each names its rule, severity, object
    (type, id, name, integration), message, and when it was first and last seen and resolved."""
    params = FindingParams(
        status=status.value,
        severity=severity.value if severity else None,
        rule=rule.value if rule else None,
        object_type=object_type.value if object_type else None,
        object_id=object_id,
        integration=integration,
        platform=platform.value if platform else None,
        q=q,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    try:
        return FastJSONResponse(list_findings(db, params).as_dict())
    except InvalidQueryError as exc:
        raise HTTPException(422, str(exc)) from exc


@router.get("/summary", summary="Open findings per severity and rule")
def findings_summary(db: DB) -> JSONResponse:
    """Open findings per severity (with their total) and per rule and severity."""
    return FastJSONResponse({"open": count_open_findings(db), "by_rule": count_open_by_rule(db)})


@router.get("/rules", summary="The health rules")
def rules(request: Request) -> JSONResponse:
    """Every rule: its id, title, object types, highest severity, condition in words (with
    the current thresholds), and whether it is active (monitoring rules wait for their
    integration: ``needs`` says which)."""
    settings = runtime_of(request).settings
    conditions = describe_conditions(Thresholds.from_settings(settings))
    body: list[dict[str, Any]] = [
        {
            "id": rule.id,
            "title": rule.title,
            "object_types": list(rule.object_types),
            "severity": rule.severity,
            "condition": conditions.get(rule.id),
            "active": rule.active,
            "needs": rule.needs,
        }
        for rule in RULES
    ]
    return FastJSONResponse(body)
