"""Logging in: API tokens for scripts, a session cookie with CSRF token for the dashboard."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from iroa.api.schemas import LoginIn, Me, Problem, SessionOut, TokenCreated
from iroa.audit.service import Actor
from iroa.auth.service import authenticate_password
from iroa.auth.tokens import create_token, end_session
from iroa.http.deps import (
    CSRF_COOKIE,
    DB,
    SESSION_COOKIE,
    Clock,
    CurrentUser,
    client_address,
)
from iroa.http.sessions import start_session

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
LOGIN_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": Problem, "description": "Wrong username or password"},
    429: {
        "model": Problem,
        "description": "Too many failed logins for this account (from this address)",
    },
}


@router.post(
    "/token",
    response_model=TokenCreated,
    status_code=status.HTTP_201_CREATED,
    responses=LOGIN_ERRORS,
)
def issue_token(body: LoginIn, db: DB, clock: Clock, request: Request) -> TokenCreated:
    """Exchange a username and password for an API token (shown once)."""
    user = authenticate_password(
        db, body.username, body.password, clock, client=client_address(request)
    )
    expires_at = clock() + timedelta(seconds=body.expires_in_s) if body.expires_in_s else None
    issued = create_token(
        db,
        Actor(user.id, user.username),
        user.id,
        body.token_name,
        expires_at=expires_at,
        clock=clock,
    )
    return TokenCreated.model_validate(
        {
            "token": issued.secret,
            "id": issued.token.id,
            "name": issued.token.name,
            "username": user.username,
            "role": user.role,
            "expires_at": expires_at,
        }
    )


@router.post("/session", response_model=SessionOut, responses=LOGIN_ERRORS)
def open_session(
    body: LoginIn, db: DB, clock: Clock, request: Request, response: Response
) -> SessionOut:
    """Log in for the dashboard: sets an HttpOnly session cookie and returns the CSRF token."""
    user = authenticate_password(
        db, body.username, body.password, clock, client=client_address(request)
    )
    csrf, expires_at = start_session(db, user, clock, request, response)
    return SessionOut.model_validate(
        {"username": user.username, "role": user.role, "csrf_token": csrf, "expires_at": expires_at}
    )


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
def close_session(user: CurrentUser, db: DB, request: Request, response: Response) -> None:
    """Log out of the dashboard."""
    secret = request.cookies.get(SESSION_COOKIE)
    if secret is not None and user.token_kind == "session":
        end_session(db, secret)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.get("/me", response_model=Me)
def who_am_i(user: CurrentUser) -> Me:
    """The authenticated user and role."""
    return Me.model_validate(
        {"id": user.user_id, "username": user.username, "role": user.role, "via": user.token_kind}
    )
