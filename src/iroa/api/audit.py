"""The audit log, read-only, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status

from iroa.api.schemas import AuditList, AuditOut
from iroa.audit.service import list_entries
from iroa.http.deps import DB, Admin

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=AuditList)
def list_audit(
    _: Admin,
    db: DB,
    action: Annotated[
        str | None, Query(max_length=64, pattern=r"^[a-z_.]+$", examples=["integration.update"])
    ] = None,
    target_type: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> AuditList:
    """Who did what, newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    if cursor is not None and (not cursor.isdigit() or len(cursor) > 18):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "cursor: not a valid cursor")
    rows = list_entries(
        db,
        limit=limit,
        before_id=int(cursor) if cursor else None,
        action=action,
        target_type=target_type,
    )
    next_cursor = str(rows[-1]["id"]) if len(rows) == limit else None
    return AuditList(items=[AuditOut.model_validate(r) for r in rows], next_cursor=next_cursor)
