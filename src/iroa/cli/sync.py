"""``iroa sync NAME``: sync one integration now, with progress, and report what changed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from iroa.audit.service import CLI_ACTOR, record_sync_start
from iroa.cli.context import get_context
from iroa.cli.output import print_error, print_json, print_table, say
from iroa.cli.progress import TerminalProgress
from iroa.integrations.service import get_integration
from iroa.sync.history import get_run
from iroa.sync.runs import SyncAlreadyRunningError
from iroa.sync.service import sync_integration
from iroa.vocabulary import RunStatus, Trigger

HELD_ADVICE = " (run again with --allow-mass-removal to apply it)"


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

    def audit_start(run_id: int) -> None:
        record_sync_start(context.db, CLI_ACTOR, integration.id, name, run_id, allow_mass_removal)

    try:
        with TerminalProgress(Console(stderr=True)) as progress:
            result = sync_integration(
                context.sync,
                integration.id,
                trigger=Trigger.MANUAL,
                force=allow_mass_removal,
                progress=progress,
                on_start=audit_start,
            )
    except SyncAlreadyRunningError:
        print_error(f"a sync of {name!r} is already running")
        raise typer.Exit(1) from None
    run = get_run(context.db, result.run_id)
    assert run is not None
    if json_output:
        print_json([run])
    else:
        _report(name, run)
    if not result.succeeded:
        if not json_output:
            advice = HELD_ADVICE if result.status == RunStatus.HELD else ""
            print_error(f"sync of {name!r} {result.status}: {run['error']}{advice}")
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
    if run["status"] == "succeeded" and not counts:
        say(
            f"sync of {name!r} succeeded in {run['duration_s']} s (run {run['id']}): "
            + ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in totals.items())
        )
    elif run["status"] == "succeeded":
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
        say(
            f"sync of {name!r} succeeded in {run['duration_s']} s (run {run['id']}): "
            f"{run['added']} added, {run['modified']} modified, "
            f"{run['removed']} removed"
        )
