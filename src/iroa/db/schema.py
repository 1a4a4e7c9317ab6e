"""Make sure a database has the schema this version expects before using it."""

from __future__ import annotations

from iroa.db.engine import Database
from iroa.db.migrate import current_revision, head_revision, upgrade
from iroa.errors import UnavailableError


class SchemaOutdatedError(UnavailableError):
    """The database was created by another version of IROA."""


def ensure_schema(db: Database) -> None:
    """Create the schema in an empty database; refuse one that is behind or ahead."""
    current = current_revision(db.engine)
    head = head_revision(db.engine)
    if current == head:
        return
    if current is None:
        upgrade(db.engine)
        return
    raise SchemaOutdatedError(
        f"the database schema is at revision {current}, this version of IROA needs {head}"
    )
