"""``iroa sync NAME``: sync one integration now, with progress, and report what changed."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from iroa.audit.service import CLI_ACTOR, record_sync_start
from iroa.cli.context import get_context
from iroa.cli.output import console, print_json, print_table
from iroa.cli.progress import TerminalProgress
from iroa.connectors.registry import create_connector
from iroa.integrations.service import connection_options, get_integration
from iroa.sync.engine import SyncAlreadyRunningError, run_sync
from iroa.sync.history import get_run
from iroa.sync.reconcile import Safeguard


def sync_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Integration name")],
    allow_mass_removal: Annotated[
        bool,
        typer.Option(
            "--allow-mass-removal",
            help="Apply the snapshot even if it removes more than the safeguard allows",
        ),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the run as JSON")] = False,
) -> None:
    """Sync one integration now. Exit 0 only if the run succeeded."""
    context = get_context(ctx)
    integration = get_integration(context.db, name)
    connector = create_connector(integration.kind, connection_options(integration, context.box))
    safeguard = Safeguard(
        context.settings.mass_removal_share, context.settings.mass_removal_min_objects
    )
    try:
        with TerminalProgress(Console(stderr=True)) as progress:
            result = run_sync(
                context.db,
                integration.id,
                connector,
                trigger="manual",
                force=allow_mass_removal,
                progress=progress,
                safeguard=safeguard,
                on_start=lambda run_id: record_sync_start(
                    context.db, CLI_ACTOR, integration.id, name, run_id, allow_mass_removal
                ),
            )
    except SyncAlreadyRunningError:
        print(f"error: a sync of {name!r} is already running", file=sys.stderr)
        raise typer.Exit(1) from None
    run = get_run(context.db, result.run_id)
    assert run is not None
    if json_output:
        print_json([run])
    else:
        _report(name, run)
    if not result.succeeded:
        if not json_output:
            print(f"error: sync of {name!r} {result.status}: {run['error']}", file=sys.stderr)
        raise typer.Exit(1)


def _report(name: str, run: dict[str, object]) -> None:
    counts = run["counts"]
    totals = run["totals"]
    assert isinstance(counts, dict) and isinstance(totals, dict)
    rows = [
        {"type": t, "total": totals.get(t, 0), **c}
        for t, c in counts.items()
        if totals.get(t) or any(c.values())
    ]
    if run["status"] == "succeeded":
        print_table(
            rows,
            [
                ("type", "Type"),
                ("total", "Total"),
                ("added", "Added"),
                ("modified", "Modified"),
                ("removed", "Removed"),
            ],
            empty="",
        )
        console.print(
            f"sync of {name!r} succeeded in {run['duration_s']} s (run {run['id']}): "
            f"{run['added']} added, {run['modified']} modified, "
            f"{run['removed']} removed"
        )
