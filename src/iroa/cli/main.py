"""The ``iroa`` command: every sub-command, and one place that turns errors into one line."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from iroa.auth.service import UserError
from iroa.cli import changes, export, integrations, inventory, sync, users, watch
from iroa.cli.context import CliContext, get_context
from iroa.cli.output import print_error
from iroa.config import ExecutionModeError, Settings
from iroa.db.schema import SchemaOutdatedError
from iroa.errors import IroaError
from iroa.malloc import limit_arenas

app = typer.Typer(
    name="iroa",
    help="IROA: one inventory of your vCenter and Hyper-V estate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(integrations.app, name="integration")
app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")
app.command("sync")(sync.sync_command)
app.command("watch")(watch.watch_command)
app.command("get")(inventory.get_command)
app.command("history")(inventory.history_command)
app.command("changes")(changes.changes_command)
app.command("events")(changes.events_command)
app.command("export")(export.export_command)

USER_ERRORS = (IroaError, OSError)
"""Failures reported as one line on stderr with exit code 1; anything else is a bug."""


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(help="Directory for the SQLite file and the secret key [env: IROA_DATA_DIR]"),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy database URL [env: IROA_DATABASE_URL]")
    ] = None,
    log_level: Annotated[str | None, typer.Option(help="Log level [env: IROA_LOG_LEVEL]")] = None,
) -> None:
    """Settings come from these flags or IROA_* environment variables."""
    overrides = {
        k: v
        for k, v in {
            "data_dir": data_dir,
            "database_url": database_url,
            "log_level": log_level,
        }.items()
        if v is not None
    }
    settings = Settings(**overrides)  # type: ignore[arg-type]
    level = logging.getLevelName(settings.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != logging.DEBUG:
        # Alembic narrates every schema check at INFO, httpx every request (Prometheus
        # connector): a command's output, and its one-line errors, are not the place.
        for noisy in ("alembic", "httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    context = CliContext(settings)
    ctx.obj = context
    ctx.call_on_close(context.close)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Migrate the database to this version's schema."""
    from iroa.db.engine import Database
    from iroa.db.migrate import current_revision, upgrade

    context = get_context(ctx)
    database = Database(context.settings.resolved_database_url)
    try:
        upgrade(database.engine)
        typer.echo(f"database is at revision {current_revision(database.engine)}")
    finally:
        database.dispose()


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Serve the API and dashboard. On first start, creates user admin and says how to log in."""
    import uvicorn

    from iroa.server import create_app

    context = get_context(ctx)
    context.settings.check_execution()
    ensure_first_admin(context.settings)
    uvicorn.run(
        create_app(context.settings),
        host=host,
        port=port,
        log_level=context.settings.log_level.lower(),
    )


@app.command("worker")
def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int,
        typer.Option(min=1, max=64, help="How many syncs this process runs at the same time"),
    ] = 2,
    name: Annotated[
        str | None, typer.Option(help="Name shown in the logs and the queue's worker table")
    ] = None,
) -> None:
    """Run queued syncs (IROA_EXECUTION=queue); needs PostgreSQL.

    Takes sync jobs from the queue in the PostgreSQL database (IROA_DATABASE_URL)
    and runs them, up to --concurrency at a time, until stopped with Ctrl-C or
    SIGTERM (the running syncs finish first). Start as many workers, on as many
    machines, as you need: jobs of one integration never overlap. The `iroa serve`
    processes set IROA_EXECUTION=queue so that they queue syncs (the scheduled
    ones, once per due time, and those started from the API and dashboard)
    instead of running them. All processes share IROA_SECRET_KEY.
    """
    from iroa.runtime import open_runtime
    from iroa.sync.queue import run_worker, worker_pool_size

    context = get_context(ctx)
    if not context.settings.is_postgresql:
        raise ExecutionModeError(
            "iroa worker needs PostgreSQL: set IROA_DATABASE_URL=postgresql://..."
        )
    context.db  # noqa: B018 - fails early, in one line, if the schema is not current
    runtime = open_runtime(context.settings, pool_size=worker_pool_size(concurrency), migrate=False)
    try:
        run_worker(runtime.sync, context.settings, concurrency, name)
    finally:
        runtime.close()


def ensure_first_admin(settings: Settings) -> None:
    """Create user admin if there are no users, and say once how to log in."""
    from iroa.auth.users import ensure_initial_admin
    from iroa.db.engine import Database
    from iroa.db.migrate import upgrade

    database = Database(settings.resolved_database_url)
    try:
        upgrade(database.engine)
        given = settings.admin_password.get_secret_value() if settings.admin_password else None
        try:
            created = ensure_initial_admin(database, given)
        except UserError as exc:
            raise UserError(f"IROA_ADMIN_PASSWORD: {exc}") from exc
    finally:
        database.dispose()
    if created is None:
        return
    username, generated = created
    if generated is None:
        typer.echo(f"created user {username!r} with the password from IROA_ADMIN_PASSWORD")
    else:
        typer.echo(
            f"created user {username!r} with password {generated} "
            "(shown once: change it, or set IROA_ADMIN_PASSWORD before the first start)"
        )


def main() -> None:
    """Entry point: run the command, and report expected failures as one line on stderr."""
    limit_arenas()  # before any thread allocates
    # What the imports built (SQLAlchemy's, pyVmomi's, the CLI's) lives as long as the
    # process: out of the cyclic collector's way, whose full passes a sync's allocations
    # set off over and over (they took ~0.8 s of a 10,000-VM `iroa sync`).
    gc.freeze()
    try:
        app()
    except USER_ERRORS as exc:
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        if isinstance(exc, OSError) and exc.filename:
            message = f"{exc.filename}: {message}"
        if isinstance(exc, SchemaOutdatedError):
            message += ": run `iroa db upgrade`"
        print_error(message)
        sys.exit(1)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        print(f"error: invalid setting {where}: {first.get('msg')}", file=sys.stderr)
        sys.exit(2)
