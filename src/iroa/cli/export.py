"""``iroa export``: the inventory as an RVTools-like workbook or as CSV files."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from iroa.cli.context import get_context
from iroa.cli.inventory import ListableType
from iroa.cli.output import print_error
from iroa.cli.progress import TerminalProgress
from iroa.inventory.history import parse_as_of


class ExportFormat(StrEnum):
    xlsx = "xlsx"
    csv = "csv"


def _usage_error(message: str) -> typer.Exit:
    print_error(message)
    return typer.Exit(2)


def export_command(
    ctx: typer.Context,
    export_format: Annotated[ExportFormat, typer.Option("--format", help="xlsx or csv")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="The workbook file (xlsx); the directory for one CSV per sheet (csv); "
            "the CSV file with --list",
        ),
    ] = None,
    integration: Annotated[str | None, typer.Option(help="Only this integration")] = None,
    list_type: Annotated[
        ListableType | None,
        typer.Option("--list", help="With --format csv: one list, as the API lists it"),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="ISO-8601 time (UTC if no zone): the inventory as it stood then",
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            help="Instead of --output: write a dated export (iroa-export-<UTC time>) "
            "into this directory, e.g. from cron",
        ),
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option(min=1, help="With --output-dir: then delete all but the newest N exports"),
    ] = None,
    raw: Annotated[
        bool,
        typer.Option(
            "--raw",
            help="CSV: write text exactly as stored, without the leading ' that keeps "
            "spreadsheets from running text starting with = + - @ as a formula",
        ),
    ] = False,
) -> None:
    """Export the inventory: sheets vInfo … vMetaData for both platforms (see docs/exports.md)."""
    context = get_context(ctx)
    if (output is None) == (output_dir is None):
        raise _usage_error("give either --output PATH or --output-dir DIR")
    if keep is not None and output_dir is None:
        raise _usage_error("--keep needs --output-dir")
    at = parse_as_of(as_of) if as_of is not None else None
    # Imported here: the workbook library is the heaviest import of the CLI, and every
    # other command (an `iroa sync` of a large estate counts its memory) goes without it.
    from iroa.exports.csv import list_csv, write_csv_directory, write_text_atomically
    from iroa.exports.scheduled import write_dated_export
    from iroa.exports.xlsx import write_xlsx

    if list_type is not None:
        if export_format is not ExportFormat.csv or output is None:
            raise _usage_error("--list needs --format csv and --output")
        write_text_atomically(
            output,
            list_csv(context.db, list_type.value, integration=integration, as_of=at, raw=raw),
        )
        typer.echo(f"wrote {output} ({list_type.value})")
        return
    if output_dir is not None:
        path, deleted = write_dated_export(
            context.db,
            output_dir,
            export_format=export_format.value,
            keep=keep,
            integration=integration,
            as_of=at,
            raw=raw,
        )
        typer.echo(f"wrote {path}" + (f"; deleted {', '.join(deleted)}" if deleted else ""))
        return
    assert output is not None
    with TerminalProgress(Console(stderr=True)) as progress:
        if export_format is ExportFormat.xlsx:
            rows = write_xlsx(
                context.db, output, integration=integration, progress=progress, as_of=at
            )
            summary = ", ".join(f"{name} {count}" for name, count in rows.items())
            message = f"wrote {output} (rows: {summary})"
        else:
            files = write_csv_directory(
                context.db,
                output,
                integration=integration,
                progress=progress,
                as_of=at,
                raw=raw,
            )
            message = f"wrote {len(files)} CSV files to {output}: {', '.join(files)}"
    typer.echo(message)
