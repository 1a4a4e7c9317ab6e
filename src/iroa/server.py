"""The FastAPI application served by ``iroa serve``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from iroa import __version__
from iroa.api import (
    audit,
    auth,
    exports,
    findings,
    integrations,
    inventory,
    monitoring,
    syncs,
    users,
)
from iroa.api.errors import install_error_handlers
from iroa.api.metrics import install_metrics
from iroa.config import Settings, get_settings
from iroa.db.base import utcnow
from iroa.exports.scheduled import ExportSchedule
from iroa.http.deps import DB
from iroa.http.headers import SecurityHeaders
from iroa.http.limits import BodyLimitMiddleware
from iroa.runtime import open_runtime
from iroa.sync.background import ProgressBroker
from iroa.sync.runs import recover_stale_runs
from iroa.sync.scheduler import Scheduler
from iroa.sync.watchers import WatchSupervisor
from iroa.web import install_dashboard

PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/api/v1/health"),
        ("POST", "/api/v1/auth/token"),
        ("POST", "/api/v1/auth/session"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/docs"),
    }
)
"""(method, path) of the routes that answer without credentials (besides static assets
and, if configured, ``/metrics``)."""


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """The application; the database is migrated when it starts."""
    settings = settings or get_settings()

    broker = ProgressBroker()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = open_runtime(settings, broker=broker, clock=clock, with_queue=True)
        app.state.runtime = runtime
        recover_stale_runs(runtime.db)
        scheduler = None
        if settings.scheduler:
            scheduler = Scheduler(
                runtime.sync, runtime.broker, settings.scheduler_tick_s, queue=runtime.queue
            )
            scheduler.start()
        app.state.scheduler = scheduler
        watchers = None
        if settings.scheduler and settings.execution == "embedded":
            # In queue mode the workers watch.
            watchers = WatchSupervisor(runtime.sync)
            watchers.start()
        exports = None
        if settings.scheduler and settings.export_dir is not None:
            exports = ExportSchedule(
                runtime.db,
                settings.export_dir,
                settings.export_interval_s,
                settings.export_keep,
                settings.export_format,
            )
            exports.start()
        app.state.export_schedule = exports
        try:
            yield
        finally:
            if exports is not None:
                exports.stop()
            if scheduler is not None:
                scheduler.stop()
            if watchers is not None:
                watchers.stop()
            runtime.close()

    app = FastAPI(
        title="IROA",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    install_error_handlers(app)
    # Inside the latency middleware, so that refused bodies are timed and counted too.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    install_metrics(app, public=settings.metrics_public)
    # Routes are tried in order: the inventory, which most requests read, comes first
    # (no two routers share a path, so the order changes nothing else).
    for module in (
        inventory,
        auth,
        users,
        integrations,
        syncs,
        audit,
        findings,
        monitoring,
        exports,
    ):
        app.include_router(module.router)
    declare_body_limit(app)

    @app.get("/api/v1/health", tags=["health"])
    def health(db: DB) -> JSONResponse:
        """Liveness and database reachability."""
        try:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            return JSONResponse(
                {"status": "error", "database": type(exc).__name__}, status_code=503
            )
        return JSONResponse({"status": "ok", "version": __version__})

    install_dashboard(app)
    docs = {app.docs_url, app.swagger_ui_oauth2_redirect_url}
    app.add_middleware(SecurityHeaders, docs_paths=frozenset(p for p in docs if p))
    return app


def declare_body_limit(app: FastAPI) -> None:
    """Document the body limit's 413 on every operation that takes a body: the limit
    answers before any route runs, so no route declares it itself (FastAPI's way of
    extending the document: replacing ``app.openapi``)."""
    generate = app.openapi
    refused = {
        "description": "The request body is over IROA_MAX_BODY_BYTES",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for item in document["paths"].values():
                for operation in item.values():
                    if "requestBody" in operation:
                        operation["responses"].setdefault("413", refused)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
