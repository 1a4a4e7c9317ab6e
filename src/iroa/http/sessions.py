"""Dashboard sessions: the HttpOnly session cookie and the CSRF cookie that goes with it."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request, Response

from iroa.audit.service import Actor
from iroa.auth.models import User
from iroa.auth.tokens import SESSION_LIFETIME, create_token, csrf_token_for
from iroa.db.engine import Database
from iroa.http.deps import CSRF_COOKIE, SESSION_COOKIE, Clock, cookies_secure


def start_session(
    db: Database, user: User, clock: Clock, request: Request, response: Response
) -> tuple[str, datetime]:
    """Open a dashboard session for ``user``: set its cookies; return the CSRF token and expiry."""
    expires_at = clock() + SESSION_LIFETIME
    issued = create_token(
        db,
        Actor(user.id, user.username),
        user.id,
        "dashboard session",
        expires_at=expires_at,
        kind="session",
        clock=clock,
    )
    csrf = csrf_token_for(issued.secret)
    secure = cookies_secure(request)
    max_age = int(SESSION_LIFETIME.total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        issued.secret,
        max_age=max_age,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=max_age,
        httponly=False,
        secure=secure,
        samesite="strict",
        path="/",
    )
    return csrf, expires_at
