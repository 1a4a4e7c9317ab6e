"""Sync runs: history, one run, and its live progress as Server-Sent Events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from iroa.api.schemas import MAX_ID, Id, Problem, SyncRunList, SyncRunOut
from iroa.db.engine import Database
from iroa.http.deps import DB, AppRuntime, Viewer
from iroa.sync.background import ProgressBroker
from iroa.sync.history import get_run, list_runs_page
from iroa.vocabulary import RunStatus

router = APIRouter(prefix="/api/v1/syncs", tags=["syncs"])
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"model": Problem}}
BROKER_POLL_S = 0.1
DB_POLL_S = 1.0
KEEPALIVE_S = 15.0


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 18:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "cursor: not a valid cursor")
    return int(value)


@router.get("", response_model=SyncRunList)
def list_syncs(
    _: Viewer,
    db: DB,
    integration_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Only this integration")
    ] = None,
    integration: Annotated[
        str | None,
        Query(max_length=200, pattern=r"^[^\x00]*$", description="Only the integration named so"),
    ] = None,
    run_status: Annotated[RunStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> SyncRunList:
    """Sync runs, newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    rows = list_runs_page(
        db,
        integration_id=integration_id,
        integration_name=integration,
        status=run_status,
        limit=limit,
        before_id=_cursor(cursor),
    )
    next_cursor = str(rows[-1]["id"]) if len(rows) == limit else None
    return SyncRunList(items=[SyncRunOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{run_id}", response_model=SyncRunOut, responses=NOT_FOUND)
def get_sync(run_id: Id, _: Viewer, db: DB) -> SyncRunOut:
    run = get_run(db, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sync run with id {run_id}")
    return SyncRunOut.model_validate(run)


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


@router.get(
    "/{run_id}/events",
    responses={
        200: {
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
            "description": "`progress` events ({phase, done, total}) then one `result` event "
            "carrying the finished run",
        },
        **NOT_FOUND,
    },
    response_class=StreamingResponse,
)
async def sync_events(
    run_id: Id, _: Viewer, runtime: AppRuntime, request: Request
) -> StreamingResponse:
    """Follow a run: ``progress`` events with phase, done and total, ending with ``result``."""
    run = await run_in_threadpool(get_run, runtime.db, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sync run with id {run_id}")
    return StreamingResponse(
        _follow(runtime.db, runtime.broker, run_id, run, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _follow(
    db: Database, broker: ProgressBroker, run_id: int, run: dict[str, Any], request: Request
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    last_sent = loop.time()
    if run["status"] not in ("queued", "running"):
        yield _event("result", run)
        return
    cursor = 0
    last_progress: dict[str, Any] | None = None
    while True:
        if await request.is_disconnected():
            return
        update = broker.updates(run_id, cursor)
        if update is not None:
            cursor = update.cursor
            pending = list(update.steps)
            if not update.finished and update.current is not None:
                pending.append(update.current)
            for progress in pending:
                if progress != last_progress:
                    last_progress = progress
                    yield _event("progress", progress)
                    last_sent = loop.time()
            if update.finished:
                break
            await asyncio.sleep(BROKER_POLL_S)
        else:
            # Started by another process: follow its row until it finishes.
            current = await run_in_threadpool(get_run, db, run_id)
            if current is None or current["status"] not in ("queued", "running"):
                break
            await asyncio.sleep(DB_POLL_S)
        if loop.time() - last_sent > KEEPALIVE_S:
            yield ": keep-alive\n\n"
            last_sent = loop.time()
    final = await run_in_threadpool(get_run, db, run_id)
    if final is not None:
        yield _event("result", final)
