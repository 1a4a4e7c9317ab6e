"""The web dashboard: server-rendered pages on the same core services as the API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from iroa.web import exports, findings, integrations, inventory, login, monitoring, overview, syncs
from iroa.web.render import message_page
from iroa.web.session import (
    CsrfRejectedError,
    FormTooLargeError,
    LoginRequiredError,
    PageForbiddenError,
)

STATIC_DIR = Path(__file__).with_name("static")
AREAS = (login, overview, inventory, integrations, syncs, exports, findings, monitoring)
"""The dashboard's modules, each with the ``router`` of its pages."""


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard at ``/`` and its assets at ``/static``."""
    for area in AREAS:
        app.include_router(area.router)
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

    async def too_large(request: Request, exc: Exception) -> Response:
        return message_page(request, "Form too large", f"{exc}.", 413)

    async def forbidden(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageForbiddenError)
        return message_page(request, "Not allowed", str(exc), 403, exc.user)

    app.add_exception_handler(LoginRequiredError, login_required)
    app.add_exception_handler(PageForbiddenError, forbidden)
    app.add_exception_handler(CsrfRejectedError, csrf_rejected)
    app.add_exception_handler(FormTooLargeError, too_large)
