"""The web dashboard: server-rendered pages on the same core services as the API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from iroa.web.findings import router as findings_router
from iroa.web.monitoring import router as monitoring_router
from iroa.web.render import message_page
from iroa.web.routes import router
from iroa.web.session import CsrfRejectedError, LoginRequiredError

STATIC_DIR = Path(__file__).with_name("static")


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its assets at ``/static``."""
    app.include_router(router)
    app.include_router(findings_router)
    app.include_router(monitoring_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    async def login_required(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequiredError)
        reason = f"&reason={exc.reason}" if exc.reason else ""
        return RedirectResponse(
            f"/login?next={quote(exc.next_url, safe='/')}{reason}", status_code=303
        )

    async def csrf_rejected(request: Request, exc: Exception) -> Response:
        return message_page(
            request,
            "Form rejected",
            f"{exc} — go back, reload the page and try again.",
            403,
        )

    app.add_exception_handler(LoginRequiredError, login_required)
    app.add_exception_handler(CsrfRejectedError, csrf_rejected)
