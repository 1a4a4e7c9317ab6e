"""Syncs from the dashboard: start one, follow it live, force a held one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from iroa.db.engine import Database
from iroa.errors import IroaError
from iroa.http.deps import DB, runtime_of
from iroa.integrations import service
from iroa.sync.background import start_integration_sync
from iroa.sync.history import get_run
from iroa.vocabulary import Trigger
from iroa.web.integrations import (
    find_integration,
    held_run,
    last_run,
    no_integration_page,
    render_integration,
    render_integrations,
)
from iroa.web.render import message_page, render
from iroa.web.session import PageAdmin, PageForm, PageOperator, PageUser, WebUser

router = APIRouter(include_in_schema=False)


@router.post("/integrations/{integration_id}/sync")
def sync_now(
    request: Request, user: PageOperator, db: DB, form: PageForm, integration_id: int
) -> Response:
    """Start a sync in the background (as the API does) and show its progress."""
    return _sync_now(request, user, db, integration_id, back=form.get("back") == "detail")


def _sync_now(
    request: Request,
    user: WebUser,
    db: Database,
    integration_id: int,
    back: bool = False,
    force: bool = False,
) -> Response:
    try:
        runtime = runtime_of(request)
        run_id = start_integration_sync(
            runtime.sync,
            runtime.broker,
            integration_id,
            user.principal.actor,
            trigger=Trigger.MANUAL,
            force=force,
            queue=runtime.queue,
        )
    except IroaError as exc:
        notice = {"ok": False, "text": f"Sync not started: {exc}"}
        if back and not isinstance(exc, service.IntegrationNotFoundError):
            return render_integration(request, user, db, integration_id, notice=notice, status=409)
        return render_integrations(request, user, db, notice=notice, status=409)
    return RedirectResponse(f"/syncs/{run_id}", status_code=303)


@router.get("/syncs/{run_id}", response_class=HTMLResponse)
def sync_page(request: Request, user: PageUser, db: DB, run_id: int) -> Response:
    """One sync run: a live progress bar while it runs, its counts when it is done."""
    run = get_run(db, run_id) if 0 < run_id < 2**63 else None
    if run is None:
        return message_page(
            request, "No such sync run", f"There is no sync run with id {run_id}.", 404, user
        )
    try:
        integration_id: int | None = service.get_integration(db, run["integration"]).id
    except service.IntegrationNotFoundError:
        integration_id = None
    return render(
        request, "sync.html", {"user": user, "run": run, "integration_id": integration_id}
    )


@router.get("/integrations/{integration_id}/force", response_class=HTMLResponse)
def force_sync_page(request: Request, user: PageAdmin, db: DB, integration_id: int) -> Response:
    """Ask an admin to confirm a sync past the mass-removal safeguard."""
    integration = find_integration(db, integration_id)
    if integration is None:
        return no_integration_page(request, user, integration_id)
    latest = last_run(db, integration_id)
    return render(
        request,
        "force.html",
        {
            "user": user,
            "i": integration,
            "held": held_run(latest),
        },
    )


@router.post("/integrations/{integration_id}/force")
def force_sync(
    request: Request, user: PageAdmin, db: DB, form: PageForm, integration_id: int
) -> Response:
    """Start a forced sync (as the API's ``{"force": true}``): audited as ``sync.force``."""
    if form.get("confirm") != "yes":
        return RedirectResponse(f"/integrations/{integration_id}/force", status_code=303)
    return _sync_now(request, user, db, integration_id, back=True, force=True)
