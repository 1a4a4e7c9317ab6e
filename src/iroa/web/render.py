"""Rendering pages: the Jinja2 environment with IROA's filters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from iroa import __version__
from iroa.inventory.events import OBJECT_EVENTS_LIMIT
from iroa.web.formatting import FILTERS, percent

TEMPLATES_DIR = Path(__file__).with_name("templates")
NAVIGATION = (
    ("/", "Overview"),
    ("/vms", "Virtual machines"),
    ("/hosts", "Hosts"),
    ("/clusters", "Clusters"),
    ("/datacenters", "Datacenters"),
    ("/datastores", "Datastores"),
    ("/networks", "Networks"),
    ("/findings", "Findings"),
    ("/monitoring", "Monitoring"),
    ("/integrations", "Integrations"),
)
DETAIL_PLURALS = {
    "vm": "vms",
    "host": "hosts",
    "cluster": "clusters",
    "datacenter": "datacenters",
    "datastore": "datastores",
    "network": "networks",
}
"""Object types (as changes name them) that have a detail page, and its path."""
KIND_LABELS = {
    "vcenter": "VMware vCenter",
    "hyperv": "Microsoft Hyper-V",
    "prometheus": "Prometheus",
    "zabbix": "Zabbix",
}

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters.update(FILTERS)
templates.env.globals.update(
    navigation=NAVIGATION,
    version=__version__,
    percent=percent,
    detail_plurals=DETAIL_PLURALS,
    kind_labels=KIND_LABELS,
    events_limit=OBJECT_EVENTS_LIMIT,
)


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """A page from ``templates/name``; ``context`` should carry ``user`` on logged-in pages."""
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def message_page(
    request: Request, title: str, text: str, status_code: int, user: Any = None
) -> HTMLResponse:
    """A short page that says what went wrong and where to go."""
    return render(
        request, "message.html", {"title": title, "text": text, "user": user}, status_code
    )
