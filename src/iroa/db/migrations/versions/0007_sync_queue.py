"""The sync job queue for `iroa worker` (PostgreSQL only): Procrastinate's schema.

Applies ``procrastinate/schema-3.10.0.sql`` — the schema of the Procrastinate
version pinned in pyproject.toml, copied from that release (MIT licence) so this
migration always creates the same objects. Moving to a newer Procrastinate takes
a new IROA migration that runs its ``sql/migrations`` files since 3.10.0.
On SQLite (no queue there) this migration does nothing.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence
from pathlib import Path

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA_FILE = Path(__file__).parent.parent / "procrastinate" / "schema-3.10.0.sql"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # The raw psycopg connection (same transaction): no parameters, so `%` stays literal.
    driver = bind.connection.driver_connection
    assert driver is not None
    driver.execute(SCHEMA_FILE.read_text(encoding="utf-8"))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(
        """
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p
                     JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
            LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || r.sig || ' CASCADE';
            END LOOP;
        END $$;
        """
    )
    op.execute(
        "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
        "procrastinate_jobs, procrastinate_workers CASCADE"
    )
    op.execute(
        "DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type, "
        "procrastinate_job_status CASCADE"
    )
