"""The Findings page: the health findings list with its filters, as the API serves it."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from iroa.connectors.registry import INVENTORY_KINDS
from iroa.findings.catalog import RULES, describe_conditions
from iroa.findings.listing import DEFAULT_SORT, STATUSES, FindingParams, list_findings
from iroa.findings.models import OBJECT_TYPES, SEVERITIES
from iroa.findings.rules import Thresholds
from iroa.http.deps import DB, runtime_of
from iroa.integrations import service
from iroa.paging import InvalidQueryError, Page
from iroa.web.render import render
from iroa.web.session import PageUser

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FILTERS = ("status", "severity", "rule", "object_type", "integration", "q")
SORTABLE = {
    "severity": "Severity",
    "object_name": "Object",
    "rule": "Rule",
    "first_seen_at": "First seen",
    "last_seen_at": "Last seen",
}


@router.get("/findings", response_class=HTMLResponse)
def findings_page(
    request: Request,
    user: PageUser,
    db: DB,
    status: str | None = None,
    severity: str | None = None,
    rule: str | None = None,
    object_type: str | None = None,
    integration: str | None = None,
    q: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
) -> Response:
    """Open findings, most severe first; filters by status, severity, rule, type, integration."""
    chosen = {
        "status": status or "open",
        "severity": severity or None,
        "rule": rule or None,
        "object_type": object_type or None,
        "integration": integration or None,
        "q": (q or "").strip() or None,
        "sort": sort or None,
    }
    error = None
    try:
        page = list_findings(
            db,
            FindingParams(
                status=chosen["status"] or "open",
                severity=chosen["severity"],
                rule=chosen["rule"],
                object_type=chosen["object_type"],
                integration=chosen["integration"],
                q=chosen["q"],
                sort=chosen["sort"],
                limit=PAGE_SIZE,
                cursor=cursor or None,
            ),
        )
    except InvalidQueryError as exc:
        error, page = str(exc), Page([], 0, None)

    def link(**changes: str | None) -> str:
        """This page's URL with some parameters changed (a new sort or filter starts over)."""
        merged = {**chosen, **changes}
        if merged["status"] == "open":
            merged["status"] = None
        return "/findings" + (
            f"?{query}" if (query := urlencode({k: v for k, v in merged.items() if v})) else ""
        )

    settings = runtime_of(request).settings
    return render(
        request,
        "findings.html",
        {
            "user": user,
            "page": page,
            "chosen": chosen,
            "error": error,
            "link": link,
            "paged": cursor is not None,
            "sort": chosen["sort"] or DEFAULT_SORT,
            "sortable": SORTABLE,
            "statuses": STATUSES,
            "severities": SEVERITIES,
            "rules": RULES,
            "conditions": describe_conditions(Thresholds.from_settings(settings)),
            "object_types": OBJECT_TYPES,
            "integrations": [
                i.name for i in service.list_integrations(db) if i.kind in INVENTORY_KINDS
            ],
            "filtered": any(chosen[k] for k in FILTERS if k != "status")
            or chosen["status"] != "open",
        },
        400 if error else 200,
    )
