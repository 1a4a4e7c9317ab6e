"""Rendering for the terminal: JSON for machines, Rich tables for people.

Text from sources (a VM named ``\x1b[2J[bold]x``) is shown, never obeyed: control
characters become U+FFFD (:func:`iroa.text.printable`) and Rich markup is not
interpreted. Everything printed for people goes through :func:`say`,
:func:`print_table` or :func:`print_error`; JSON escapes control characters itself.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from iroa.text import printable

console = Console()


def say(message: str, *, highlight: bool | None = None) -> None:
    """Print one message for people, its text shown as it is (no markup, no escapes)."""
    console.print(printable(message), markup=False, emoji=False, highlight=highlight)


def print_warning(message: str) -> None:
    """``warning: message`` on standard error, control characters shown as U+FFFD."""
    print(f"warning: {printable(message)}", file=sys.stderr)


def print_error(message: str) -> None:
    """``error: message`` on standard error, control characters shown as U+FFFD."""
    print(f"error: {printable(message)}", file=sys.stderr)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def print_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]], empty: str
) -> None:
    """A table of ``(key, heading)`` columns, or the ``empty`` message."""
    if not rows:
        say(empty)
        return
    table = Table(show_edge=False, pad_edge=False)
    for _, heading in columns:
        table.add_column(heading, overflow="fold")
    for row in rows:
        table.add_row(*(Text(printable(format_value(row.get(key)))) for key, _ in columns))
    console.print(table)


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)
