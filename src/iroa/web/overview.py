"""The dashboard's overview: KPIs, trends, recent changes, findings and coverage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from iroa.db.engine import Database
from iroa.findings.listing import count_open_findings
from iroa.http.deps import DB
from iroa.inventory.overview import get_summary, list_changes, vm_count_trend
from iroa.web.charts import trend_chart
from iroa.web.formatting import format_time
from iroa.web.integrations import last_run
from iroa.web.monitoring import monitoring_coverage
from iroa.web.render import DETAIL_PLURALS, render
from iroa.web.session import (
    PageUser,
)

router = APIRouter(include_in_schema=False)


RECENT_CHANGES = 15


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, user: PageUser, db: DB) -> Response:
    """KPIs per platform and integration, last syncs, recent changes, the VM trend."""
    summary = get_summary(db)
    last_runs = {entry["id"]: last_run(db, entry["id"]) for entry in summary["integrations"]}
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
