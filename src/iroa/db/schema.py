"""Make sure a database has the schema this version expects before using it.

Every CLI command checks this first, so it reads the revisions without Alembic
(about 11 MB of memory in each process): the database's from Alembic's version
table, this version's from the newest migration's file name (``NNNN_*.py``, whose
revision is ``NNNN``; a test holds the two equal to what Alembic computes).
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import inspect, text

from iroa.db.engine import Database
from iroa.errors import UnavailableError

_VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")


class SchemaOutdatedError(UnavailableError):
    """The database was created by another version of IROA."""


def head_revision() -> str:
    """The revision this version of IROA needs: its newest migration's."""
    return max(
        match.group(1)
        for path in _VERSIONS.iterdir()
        if (match := _REVISION_FILE.match(path.name)) is not None
    )


def stored_revision(db: Database) -> str | None:
    """The revision the database is at, None if it has no schema yet."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(db: Database) -> None:
    """Create the schema in an empty database; refuse one that is behind or ahead."""
    current = stored_revision(db)
    head = head_revision()
    if current == head:
        return
    if current is None:
        from iroa.db.migrate import upgrade

        upgrade(db.engine)
        return
    raise SchemaOutdatedError(
        f"the database schema is at revision {current}, this version of IROA needs {head}"
    )
