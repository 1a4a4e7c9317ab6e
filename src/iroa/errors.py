"""The errors the core raises for people to read, grouped by what went wrong.

Every error meant for a user derives from :class:`IroaError`; its message is one
line that stands on its own in any front end (no CLI flags, no HTTP codes). Each
front end maps the groups below once: the API to an HTTP status, the CLI to an
exit code, the dashboard to a page message.
"""

from __future__ import annotations

from collections.abc import Iterable


class IroaError(Exception):
    """Something a user asked for could not be done; ``str(error)`` says why."""


class InvalidInputError(IroaError, ValueError):
    """What was sent is malformed or out of range (HTTP 422)."""


class NotFoundError(IroaError):
    """The named object does not exist (HTTP 404)."""


class ConflictError(IroaError):
    """The request clashes with the current state, e.g. a name taken or a run going (HTTP 409)."""


class UnauthenticatedError(IroaError):
    """Credentials are missing, wrong or expired (HTTP 401)."""


class UnavailableError(IroaError):
    """Something IROA depends on is busy or out of reach right now (HTTP 503)."""


def check_choice(
    what: str, value: object, choices: Iterable[str], error: type[IroaError] = InvalidInputError
) -> None:
    """Raise ``error`` unless ``value`` is one of ``choices``, in the words every front end
    shows: ``unknown role 'x': choose one of viewer, operator, admin``."""
    allowed = tuple(choices)
    if value not in allowed:
        raise error(f"unknown {what} {value!r}: choose one of {', '.join(allowed)}")
