"""FastAPI dependencies: the database, the clock, and who is asking with which role.

Handlers declare what they need, e.g. ``user: Principal = Depends(require_operator)``.
Credentials are a Bearer token (``Authorization: Bearer iroa_…``) or the
dashboard's session cookie; a cookie-authenticated request that changes
something must also carry the session's CSRF token in ``X-CSRF-Token``.

Dependencies that do no I/O are coroutines: FastAPI runs a plain ``def`` one in
its thread pool, a hop that costs more than they do. :func:`current_user` reads
the database, so it is a plain ``def``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from iroa.auth.service import Principal
from iroa.auth.tokens import authenticate_token, csrf_token_for
from iroa.config import Settings
from iroa.db.engine import Database
from iroa.runtime import Runtime

SESSION_COOKIE = "iroa_session"
CSRF_COOKIE = "iroa_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer_scheme = HTTPBearer(auto_error=False, description="An API token: `Bearer iroa_…`")


def runtime_of(request: Request) -> Runtime:
    """What this process runs with (:mod:`iroa.runtime`), opened when the app started."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> Runtime:
    """:func:`runtime_of` as a dependency."""
    return runtime_of(request)


async def get_db(request: Request) -> Database:
    """The application's database."""
    return (await get_runtime(request)).db


async def get_settings(request: Request) -> Settings:
    """The settings this process started with."""
    return runtime_of(request).settings


async def get_clock(request: Request) -> Callable[[], datetime]:
    """The clock used for expiry and throttling (replaceable in tests)."""
    return runtime_of(request).clock


def session_idle_timeout(request: Request) -> timedelta:
    """How long a dashboard session may go unused (``IROA_SESSION_IDLE_MINUTES``)."""
    return timedelta(minutes=runtime_of(request).settings.session_idle_minutes)


def cookies_secure(request: Request) -> bool:
    """Whether the dashboard's cookies get the ``Secure`` flag (``IROA_SESSION_COOKIE_SECURE``;
    unset: when the request came over https)."""
    setting = runtime_of(request).settings.session_cookie_secure
    return request.url.scheme == "https" if setting is None else setting


def client_address(request: Request) -> str:
    """The address a request comes from, as the server saw it: behind a reverse proxy,
    the one uvicorn took from ``X-Forwarded-For`` if the proxy is trusted
    (``FORWARDED_ALLOW_IPS``), else the proxy's."""
    return request.client.host if request.client is not None else ""


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


def current_user(
    request: Request,
    db: Annotated[Database, Depends(get_db)],
    clock: Annotated[Callable[[], datetime], Depends(get_clock)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The authenticated user, from a Bearer token or the session cookie; else 401.

    The token's row is read on every request, so a token ended anywhere (revoked,
    logged out, its user disabled, in this process or another) is refused at once.
    """
    if credentials is not None:
        principal = authenticate_token(db, credentials.credentials, clock)
        if principal is None:
            raise _unauthorized("the token is invalid, expired or revoked")
        return principal
    session_secret = request.cookies.get(SESSION_COOKIE)
    if session_secret is None:
        raise _unauthorized("authentication required: send an Authorization: Bearer token")
    principal = authenticate_token(
        db, session_secret, clock, kind="session", idle_timeout=session_idle_timeout(request)
    )
    if principal is None:
        raise _unauthorized("the session has expired: log in again")
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, csrf_token_for(session_secret)):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    return principal


def _require(role: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def dependency(user: Annotated[Principal, Depends(current_user)]) -> Principal:
        if not user.has_role(role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"this needs the {role} role (you are {user.role})"
            )
        return user

    dependency.__name__ = f"require_{role}"
    return dependency


require_viewer = _require("viewer")
require_operator = _require("operator")
require_admin = _require("admin")

CurrentUser = Annotated[Principal, Depends(current_user)]
Viewer = Annotated[Principal, Depends(require_viewer)]
Operator = Annotated[Principal, Depends(require_operator)]
Admin = Annotated[Principal, Depends(require_admin)]
DB = Annotated[Database, Depends(get_db)]
AppRuntime = Annotated[Runtime, Depends(get_runtime)]
AppSettings = Annotated[Settings, Depends(get_settings)]
Clock = Annotated[Callable[[], datetime], Depends(get_clock)]
