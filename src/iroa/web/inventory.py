"""Inventory pages: a list per object type (with search, filters, sorting, paging and CSV) and
each object's detail page."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from iroa.connectors.registry import (
    INVENTORY_KINDS,
)
from iroa.db.engine import Database
from iroa.exports.csv import (
    list_view_csv,
)
from iroa.findings.listing import object_detail
from iroa.http.deps import DB
from iroa.http.responses import csv_stream_response
from iroa.integrations import service
from iroa.inventory.listing import ListParams, list_page
from iroa.inventory.overview import latest_field_change
from iroa.inventory.types import BY_PLURAL
from iroa.paging import InvalidQueryError, Page
from iroa.web.formatting import parse_time
from iroa.web.monitoring import monitoring_panel
from iroa.web.render import message_page, render
from iroa.web.session import (
    PageUser,
)
from iroa.web.tables import LIST_VIEWS, ListView

router = APIRouter(include_in_schema=False)


PAGE_SIZE = 50


@dataclass(frozen=True)
class ListQuery:
    """What a list page's query string may choose (its form's fields and the sort)."""

    q: str | None = None
    platform: str | None = None
    integration: str | None = None
    power_state: str | None = None
    sort: str | None = None
    datacenter_id: str | None = None
    tag: str | None = None

    def chosen(self, view: ListView) -> dict[str, str | None]:
        """The choices that apply to ``view`` (empty ones as None)."""
        return {
            "q": (self.q or "").strip() or None,
            "platform": self.platform or None,
            "integration": self.integration or None,
            "power_state": (self.power_state or None) if view.power_states else None,
            "datacenter_id": (self.datacenter_id or None) if view.plural != "datacenters" else None,
            "tag": (self.tag or "").strip() or None,
            "sort": self.sort or None,
        }


def _list_params(view: ListView, chosen: dict[str, str | None], cursor: str | None) -> ListParams:
    """What the core's list takes; raises InvalidQueryError for a bad datacenter id or tag."""
    filters: dict[str, Any] = {}
    if view.power_states:
        filters["power_state"] = chosen["power_state"]
    if chosen["datacenter_id"] is not None:
        if not chosen["datacenter_id"].isdigit():
            raise InvalidQueryError("datacenter_id must be an integer")
        filters["datacenter_id"] = int(chosen["datacenter_id"])
    if chosen["tag"] is not None:
        filters["tag"] = chosen["tag"]
    return ListParams(
        integration=chosen["integration"],
        platform=chosen["platform"],
        q=chosen["q"],
        filters=filters,
        sort=chosen["sort"],
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )


FILTER_KEYS = ("q", "platform", "integration", "power_state", "datacenter_id", "tag")


def _list_handler(view: ListView) -> Callable[..., Response]:
    def handler(
        request: Request,
        user: PageUser,
        db: DB,
        query: Annotated[ListQuery, Depends()],
        cursor: str | None = None,
    ) -> Response:
        chosen = query.chosen(view)
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
        request: Request, user: PageUser, db: DB, query: Annotated[ListQuery, Depends()]
    ) -> Response:
        """Every row of the list as it is filtered, searched and sorted, as CSV."""
        chosen = query.chosen(view)
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
        found = object_detail(db, plural, object_id) if 0 < object_id < 2**63 else None
        if found is None:
            return message_page(
                request,
                f"No such {label}",
                f"There is no {label} with id {object_id}. It may belong to an integration "
                "that was removed.",
                404,
                user,
            )
        context: dict[str, object] = {
            "user": user,
            "object": found,
            "label": label,
            "plural": plural,
        }
        if BY_PLURAL[plural].monitored:
            context["monitoring"] = monitoring_panel(db, BY_PLURAL[plural].name, object_id)
        if plural == "vms":
            context["powered_by"] = powered_by(db, found)
        return render(request, f"{plural.removesuffix('s')}.html", context)

    handler.__name__ = f"{plural}_detail_page"
    return handler


def powered_by(db: Database, vm: Mapping[str, Any]) -> dict[str, Any] | None:
    """Who left a VM off (or suspended), for its page's header: its latest power-state change
    if that brought it to the state it is in and an event names who did it, with the time
    of that event (the change's own time if it is not among the VM's latest events)."""
    if vm["power_state"] not in ("off", "suspended"):
        return None
    change = latest_field_change(db, "vm", vm["id"], "power_state")
    if change is None or change["actor"] is None:
        return None
    if change["fields"]["power_state"][1] != vm["power_state"]:
        return None
    at = parse_time(change["changed_at"])
    for event in vm.get("events", ()):
        same = event["type"] == change["event"] and event["user"] == change["actor"]
        if same and at is not None and event["created_at"] <= at:
            at = event["created_at"]
            break
    return {**change, "at": at}


for _view in LIST_VIEWS.values():
    router.add_api_route(f"/{_view.plural}", _list_handler(_view), methods=["GET"])
    router.add_api_route(f"/{_view.plural}.csv", _list_csv_handler(_view), methods=["GET"])
    router.add_api_route(
        f"/{_view.plural}/{{object_id}}",
        _detail_handler(_view.plural, _view.singular),
        methods=["GET"],
    )
