"""The FastAPI application served by ``iroa serve``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from iroa import __version__
from iroa.config import Settings, get_settings
from iroa.db.engine import Database
from iroa.db.migrate import upgrade


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application; the database is migrated when it starts."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.resolved_database_url)
        upgrade(db.engine)
        app.state.db = db
        try:
            yield
        finally:
            db.dispose()

    app = FastAPI(
        title="IROA",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )

    @app.get("/api/v1/health", tags=["health"])
    def health() -> JSONResponse:
        """Liveness and database reachability."""
        db: Database = app.state.db
        try:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:
            return JSONResponse(
                {"status": "error", "database": type(exc).__name__}, status_code=503
            )
        return JSONResponse({"status": "ok", "version": __version__})

    return app
