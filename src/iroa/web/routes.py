"""Dashboard pages: parse the request, call the core services the API uses, render a template."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from iroa.api.auth import start_session
from iroa.api.deps import CSRF_COOKIE, DB, SESSION_COOKIE, Clock
from iroa.auth.service import (
    AuthError,
    LoginThrottledError,
    authenticate_password,
    authenticate_token,
    end_session,
)
from iroa.connectors.base import ConnectionOptions, ConnectorError
from iroa.connectors.registry import AVAILABLE_KINDS, UnsupportedKindError, check_connection
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations import service
from iroa.integrations.models import INVENTORY_KINDS
from iroa.inventory.details import get_object
from iroa.inventory.listing import InvalidQueryError, ListParams, Page, list_page
from iroa.inventory.overview import get_summary, list_changes, vm_count_trend
from iroa.sync.background import SyncStartTimeoutError, start_integration_sync
from iroa.sync.engine import SyncAlreadyRunningError
from iroa.sync.history import get_run, list_runs_page
from iroa.web.charts import trend_chart
from iroa.web.formatting import format_time
from iroa.web.render import DETAIL_PLURALS, message_page, render
from iroa.web.session import (
    LOGIN_CSRF_COOKIE,
    PageUser,
    WebUser,
    check_csrf,
    check_login_csrf,
    new_login_csrf,
    read_form,
    safe_next,
)
from iroa.web.tables import LIST_VIEWS, ListView

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
RECENT_CHANGES = 15
INTEGRATION_FIELDS = ("kind", "name", "url", "username", "ca_file", "transport", "interval_seconds")


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, db: DB, clock: Clock, next: str | None = None) -> Response:
    """The login form; a logged-in user goes straight on."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret and authenticate_token(db, secret, clock, kind="session"):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next, None, 200)


def _login_page(request: Request, next: str | None, error: str | None, status: int) -> Response:
    token = new_login_csrf()
    response = render(
        request,
        "login.html",
        {"csrf_token": token, "next": safe_next(next), "error": error, "user": None},
        status,
    )
    secure = request.url.scheme == "https"
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, secure=secure, samesite="strict", path="/login"
    )
    return response


@router.post("/login")
async def login(request: Request, db: DB, clock: Clock) -> Response:
    """Check the password, open a dashboard session, go to where the user was headed."""
    form = await read_form(request)
    check_login_csrf(request, form)
    return await run_in_threadpool(_log_in, request, db, clock, form)


def _log_in(
    request: Request, db: Database, clock: Callable[[], datetime], form: dict[str, str]
) -> Response:
    target = safe_next(form.get("next"))
    try:
        user = authenticate_password(db, form.get("username", ""), form.get("password", ""), clock)
    except LoginThrottledError as exc:
        return _login_page(request, target, str(exc), 429)
    except AuthError as exc:
        return _login_page(request, target, str(exc), 401)
    response = RedirectResponse(target, status_code=303)
    start_session(db, user, clock, request, response)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, user: PageUser, db: DB) -> Response:
    """End the session and forget its cookies."""
    check_csrf(await read_form(request), user)
    await run_in_threadpool(end_session, db, user.session_secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, user: PageUser, db: DB) -> Response:
    """KPIs per platform and integration, last syncs, recent changes, the VM trend."""
    summary = get_summary(db)
    last_runs = {entry["id"]: _last_run(db, entry["id"]) for entry in summary["integrations"]}
    trend = vm_count_trend(db)
    chart = trend_chart(
        {
            name: [(format_time(p["taken_at"])[:10], p["vms"]) for p in points]
            for name, points in trend.items()
        }
    )
    return render(
        request,
        "overview.html",
        {
            "user": user,
            "summary": summary,
            "last_runs": last_runs,
            "changes": _recent_changes(db),
            "chart": chart,
            "trend": trend,
        },
    )


def _recent_changes(db: Database) -> list[dict[str, Any]]:
    """The latest changes of objects that have a page (not of disks, NICs and relations)."""
    found = [
        change
        for object_type in DETAIL_PLURALS
        for change in list_changes(db, object_type=object_type, limit=RECENT_CHANGES).items
    ]
    found.sort(key=lambda c: (c["changed_at"], c["id"]), reverse=True)
    return found[:RECENT_CHANGES]


def _last_run(db: Database, integration_id: int) -> dict[str, Any] | None:
    runs = list_runs_page(db, integration_id=integration_id, limit=1)
    return runs[0] if runs else None


def _list_handler(view: ListView) -> Callable[..., Response]:
    def handler(
        request: Request,
        user: PageUser,
        db: DB,
        q: str | None = None,
        platform: str | None = None,
        integration: str | None = None,
        power_state: str | None = None,
        sort: str | None = None,
        cursor: str | None = None,
    ) -> Response:
        chosen = {
            "q": (q or "").strip() or None,
            "platform": platform or None,
            "integration": integration or None,
            "power_state": (power_state or None) if view.power_states else None,
            "sort": sort or None,
        }
        params = ListParams(
            integration=chosen["integration"],
            platform=chosen["platform"],
            q=chosen["q"],
            filters={"power_state": chosen["power_state"]} if view.power_states else {},
            sort=chosen["sort"],
            limit=PAGE_SIZE,
            cursor=cursor or None,
        )
        error = None
        try:
            page = list_page(db, view.plural, params)
        except InvalidQueryError as exc:
            error, page = str(exc), Page([], 0, None)

        def link(**changes: str | None) -> str:
            """This list's URL with some parameters changed (a new sort or filter starts over)."""
            merged = {**chosen, **changes}
            query = urlencode({k: v for k, v in merged.items() if v})
            return f"/{view.plural}" + (f"?{query}" if query else "")

        return render(
            request,
            "list.html",
            {
                "user": user,
                "view": view,
                "page": page,
                "chosen": chosen,
                "error": error,
                "link": link,
                "paged": cursor is not None,
                "integrations": [
                    i.name for i in service.list_integrations(db) if i.kind in INVENTORY_KINDS
                ],
                "platforms": INVENTORY_KINDS,
                "filtered": any(chosen[k] for k in ("q", "platform", "integration", "power_state")),
            },
            400 if error else 200,
        )

    handler.__name__ = f"list_{view.plural}_page"
    return handler


def _detail_handler(plural: str, label: str) -> Callable[..., Response]:
    def handler(request: Request, user: PageUser, db: DB, object_id: int) -> Response:
        found = get_object(db, plural, object_id) if 0 < object_id < 2**63 else None
        if found is None:
            return message_page(
                request,
                f"No such {label}",
                f"There is no {label} with id {object_id}. It may belong to an integration "
                "that was removed.",
                404,
                user,
            )
        return render(
            request,
            f"{plural.removesuffix('s')}.html",
            {"user": user, "object": found, "label": label, "plural": plural},
        )

    handler.__name__ = f"{plural}_detail_page"
    return handler


for _view in LIST_VIEWS.values():
    router.add_api_route(f"/{_view.plural}", _list_handler(_view), methods=["GET"])
    router.add_api_route(
        f"/{_view.plural}/{{object_id}}",
        _detail_handler(_view.plural, _view.singular),
        methods=["GET"],
    )


def _integrations_page(
    request: Request,
    user: WebUser,
    db: Database,
    *,
    form: dict[str, str] | None = None,
    form_error: str | None = None,
    notice: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    integrations = [service.integration_as_dict(i) for i in service.list_integrations(db)]
    for entry in integrations:
        entry["last_run"] = _last_run(db, entry["id"])
        entry["syncable"] = entry["kind"] in INVENTORY_KINDS
    return render(
        request,
        "integrations.html",
        {
            "user": user,
            "integrations": integrations,
            "form": form or {"kind": "vcenter"},
            "form_error": form_error,
            "notice": notice,
            "kinds": AVAILABLE_KINDS,
            "transports": service.TRANSPORTS,
        },
        status,
    )


@router.get("/integrations", response_class=HTMLResponse)
def integrations_page(request: Request, user: PageUser, db: DB) -> Response:
    """Integrations with their last run; sync and test for operators, an add form for admins."""
    return _integrations_page(request, user, db)


def _forbidden(request: Request, user: WebUser, role: str) -> Response:
    return message_page(
        request, "Not allowed", f"This needs the {role} role (you are {user.role}).", 403, user
    )


@router.post("/integrations")
async def add_integration(request: Request, user: PageUser, db: DB) -> Response:
    """Check the connection with the given settings, then store the integration."""
    form = await read_form(request)
    check_csrf(form, user)
    if not user.can("admin"):
        return _forbidden(request, user, "admin")
    return await run_in_threadpool(_add_integration, request, user, db, form)


def _add_integration(
    request: Request, user: WebUser, db: Database, form: dict[str, str]
) -> Response:
    shown = {k: form.get(k, "") for k in INTEGRATION_FIELDS}
    shown["insecure"] = "on" if form.get("insecure") else ""

    def refuse(message: str) -> Response:
        return _integrations_page(request, user, db, form=shown, form_error=message, status=422)

    interval = form.get("interval_seconds", "").strip()
    if interval and not interval.isdigit():
        return refuse("the interval must be a whole number of seconds (0 for no auto-sync)")
    try:
        data = service.validate_input(
            service.IntegrationInput(
                kind=form.get("kind", ""),
                name=form.get("name", ""),
                url=form.get("url", ""),
                username=form.get("username") or None,
                password=form.get("password") or None,
                ca_file=form.get("ca_file") or None,
                insecure=bool(form.get("insecure")),
                transport=form.get("transport") or None,
                interval_seconds=int(interval) if interval else None,
            )
        )
        check_connection(
            data.kind,
            ConnectionOptions(
                url=data.url,
                username=data.username,
                password=data.password,
                ca_file=data.ca_file,
                insecure=data.insecure,
                transport=data.transport,
            ),
        )
        box: SecretBox = request.app.state.box
        added = service.add_integration(db, box, data, user.principal.actor)
    except (service.IntegrationError, UnsupportedKindError) as exc:
        return refuse(str(exc))
    except ConnectorError as exc:
        return refuse(f"The connection test failed, nothing was saved: {exc}")
    return _integrations_page(
        request,
        user,
        db,
        notice={"ok": True, "text": f"Added {added.name}: the connection works. Sync it now."},
        status=201,
    )


@router.post("/integrations/{integration_id}/test")
async def test_integration(
    request: Request, user: PageUser, db: DB, integration_id: int
) -> Response:
    """Connect and log in with the stored settings; say how it went."""
    check_csrf(await read_form(request), user)
    if not user.can("operator"):
        return _forbidden(request, user, "operator")
    return await run_in_threadpool(_test_integration, request, user, db, integration_id)


def _test_integration(
    request: Request, user: WebUser, db: Database, integration_id: int
) -> Response:
    try:
        integration = service.get_integration_by_id(db, integration_id)
        box: SecretBox = request.app.state.box
        info = check_connection(integration.kind, service.connection_options(integration, box))
    except (service.IntegrationError, UnsupportedKindError, ConnectorError) as exc:
        notice = {"ok": False, "text": f"Connection test failed: {exc}"}
    else:
        product = " ".join(str(p) for p in (info.product, info.version) if p)
        notice = {"ok": True, "text": f"{integration.name}: connected to {product or info.name}."}
    return _integrations_page(request, user, db, notice=notice)


@router.post("/integrations/{integration_id}/sync")
async def sync_now(request: Request, user: PageUser, db: DB, integration_id: int) -> Response:
    """Start a sync in the background (as the API does) and show its progress."""
    check_csrf(await read_form(request), user)
    if not user.can("operator"):
        return _forbidden(request, user, "operator")
    return await run_in_threadpool(_sync_now, request, user, db, integration_id)


def _sync_now(request: Request, user: WebUser, db: Database, integration_id: int) -> Response:
    try:
        run_id = start_integration_sync(
            db,
            request.app.state.box,
            request.app.state.broker,
            integration_id,
            user.principal.actor,
            trigger="manual",
            safeguard=request.app.state.safeguard,
        )
    except (
        service.IntegrationError,
        UnsupportedKindError,
        SyncAlreadyRunningError,
        SyncStartTimeoutError,
    ) as exc:
        return _integrations_page(
            request, user, db, notice={"ok": False, "text": f"Sync not started: {exc}"}, status=409
        )
    return RedirectResponse(f"/syncs/{run_id}", status_code=303)


@router.get("/syncs/{run_id}", response_class=HTMLResponse)
def sync_page(request: Request, user: PageUser, db: DB, run_id: int) -> Response:
    """One sync run: a live progress bar while it runs, its counts when it is done."""
    run = get_run(db, run_id) if 0 < run_id < 2**63 else None
    if run is None:
        return message_page(
            request, "No such sync run", f"There is no sync run with id {run_id}.", 404, user
        )
    return render(request, "sync.html", {"user": user, "run": run})
