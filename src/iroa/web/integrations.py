"""Integration pages: the list, adding, testing, editing, enabling and one integration's page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from iroa.connectors.base import ConnectorError
from iroa.connectors.registry import (
    AVAILABLE_KINDS,
    INVENTORY_KINDS,
    MONITORING_KINDS,
    WATCHABLE_KINDS,
    UnsupportedKindError,
    check_connection,
)
from iroa.db.engine import Database
from iroa.errors import InvalidInputError
from iroa.http.deps import DB, runtime_of
from iroa.integrations import inputs, service
from iroa.integrations.monitoring import PRESETS
from iroa.integrations.watchers import watchers_by_integration
from iroa.redaction import without_userinfo
from iroa.sync.history import list_runs_page
from iroa.vocabulary import RunStatus
from iroa.web.render import message_page, render
from iroa.web.session import PageAdmin, PageForm, PageOperator, PageUser, WebUser

router = APIRouter(include_in_schema=False)


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


def render_integrations(
    request: Request,
    user: WebUser,
    db: Database,
    *,
    form: dict[str, str] | None = None,
    form_error: str | None = None,
    notice: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    watchers = watchers_by_integration(db)
    integrations = [
        service.integration_as_dict(i, watchers.get(i.id)) for i in service.list_integrations(db)
    ]
    for entry in integrations:
        entry["last_run"] = last_run(db, entry["id"])
        entry["syncable"] = True
    return render(
        request,
        "integrations.html",
        {
            "user": user,
            "integrations": integrations,
            "form": form or {"kind": "vcenter", "watch": "on"},
            "form_error": form_error,
            "notice": notice,
            "kinds": AVAILABLE_KINDS,
            "transports": inputs.TRANSPORTS,
            "presets": tuple(PRESETS),
        },
        status,
    )


@router.get("/integrations", response_class=HTMLResponse)
def integrations_page(request: Request, user: PageUser, db: DB) -> Response:
    """Integrations with their last run; sync and test for operators, an add form for admins."""
    return render_integrations(request, user, db)


@router.post("/integrations")
def add_integration(request: Request, user: PageAdmin, db: DB, form: PageForm) -> Response:
    """Check the connection with the given settings, then store the integration."""
    shown = {k: form.get(k, "") for k in INTEGRATION_FIELDS}
    shown["url"] = without_userinfo(shown["url"])
    shown["insecure"] = "on" if form.get("insecure") else ""
    shown["token"] = "on" if form.get("token") else ""
    shown["watch"] = "on" if form.get("watch") else ""
    shown["kerberos_delegation"] = "on" if form.get("kerberos_delegation") else ""
    kind = form.get("kind", "")

    def refuse(message: str) -> Response:
        return render_integrations(request, user, db, form=shown, form_error=message, status=422)

    interval = form.get("interval_seconds", "").strip()
    if interval and not interval.isdigit():
        return refuse("the interval must be a whole number of seconds (0 for no auto-sync)")
    runtime = runtime_of(request)
    try:
        added = service.add_integration(
            db,
            runtime.box,
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
                watch=bool(form.get("watch")) if kind in WATCHABLE_KINDS else None,
                kerberos_delegation=bool(form.get("kerberos_delegation")),
            ),
            user.principal.actor,
            min_interval_s=runtime.settings.min_sync_interval_s,
            check=True,
        )
    except InvalidInputError as exc:
        return refuse(str(exc))
    except ConnectorError as exc:
        return refuse(f"The connection test failed, nothing was saved: {exc}")
    return render_integrations(
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
def test_integration(
    request: Request, user: PageOperator, db: DB, form: PageForm, integration_id: int
) -> Response:
    """Connect and log in with the stored settings; say how it went."""
    try:
        integration = service.get_integration_by_id(db, integration_id)
        box = runtime_of(request).box
        info = check_connection(integration.kind, service.connection_options(integration, box))
    except (service.IntegrationError, UnsupportedKindError, ConnectorError) as exc:
        notice = {"ok": False, "text": f"Connection test failed: {exc}"}
    else:
        product = " ".join(str(p) for p in (info.product, info.version) if p)
        notice = {"ok": True, "text": f"{integration.name}: connected to {product or info.name}."}
    if form.get("back") == "detail":
        return render_integration(request, user, db, integration_id, notice=notice)
    return render_integrations(request, user, db, notice=notice)


RUNS_PAGE_SIZE = 25


SAVED_NOTICES = {
    "saved": "Saved. Test the connection to check new settings.",
    "enabled": "Enabled: automatic syncs run again on its interval.",
    "disabled": "Disabled: no automatic syncs until it is enabled again.",
}


def no_integration_page(request: Request, user: WebUser, integration_id: int) -> Response:
    return message_page(
        request,
        "No such integration",
        f"There is no integration with id {integration_id}. See the Integrations page.",
        404,
        user,
    )


def find_integration(db: Database, integration_id: int) -> dict[str, Any] | None:
    if not 0 < integration_id < 2**63:
        return None
    try:
        return service.integration_view(db, integration_id)
    except service.IntegrationNotFoundError:
        return None


def render_integration(
    request: Request,
    user: WebUser,
    db: Database,
    integration_id: int,
    *,
    notice: dict[str, Any] | None = None,
    before: int | None = None,
    status: int = 200,
) -> Response:
    integration = find_integration(db, integration_id)
    if integration is None:
        return no_integration_page(request, user, integration_id)
    runs = list_runs_page(
        db, integration_id=integration_id, limit=RUNS_PAGE_SIZE + 1, before_id=before
    )
    older = runs[RUNS_PAGE_SIZE - 1]["id"] if len(runs) > RUNS_PAGE_SIZE else None
    runs = runs[:RUNS_PAGE_SIZE]
    latest = runs[0] if runs and before is None else last_run(db, integration_id)
    return render(
        request,
        "integration.html",
        {
            "user": user,
            "i": integration,
            "runs": runs,
            "older": older,
            "paged": before is not None,
            "held": held_run(latest),
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
    return render_integration(request, user, db, integration_id, notice=shown, before=before)


EDIT_FIELDS = ("name", "url", "username", "ca_file", "transport", "interval_seconds")


def _edit_page(
    request: Request,
    user: WebUser,
    integration: dict[str, Any],
    form: dict[str, Any],
    error: str | None = None,
    status: int = 200,
    *,
    ask_password: bool = False,
) -> Response:
    return render(
        request,
        "integration_edit.html",
        {
            "user": user,
            "i": integration,
            "form": form,
            "error": error,
            "ask_password": ask_password,
            "transports": inputs.TRANSPORTS,
            "watchable": integration["kind"] in WATCHABLE_KINDS,
            "min_interval": runtime_of(request).settings.min_sync_interval_s,
            "max_interval": inputs.MAX_INTERVAL_S,
        },
        status,
    )


@router.get("/integrations/{integration_id}/edit", response_class=HTMLResponse)
def editrender_integration(
    request: Request, user: PageAdmin, db: DB, integration_id: int
) -> Response:
    """The edit form of an integration, filled with its settings (never its secret)."""
    integration = find_integration(db, integration_id)
    if integration is None:
        return no_integration_page(request, user, integration_id)
    form = {k: integration[k] for k in (*EDIT_FIELDS, "insecure", "enabled", "watch")}
    form["kerberos_delegation"] = bool(integration.get("kerberos_delegation"))
    form["token"] = bool(integration.get("token"))
    return _edit_page(request, user, integration, form)


@router.post("/integrations/{integration_id}/edit")
def edit_integration(
    request: Request, user: PageAdmin, db: DB, form: PageForm, integration_id: int
) -> Response:
    """Change an integration through the service the API uses (validated, audited)."""
    integration = find_integration(db, integration_id)
    if integration is None:
        return no_integration_page(request, user, integration_id)
    shown: dict[str, Any] = {k: form.get(k, "") for k in EDIT_FIELDS}
    shown["url"] = without_userinfo(shown["url"])
    shown["insecure"] = bool(form.get("insecure"))
    shown["enabled"] = bool(form.get("enabled"))
    shown["token"] = bool(form.get("token"))
    shown["watch"] = bool(form.get("watch"))
    shown["kerberos_delegation"] = bool(form.get("kerberos_delegation"))
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
    is_hyperv = integration["kind"] == "hyperv"
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
        watch=shown["watch"] if integration["kind"] in WATCHABLE_KINDS else None,
        kerberos_delegation=shown["kerberos_delegation"] if is_hyperv else None,
    )
    try:
        service.update_integration(
            db,
            runtime_of(request).box,
            integration_id,
            changes,
            user.principal.actor,
            min_interval_s=runtime_of(request).settings.min_sync_interval_s,
        )
    except service.SecretNeededError as exc:
        return _edit_page(request, user, integration, shown, str(exc), 422, ask_password=True)
    except service.IntegrationError as exc:
        return _edit_page(request, user, integration, shown, str(exc), 422)
    return RedirectResponse(f"/integrations/{integration_id}?notice=saved", status_code=303)


@router.post("/integrations/{integration_id}/enabled")
def set_integration_enabled(
    request: Request, user: PageAdmin, db: DB, form: PageForm, integration_id: int
) -> Response:
    """Enable or disable an integration's automatic syncs (admins; audited)."""
    enabled = form.get("enabled") == "true"
    runtime = runtime_of(request)
    try:
        service.update_integration(
            db,
            runtime.box,
            integration_id,
            service.IntegrationUpdate(enabled=enabled),
            user.principal.actor,
            min_interval_s=runtime.settings.min_sync_interval_s,
        )
    except service.IntegrationNotFoundError:
        return no_integration_page(request, user, integration_id)
    except service.IntegrationError as exc:
        notice = {"ok": False, "text": f"Not changed: {exc}"}
        return render_integration(request, user, db, integration_id, notice=notice, status=422)
    state = "enabled" if enabled else "disabled"
    return RedirectResponse(f"/integrations/{integration_id}?notice={state}", status_code=303)


def last_run(db: Database, integration_id: int) -> dict[str, Any] | None:
    runs = list_runs_page(db, integration_id=integration_id, limit=1)
    return runs[0] if runs else None


def held_run(run: dict[str, Any] | None) -> dict[str, Any] | None:
    """A held run with ``reason``, the safeguard's words (here a button forces the run)."""
    if run is None or run["status"] != RunStatus.HELD:
        return None
    reason = (run["error"] or "it would remove too much").removeprefix("held: ")
    return {**run, "reason": reason}
