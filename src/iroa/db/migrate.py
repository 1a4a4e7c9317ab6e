"""Run the Alembic migrations shipped in this package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs against ``engine``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (the latest by default)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Whether autogenerate compares this object: not the VM search indexes.

    They exist only in migrations: on SQLite ``vm_search`` (FTS5) and its shadow
    tables (0004), on PostgreSQL the ``ix_vms_search_*`` trigram index (0014). Nor the partial
    index ``ix_vms_present`` (migration 0010, PostgreSQL only), nor the tables of
    the job queue (migration 0007, PostgreSQL only), which belong to Procrastinate.
    """
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(("vm_search", "procrastinate_"))
    if type_ == "index":
        return not name.startswith("ix_vms_search_") and name != "ix_vms_present"
    return True
