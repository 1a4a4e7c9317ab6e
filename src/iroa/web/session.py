"""Who is looking at a page: the dashboard session cookie, CSRF checks on forms, login redirects.

The session is the one ``POST /api/v1/auth/session`` opens (same cookie, same
token table); a form proves it comes from our page by carrying the session's
CSRF token in a hidden ``csrf_token`` field. The login form, before any
session exists, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request

from iroa.auth.service import Principal
from iroa.auth.tokens import authenticate_token, csrf_token_for, session_end_reason
from iroa.db.engine import Database
from iroa.http.deps import SESSION_COOKIE, Clock, get_db, session_idle_timeout
from iroa.vocabulary import Role

LOGIN_CSRF_COOKIE = "iroa_login_csrf"
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 100


class LoginRequiredError(Exception):
    """No live dashboard session: the page answers with a redirect to the login form.

    ``reason`` says why a session the browser still had is over (``idle``, ``expired``,
    ``ended``), for the login page to tell the user.
    """

    def __init__(self, next_url: str, reason: str | None = None) -> None:
        super().__init__("login required")
        self.next_url = next_url
        self.reason = reason


class CsrfRejectedError(Exception):
    """A form arrived without this session's CSRF token."""


class FormTooLargeError(Exception):
    """A form over :data:`MAX_FORM_BYTES` or :data:`MAX_FORM_FIELDS`: answered with 413."""


@dataclass(frozen=True, slots=True)
class WebUser:
    """The logged-in user of a page and the CSRF token its forms carry."""

    principal: Principal
    csrf_token: str
    session_secret: str

    @property
    def username(self) -> str:
        return self.principal.username

    @property
    def role(self) -> str:
        return self.principal.role

    def can(self, role: str) -> bool:
        return self.principal.has_role(role)


def page_user(request: Request, db: Annotated[Database, Depends(get_db)], clock: Clock) -> WebUser:
    """The user of a dashboard session; else a redirect to the login page."""
    secret = request.cookies.get(SESSION_COOKIE)
    idle = session_idle_timeout(request)
    principal = (
        authenticate_token(db, secret, clock, kind="session", idle_timeout=idle) if secret else None
    )
    if secret is None or principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        reason = session_end_reason(db, secret, clock, idle_timeout=idle) if secret else None
        raise LoginRequiredError(target, reason)
    return WebUser(principal, csrf_token_for(secret), secret)


PageUser = Annotated[WebUser, Depends(page_user)]


class PageForbiddenError(Exception):
    """The page needs a role the user does not have: answered with a "Not allowed" page."""

    def __init__(self, user: WebUser, role: Role) -> None:
        super().__init__(f"This needs the {role} role (you are {user.role}).")
        self.user = user


def _page_role(role: Role) -> Callable[[WebUser], WebUser]:
    def dependency(user: PageUser) -> WebUser:
        if not user.can(role):
            raise PageForbiddenError(user, role)
        return user

    dependency.__name__ = f"page_{role}"
    return dependency


PageOperator = Annotated[WebUser, Depends(_page_role(Role.OPERATOR))]
"""The user of a page that only operators and admins may use."""
PageAdmin = Annotated[WebUser, Depends(_page_role(Role.ADMIN))]
"""The user of a page that only admins may use."""


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body as a dict (the last value of a field wins).

    Read chunk by chunk and given up on as soon as it passes :data:`MAX_FORM_BYTES`:
    no dashboard form comes near, so a larger body is never held whole."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise FormTooLargeError(f"the form is larger than {MAX_FORM_BYTES // 1024} KiB")
        chunks.append(chunk)
    text = b"".join(chunks).decode("utf-8", "replace")
    try:
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as exc:
        raise FormTooLargeError(f"the form has more than {MAX_FORM_FIELDS} fields") from exc
    return dict(fields)


def check_csrf(form: dict[str, str], user: WebUser) -> None:
    """Refuse a form that does not carry the session's CSRF token."""
    if not hmac.compare_digest(form.get("csrf_token", ""), user.csrf_token):
        raise CsrfRejectedError("missing or wrong CSRF token")


async def posted_form(request: Request, user: PageUser) -> dict[str, str]:
    """The form a signed-in user posted, once it is known to carry their CSRF token.

    Declared after a handler's role dependency, it runs after it: a form is read
    only from a user allowed to send it."""
    form = await read_form(request)
    check_csrf(form, user)
    return form


PageForm = Annotated[dict[str, str], Depends(posted_form)]
"""The checked form of a dashboard ``POST``."""


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def check_login_csrf(request: Request, form: dict[str, str]) -> None:
    """The login form's token must match the cookie set with the form."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf_token", "")
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise CsrfRejectedError("missing or wrong CSRF token: reload the login page")


def safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
