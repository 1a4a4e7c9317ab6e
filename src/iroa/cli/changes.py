"""``iroa changes`` and ``iroa events``: what syncs changed, and who did what in vCenter."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from iroa.cli.context import get_context
from iroa.cli.output import format_value, print_json, print_table, say
from iroa.inventory.events import list_events
from iroa.inventory.overview import list_changes
from iroa.paging import DEFAULT_LIMIT, MAX_LIMIT, Page, parse_timestamp
from iroa.vocabulary import ChangeAction

SHOWN_FIELDS = 2
SHOWN_VALUE = 24
FIRST_FIELDS = ("power_state", "name")

Limit = Annotated[
    int,
    typer.Option(min=1, max=MAX_LIMIT, help="Show at most this many, newest first"),
]
JsonOutput = Annotated[bool, typer.Option("--json", help="Print JSON")]
Integration = Annotated[str | None, typer.Option(help="Only this integration (name)")]
Since = Annotated[
    str | None, typer.Option(help="ISO-8601 time (UTC if no zone): at or after this moment")
]


def _moment(value: str | None, name: str) -> datetime | None:
    return None if value is None else parse_timestamp(value, name)


def _short(value: Any) -> str:
    text = format_value(value)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + "…"


def what_changed(fields: dict[str, list[Any]] | None) -> str | None:
    """A change's fields in a few words: ``power_state: on → off``, and how many more.

    The power state and the name come first: they are what a reader of a table scans for,
    and the power state is what most events explain."""
    if not fields:
        return None
    last = len(FIRST_FIELDS)
    names = sorted(fields, key=lambda n: FIRST_FIELDS.index(n) if n in FIRST_FIELDS else last)
    shown = [
        f"{name}: {_short(fields[name][0])} → {_short(fields[name][1])}"
        for name in names[:SHOWN_FIELDS]
    ]
    more = len(fields) - SHOWN_FIELDS
    return "; ".join(shown) + (f" (+{more} more)" if more > 0 else "")


def _say_more(page: Page[Any], what: str) -> None:
    if page.next_cursor is not None:
        say(f"showing the newest {len(page.items)} of {page.total} {what} (see --limit)")


def changes_command(
    ctx: typer.Context,
    since: Since = None,
    until: Annotated[
        str | None, typer.Option(help="ISO-8601 time (UTC if no zone): before this moment")
    ] = None,
    integration: Integration = None,
    object_type: Annotated[
        str | None, typer.Option(help="Only objects of this type: vm, host, vm_disk …")
    ] = None,
    action: Annotated[ChangeAction | None, typer.Option(help="Only this action")] = None,
    actor: Annotated[
        str | None, typer.Option(help="Only changes an event of this vCenter user explains")
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    json_output: JsonOutput = False,
) -> None:
    """List what syncs added, modified and removed, newest first, and who did it."""
    page = list_changes(
        get_context(ctx).db,
        since=_moment(since, "since"),
        until=_moment(until, "until"),
        integration=integration,
        object_type=object_type,
        action=action.value if action else None,
        actor=actor,
        limit=limit,
    )
    if json_output:
        print_json(page.items)
        return
    rows = [{**change, "what": what_changed(change["fields"])} for change in page.items]
    print_table(
        rows,
        [
            ("changed_at", "When"),
            ("integration", "Integration"),
            ("object_type", "Type"),
            ("object_name", "Name"),
            ("action", "Action"),
            ("what", "What changed"),
            ("actor", "Actor"),
            ("event", "Event"),
        ],
        empty="No changes match.",
    )
    _say_more(page, "changes")


def events_command(
    ctx: typer.Context,
    integration: Integration = None,
    event_type: Annotated[
        str | None, typer.Option("--type", help="Only events of this type: VmPoweredOffEvent …")
    ] = None,
    user: Annotated[str | None, typer.Option(help="Only events of this vCenter user")] = None,
    since: Since = None,
    limit: Limit = DEFAULT_LIMIT,
    json_output: JsonOutput = False,
) -> None:
    """List vCenter events (who did what to which object), newest first."""
    page = list_events(
        get_context(ctx).db,
        integration=integration,
        event_type=event_type,
        user=user,
        since=_moment(since, "since"),
        limit=limit,
    )
    if json_output:
        print_json(page.items)
        return
    print_table(
        page.items,
        [
            ("created_at", "When"),
            ("integration", "Integration"),
            ("type", "Type"),
            ("user", "User"),
            ("object_type", "Object type"),
            ("object_name", "Object"),
            ("message", "Message"),
        ],
        empty="No events match.",
    )
    _say_more(page, "events")
