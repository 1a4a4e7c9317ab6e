"""Text taken in and text shown: what a name may hold, and collected text made safe to show.

People type names (integrations, users, tokens) into the API, the dashboard and
the CLI; all three refuse the same characters through :func:`check_line`.
Sources send whatever their objects hold (a guest hostname with an ESC in it):
that text is stored as collected and passed through :func:`printable` wherever
it leaves IROA for a terminal or a workbook.
"""

from __future__ import annotations

import re

from iroa.errors import InvalidInputError, IroaError

REPLACEMENT = "\ufffd"
"""What a control character is shown as (U+FFFD, the Unicode replacement character)."""

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
"""Every control character: C0 (tab and line breaks too), DEL and C1."""
_SHOWN_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""Control characters but tab and line breaks (Windows notes end lines with CR LF):
terminal escapes (ESC, CSI), NUL, bell, backspace …"""


def storable_problem(value: str) -> str | None:
    """Why no database could store ``value`` (NUL characters, lone surrogates), or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def storable(value: str) -> str:
    """``value`` as a database can store it: NUL characters dropped, lone surrogates as ``?``."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def line_problem(value: str) -> str | None:
    """Why ``value`` is no single line of text (a control character, or not storable), or None."""
    problem = storable_problem(value)
    if problem is None and _CONTROL.search(value):
        return "must not contain control characters (tabs, line breaks, escapes …)"
    return problem


def check_line(what: str, value: str, error: type[IroaError] = InvalidInputError) -> str:
    """``value`` if it is one line of storable text without control characters; else ``error``."""
    problem = line_problem(value)
    if problem is not None:
        raise error(f"{what} {problem}")
    return value


def check_storable(what: str, value: str, error: type[IroaError] = InvalidInputError) -> str:
    """``value`` if a database can store it (secrets may hold any other character)."""
    problem = storable_problem(value)
    if problem is not None:
        raise error(f"{what} {problem}")
    return value


def printable(value: str) -> str:
    """``value`` with every control character but tab and line breaks replaced by U+FFFD,
    so collected text can neither move a terminal's cursor nor break a workbook."""
    if _SHOWN_CONTROL.search(value) is None:
        return value
    return _SHOWN_CONTROL.sub(REPLACEMENT, value)
