"""Alembic environment: the engine comes from the caller (iroa.db.migrate) or IROA settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from iroa.db.migrate import include_name
from iroa.models import Base

config = context.config
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    from iroa.config import get_settings
    from iroa.db.engine import create_db_engine

    return create_db_engine(get_settings().resolved_database_url)


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run `iroa db upgrade`")
run_migrations_online()
