"""``iroa export``: the inventory as an RVTools-like workbook or as CSV files."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from iroa.cli.context import get_context
from iroa.cli.inventory import ListableType
from iroa.cli.progress import TerminalProgress
from iroa.exports.csv import list_csv, write_csv_directory, write_text_atomically
from iroa.exports.xlsx import write_xlsx


class ExportFormat(StrEnum):
    xlsx = "xlsx"
    csv = "csv"


def export_command(
    ctx: typer.Context,
    export_format: Annotated[ExportFormat, typer.Option("--format", help="xlsx or csv")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            help="The workbook file (xlsx); the directory for one CSV per sheet (csv); "
            "the CSV file with --list",
        ),
    ],
    integration: Annotated[str | None, typer.Option(help="Only this integration")] = None,
    list_type: Annotated[
        ListableType | None,
        typer.Option("--list", help="With --format csv: one list, as the API lists it"),
    ] = None,
) -> None:
    """Export the inventory: sheets vInfo … vHealth for both platforms (see docs/exports.md)."""
    context = get_context(ctx)
    if list_type is not None:
        if export_format is not ExportFormat.csv:
            print("error: --list needs --format csv", file=sys.stderr)
            raise typer.Exit(2)
        write_text_atomically(
            output, list_csv(context.db, list_type.value, integration=integration)
        )
        typer.echo(f"wrote {output} ({list_type.value})")
        return
    with TerminalProgress(Console(stderr=True)) as progress:
        if export_format is ExportFormat.xlsx:
            rows = write_xlsx(context.db, output, integration=integration, progress=progress)
            summary = ", ".join(f"{name} {count}" for name, count in rows.items())
            message = f"wrote {output} (rows: {summary})"
        else:
            files = write_csv_directory(
                context.db, output, integration=integration, progress=progress
            )
            message = f"wrote {len(files)} CSV files to {output}: {', '.join(files)}"
    typer.echo(message)
