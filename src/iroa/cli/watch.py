"""``iroa watch NAME``: keep one integration current from its change feed, in the foreground."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from iroa.cli.context import get_context
from iroa.cli.output import say
from iroa.integrations.service import get_integration
from iroa.sync.runs import SyncResult
from iroa.sync.watching import WatchStatus, watch_integration
from iroa.vocabulary import RunStatus


def watch_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Integration name (vCenter)")],
) -> None:
    """Apply each change of a vCenter as it happens, until Ctrl-C.

    Reads and applies the whole inventory first (a run with trigger "watch"), then one
    run per batch of changes; reconnects by itself when the session is lost.
    """
    context = get_context(ctx)
    integration = get_integration(context.db, name)

    def status(now: WatchStatus) -> None:
        reason = f": {now.reason}" if now.reason else ""
        say(f"watch of {name!r}: {now.state}{reason}", highlight=False)

    def result(run: SyncResult) -> None:
        counts = run.counts or {}
        added, modified, removed = (
            sum(c.get(action, 0) for c in counts.values())
            for action in ("added", "modified", "removed")
        )
        if run.status == RunStatus.SUCCEEDED and not (added or modified or removed):
            return
        line = (
            f"run {run.run_id} {run.status}: {added} added, {modified} modified, {removed} removed"
        )
        if run.error:
            line += f" ({run.error})"
        say(line, highlight=False)

    stop = threading.Event()
    try:
        watch_integration(context.sync, integration.id, stop, on_status=status, on_result=result)
    except KeyboardInterrupt:
        stop.set()
        say(f"watch of {name!r}: stopped", highlight=False)
