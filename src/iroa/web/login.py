"""Dashboard login and logout."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from iroa.auth.service import AuthError, LoginThrottledError, authenticate_password
from iroa.auth.tokens import SESSION_LIFETIME, authenticate_token, end_session
from iroa.db.engine import Database
from iroa.http.deps import (
    CSRF_COOKIE,
    DB,
    SESSION_COOKIE,
    Clock,
    client_address,
    cookies_secure,
    runtime_of,
    session_idle_timeout,
)
from iroa.http.sessions import start_session
from iroa.text import storable_problem
from iroa.web.render import render
from iroa.web.session import (
    LOGIN_CSRF_COOKIE,
    PageForm,
    PageUser,
    check_login_csrf,
    new_login_csrf,
    read_form,
    safe_next,
)

router = APIRouter(include_in_schema=False)


def _session_ended_text(reason: str | None, request: Request) -> str | None:
    """What the login page says about a session that is over (only known reasons, no echo)."""
    if reason == "idle":
        minutes = runtime_of(request).settings.session_idle_minutes
        return (
            f"Your session ended after {minutes} minutes without activity. "
            "Log in again to continue where you were."
        )
    if reason == "expired":
        hours = int(SESSION_LIFETIME.total_seconds() // 3600)
        return f"Your session ended after its limit of {hours} hours. Log in again to continue."
    if reason == "ended":
        return "Your session was ended (logged out elsewhere or by an admin). Log in again."
    return None


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, db: DB, clock: Clock, next: str | None = None, reason: str | None = None
) -> Response:
    """The login form; a logged-in user goes straight on."""
    secret = request.cookies.get(SESSION_COOKIE)
    idle = session_idle_timeout(request)
    if secret and authenticate_token(db, secret, clock, kind="session", idle_timeout=idle):
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next, None, 200, _session_ended_text(reason, request))


def _login_page(
    request: Request, next: str | None, error: str | None, status: int, info: str | None = None
) -> Response:
    token = new_login_csrf()
    response = render(
        request,
        "login.html",
        {"csrf_token": token, "next": safe_next(next), "error": error, "info": info, "user": None},
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        secure=cookies_secure(request),
        samesite="strict",
        path="/login",
    )
    return response


@router.post("/login")
async def login(request: Request, db: DB, clock: Clock) -> Response:
    """Check the password, open a dashboard session, go to where the user was headed."""
    form = await read_form(request)
    check_login_csrf(request, form)
    for field in ("username", "password"):
        if (problem := storable_problem(form.get(field, ""))) is not None:
            return _login_page(request, form.get("next"), f"The {field} {problem}.", 422)
    return await run_in_threadpool(_log_in, request, db, clock, form)


def _log_in(
    request: Request, db: Database, clock: Callable[[], datetime], form: dict[str, str]
) -> Response:
    target = safe_next(form.get("next"))
    try:
        user = authenticate_password(
            db,
            form.get("username", ""),
            form.get("password", ""),
            clock,
            client=client_address(request),
        )
    except LoginThrottledError as exc:
        return _login_page(request, target, str(exc), 429)
    except AuthError as exc:
        return _login_page(request, target, str(exc), 401)
    response = RedirectResponse(target, status_code=303)
    start_session(db, user, clock, request, response)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(user: PageUser, db: DB, _: PageForm) -> Response:
    """End the session and forget its cookies."""
    end_session(db, user.session_secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
