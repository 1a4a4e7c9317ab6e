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
from iroa.api.deps import CSRF_COOKIE, DB, SESSION_COOKIE, Clock, session_idle_timeout
from iroa.api.exports import XLSX_MEDIA_TYPE, csv_stream_response, file_response
from iroa.auth.service import (
    SESSION_LIFETIME,
    AuthError,
    LoginThrottledError,
    authenticate_password,
    authenticate_token,
    end_session,
)
from iroa.connectors.base import ConnectionOptions, ConnectorError
from iroa.connectors.registry import (
    AVAILABLE_KINDS,
    MONITORING_KINDS,
    UnsupportedKindError,
    check_connection,
)
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.errors import IroaError
from iroa.exports.csv import (
    list_csv,
    list_view_csv,
    stream_sheet_csv,
)
from iroa.exports.service import SHEETS
from iroa.exports.xlsx import write_xlsx
from iroa.findings.listing import count_open_findings
from iroa.integrations import service
from iroa.integrations.models import INVENTORY_KINDS
from iroa.integrations.monitoring import PRESETS, resolve_settings
from iroa.inventory.details import get_object
from iroa.inventory.listing import InvalidQueryError, ListParams, Page, list_page
from iroa.inventory.overview import get_summary, list_changes, vm_count_trend
from iroa.runtime import Runtime
from iroa.sync.background import start_integration_sync
from iroa.sync.history import get_run, list_runs_page
from iroa.vocabulary import RunStatus, Trigger
from iroa.web.charts import trend_chart
from iroa.web.formatting import format_time
from iroa.web.monitoring import monitoring_coverage, monitoring_panel
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
INTEGRATION_FIELDS = (
    "kind",
    "name",
    "url",
    "username",
    "ca_file",
    "transport",
    "interval_seconds",
    "preset",
    "match",
)


def _session_ended_text(reason: str | None, request: Request) -> str | None:
    """What the login page says about a session that is over (only known reasons, no echo)."""
    if reason == "idle":
        minutes = request.app.state.settings.session_idle_minutes
        return (
            f"Your session ended after {minutes} minutes without activity. "
            "Log in again to continue where you were."
        )
    if reason == "expired":
        hours = int(SESSION_LIFETIME.total_seconds() // 3600)
        return f"Your session ended after its limit of {hours} hours. Log in again to continue."
    if reason == "ended":
        return "Your session was ended (logged out elsewhere or by an admin). Log in again."
    return None


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, db: DB, clock: Clock, next: str | None = None, reason: str | None = None
) -> Response:
    """The login form; a logged-in user goes straight on."""
    secret = request.cookies.get(SESSION_COOKIE)
    idle = session_idle_timeout(request)
    if secret and authenticate_token(db, secret, clock, kind="session", idle_timeout=idle):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next, None, 200, _session_ended_text(reason, request))


def _login_page(
    request: Request, next: str | None, error: str | None, status: int, info: str | None = None
) -> Response:
    token = new_login_csrf()
    response = render(
        request,
        "login.html",
        {"csrf_token": token, "next": safe_next(next), "error": error, "info": info, "user": None},
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
            "findings": count_open_findings(db),
            "coverage": monitoring_coverage(db),
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


def _chosen(
    view: ListView,
    q: str | None,
    platform: str | None,
    integration: str | None,
    power_state: str | None,
    sort: str | None,
    datacenter_id: str | None,
) -> dict[str, str | None]:
    """The list parameters a request chose (empty ones as None)."""
    return {
        "q": (q or "").strip() or None,
        "platform": platform or None,
        "integration": integration or None,
        "power_state": (power_state or None) if view.power_states else None,
        "datacenter_id": (datacenter_id or None) if view.plural != "datacenters" else None,
        "sort": sort or None,
    }


def _list_params(view: ListView, chosen: dict[str, str | None], cursor: str | None) -> ListParams:
    """What the core's list takes; raises InvalidQueryError for a bad datacenter id."""
    filters: dict[str, Any] = {}
    if view.power_states:
        filters["power_state"] = chosen["power_state"]
    if chosen["datacenter_id"] is not None:
        if not chosen["datacenter_id"].isdigit():
            raise InvalidQueryError("datacenter_id must be an integer")
        filters["datacenter_id"] = int(chosen["datacenter_id"])
    return ListParams(
        integration=chosen["integration"],
        platform=chosen["platform"],
        q=chosen["q"],
        filters=filters,
        sort=chosen["sort"],
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )


FILTER_KEYS = ("q", "platform", "integration", "power_state", "datacenter_id")


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
        datacenter_id: str | None = None,
    ) -> Response:
        chosen = _chosen(view, q, platform, integration, power_state, sort, datacenter_id)
        error = None
        try:
            page = list_page(db, view.plural, _list_params(view, chosen, cursor))
        except InvalidQueryError as exc:
            error, page = str(exc), Page([], 0, None)

        def link(path: str = f"/{view.plural}", **changes: str | None) -> str:
            """This list's URL with some parameters changed (a new sort or filter starts over)."""
            merged = {**chosen, **changes}
            query = urlencode({k: v for k, v in merged.items() if v})
            return path + (f"?{query}" if query else "")

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
                "filtered": any(chosen[k] for k in FILTER_KEYS),
                "no_filters": dict.fromkeys(FILTER_KEYS),
            },
            400 if error else 200,
        )

    handler.__name__ = f"list_{view.plural}_page"
    return handler


def _list_csv_handler(view: ListView) -> Callable[..., Response]:
    def handler(
        request: Request,
        user: PageUser,
        db: DB,
        q: str | None = None,
        platform: str | None = None,
        integration: str | None = None,
        power_state: str | None = None,
        sort: str | None = None,
        datacenter_id: str | None = None,
    ) -> Response:
        """Every row of the list as it is filtered, searched and sorted, as CSV."""
        chosen = _chosen(view, q, platform, integration, power_state, sort, datacenter_id)
        try:
            params = _list_params(view, chosen, None)
            return csv_stream_response(
                list_view_csv(db, view.plural, params), f"iroa-{view.plural}-view"
            )
        except InvalidQueryError as exc:
            return message_page(request, "Cannot download this view", str(exc), 400, user)

    handler.__name__ = f"list_{view.plural}_csv"
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
        context = {"user": user, "object": found, "label": label, "plural": plural}
        if plural in ("vms", "hosts"):
            context["monitoring"] = monitoring_panel(db, plural[:-1], object_id)
        return render(request, f"{plural.removesuffix('s')}.html", context)

    handler.__name__ = f"{plural}_detail_page"
    return handler


for _view in LIST_VIEWS.values():
    router.add_api_route(f"/{_view.plural}", _list_handler(_view), methods=["GET"])
    router.add_api_route(f"/{_view.plural}.csv", _list_csv_handler(_view), methods=["GET"])
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
        entry["syncable"] = True
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
            "presets": tuple(PRESETS),
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
    shown["token"] = "on" if form.get("token") else ""

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
                token=bool(form.get("token")),
                monitoring=_monitoring_form(form),
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
                token=data.token,
                settings=resolve_settings(data.kind, data.monitoring),
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


def _monitoring_form(form: dict[str, str]) -> dict[str, Any] | None:
    """The form's Prometheus preset or Zabbix match order, for that kind only; queries,
    label, join and history are set with the CLI or the API."""
    kind = form.get("kind", "")
    if kind == "prometheus" and form.get("preset", "").strip():
        return {"preset": form["preset"].strip()}
    if kind == "zabbix" and form.get("match", "").strip():
        return {"match": [f.strip() for f in form["match"].split(",") if f.strip()]}
    return None


@router.post("/integrations/{integration_id}/test")
async def test_integration(
    request: Request, user: PageUser, db: DB, integration_id: int
) -> Response:
    """Connect and log in with the stored settings; say how it went."""
    form = await read_form(request)
    check_csrf(form, user)
    if not user.can("operator"):
        return _forbidden(request, user, "operator")
    back = form.get("back") == "detail"
    return await run_in_threadpool(_test_integration, request, user, db, integration_id, back)


def _test_integration(
    request: Request, user: WebUser, db: Database, integration_id: int, back: bool = False
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
    if back:
        return _integration_page(request, user, db, integration_id, notice=notice)
    return _integrations_page(request, user, db, notice=notice)


@router.post("/integrations/{integration_id}/sync")
async def sync_now(request: Request, user: PageUser, db: DB, integration_id: int) -> Response:
    """Start a sync in the background (as the API does) and show its progress."""
    form = await read_form(request)
    check_csrf(form, user)
    if not user.can("operator"):
        return _forbidden(request, user, "operator")
    back = form.get("back") == "detail"
    return await run_in_threadpool(_sync_now, request, user, db, integration_id, back)


def _sync_now(
    request: Request,
    user: WebUser,
    db: Database,
    integration_id: int,
    back: bool = False,
    force: bool = False,
) -> Response:
    try:
        runtime: Runtime = request.app.state.runtime
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
            return _integration_page(request, user, db, integration_id, notice=notice, status=409)
        return _integrations_page(request, user, db, notice=notice, status=409)
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


RUNS_PAGE_SIZE = 25
SAVED_NOTICES = {
    "saved": "Saved. Test the connection to check new settings.",
    "enabled": "Enabled: automatic syncs run again on its interval.",
    "disabled": "Disabled: no automatic syncs until it is enabled again.",
}


def _held(run: dict[str, Any] | None) -> dict[str, Any] | None:
    """A held run with ``reason``, the safeguard's words (here a button forces the run)."""
    if run is None or run["status"] != RunStatus.HELD:
        return None
    reason = (run["error"] or "it would remove too much").removeprefix("held: ")
    return {**run, "reason": reason}


def _no_integration(request: Request, user: WebUser, integration_id: int) -> Response:
    return message_page(
        request,
        "No such integration",
        f"There is no integration with id {integration_id}. See the Integrations page.",
        404,
        user,
    )


def _find_integration(db: Database, integration_id: int) -> dict[str, Any] | None:
    if not 0 < integration_id < 2**63:
        return None
    try:
        return service.integration_as_dict(service.get_integration_by_id(db, integration_id))
    except service.IntegrationNotFoundError:
        return None


def _integration_page(
    request: Request,
    user: WebUser,
    db: Database,
    integration_id: int,
    *,
    notice: dict[str, Any] | None = None,
    before: int | None = None,
    status: int = 200,
) -> Response:
    integration = _find_integration(db, integration_id)
    if integration is None:
        return _no_integration(request, user, integration_id)
    runs = list_runs_page(
        db, integration_id=integration_id, limit=RUNS_PAGE_SIZE + 1, before_id=before
    )
    older = runs[RUNS_PAGE_SIZE - 1]["id"] if len(runs) > RUNS_PAGE_SIZE else None
    runs = runs[:RUNS_PAGE_SIZE]
    latest = runs[0] if runs and before is None else _last_run(db, integration_id)
    return render(
        request,
        "integration.html",
        {
            "user": user,
            "i": integration,
            "runs": runs,
            "older": older,
            "paged": before is not None,
            "held": _held(latest),
            "syncable": True,
            "inventory": integration["kind"] in INVENTORY_KINDS,
            "notice": notice,
        },
        status,
    )


@router.get("/integrations/{integration_id}", response_class=HTMLResponse)
def integration_page(
    request: Request,
    user: PageUser,
    db: DB,
    integration_id: int,
    before: int | None = None,
    notice: str | None = None,
) -> Response:
    """One integration: its settings, its actions for the user's role, and its run history."""
    shown = {"ok": True, "text": SAVED_NOTICES[notice]} if notice in SAVED_NOTICES else None
    if before is not None and not 0 < before < 2**63:
        before = None
    return _integration_page(request, user, db, integration_id, notice=shown, before=before)


EDIT_FIELDS = ("name", "url", "username", "ca_file", "transport", "interval_seconds")


def _edit_page(
    request: Request,
    user: WebUser,
    integration: dict[str, Any],
    form: dict[str, Any],
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "integration_edit.html",
        {
            "user": user,
            "i": integration,
            "form": form,
            "error": error,
            "transports": service.TRANSPORTS,
            "min_interval": request.app.state.settings.min_sync_interval_s,
            "max_interval": service.MAX_INTERVAL_S,
        },
        status,
    )


@router.get("/integrations/{integration_id}/edit", response_class=HTMLResponse)
def edit_integration_page(
    request: Request, user: PageUser, db: DB, integration_id: int
) -> Response:
    """The edit form of an integration, filled with its settings (never its secret)."""
    if not user.can("admin"):
        return _forbidden(request, user, "admin")
    integration = _find_integration(db, integration_id)
    if integration is None:
        return _no_integration(request, user, integration_id)
    form = {k: integration[k] for k in (*EDIT_FIELDS, "insecure", "enabled")}
    form["token"] = bool(integration.get("token"))
    return _edit_page(request, user, integration, form)


@router.post("/integrations/{integration_id}/edit")
async def edit_integration(
    request: Request, user: PageUser, db: DB, integration_id: int
) -> Response:
    """Change an integration through the service the API uses (validated, audited)."""
    form = await read_form(request)
    check_csrf(form, user)
    if not user.can("admin"):
        return _forbidden(request, user, "admin")
    return await run_in_threadpool(_edit_integration, request, user, db, integration_id, form)


def _edit_integration(
    request: Request, user: WebUser, db: Database, integration_id: int, form: dict[str, str]
) -> Response:
    integration = _find_integration(db, integration_id)
    if integration is None:
        return _no_integration(request, user, integration_id)
    shown: dict[str, Any] = {k: form.get(k, "") for k in EDIT_FIELDS}
    shown["insecure"] = bool(form.get("insecure"))
    shown["enabled"] = bool(form.get("enabled"))
    shown["token"] = bool(form.get("token"))
    interval = form.get("interval_seconds", "").strip()
    if interval and not interval.isdigit():
        return _edit_page(
            request,
            user,
            integration,
            shown,
            "the interval must be a whole number of seconds (0 for no auto-sync)",
            422,
        )
    changes = service.IntegrationUpdate(
        name=form.get("name", ""),
        url=form.get("url", ""),
        username=form.get("username", "").strip() or None,
        password=form.get("password") or None,
        ca_file=form.get("ca_file", "").strip(),
        insecure=shown["insecure"],
        transport=form.get("transport") or None,
        interval_seconds=int(interval) if interval else 0,
        enabled=shown["enabled"],
        token=bool(form.get("token")) if integration["kind"] in MONITORING_KINDS else None,
    )
    try:
        service.update_integration(
            db,
            request.app.state.box,
            integration_id,
            changes,
            user.principal.actor,
            min_interval_s=request.app.state.settings.min_sync_interval_s,
        )
    except service.IntegrationError as exc:
        return _edit_page(request, user, integration, shown, str(exc), 422)
    return RedirectResponse(f"/integrations/{integration_id}?notice=saved", status_code=303)


@router.post("/integrations/{integration_id}/enabled")
async def set_integration_enabled(
    request: Request, user: PageUser, db: DB, integration_id: int
) -> Response:
    """Enable or disable an integration's automatic syncs (admins; audited)."""
    form = await read_form(request)
    check_csrf(form, user)
    if not user.can("admin"):
        return _forbidden(request, user, "admin")
    enabled = form.get("enabled") == "true"

    def update() -> Response:
        try:
            service.update_integration(
                db,
                request.app.state.box,
                integration_id,
                service.IntegrationUpdate(enabled=enabled),
                user.principal.actor,
                min_interval_s=request.app.state.settings.min_sync_interval_s,
            )
        except service.IntegrationNotFoundError:
            return _no_integration(request, user, integration_id)
        except service.IntegrationError as exc:
            notice = {"ok": False, "text": f"Not changed: {exc}"}
            return _integration_page(request, user, db, integration_id, notice=notice, status=422)
        state = "enabled" if enabled else "disabled"
        return RedirectResponse(f"/integrations/{integration_id}?notice={state}", status_code=303)

    return await run_in_threadpool(update)


@router.get("/integrations/{integration_id}/force", response_class=HTMLResponse)
def force_sync_page(request: Request, user: PageUser, db: DB, integration_id: int) -> Response:
    """Ask an admin to confirm a sync past the mass-removal safeguard."""
    if not user.can("admin"):
        return _forbidden(request, user, "admin")
    integration = _find_integration(db, integration_id)
    if integration is None:
        return _no_integration(request, user, integration_id)
    latest = _last_run(db, integration_id)
    return render(
        request,
        "force.html",
        {
            "user": user,
            "i": integration,
            "held": _held(latest),
        },
    )


@router.post("/integrations/{integration_id}/force")
async def force_sync(request: Request, user: PageUser, db: DB, integration_id: int) -> Response:
    """Start a forced sync (as the API's ``{"force": true}``): audited as ``sync.force``."""
    form = await read_form(request)
    check_csrf(form, user)
    if not user.can("admin"):
        return _forbidden(request, user, "admin")
    if form.get("confirm") != "yes":
        return RedirectResponse(f"/integrations/{integration_id}/force", status_code=303)
    return await run_in_threadpool(_sync_now, request, user, db, integration_id, True, True)


EXPORT_NAMES = (*LIST_VIEWS, *(sheet.name for sheet in SHEETS))


@router.get("/export.xlsx")
def export_workbook(request: Request, user: PageUser, db: DB) -> Response:
    """The whole inventory as the RVTools-like workbook (as ``GET /api/v1/export.xlsx``)."""
    if not user.can("operator"):
        return _forbidden(request, user, "operator")
    return file_response(
        lambda path: write_xlsx(db, path), XLSX_MEDIA_TYPE, ".xlsx", "iroa-inventory"
    )


@router.get("/export/{name}.csv")
def export_csv(request: Request, user: PageUser, db: DB, name: str) -> Response:
    """Every object of one type, or one sheet of the workbook, as CSV (as the API's export)."""
    if not user.can("operator"):
        return _forbidden(request, user, "operator")
    if name not in EXPORT_NAMES:
        return message_page(
            request,
            "No such export",
            f"There is no export named {name!r}: choose one of {', '.join(EXPORT_NAMES)}.",
            404,
            user,
        )

    rows = list_csv(db, name) if name in LIST_VIEWS else stream_sheet_csv(db, name)
    return csv_stream_response(rows, f"iroa-{name}")
