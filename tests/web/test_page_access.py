"""Every dashboard route, found in the app itself: anonymous users go to the login page, and a
user whose role is too low gets "Not allowed", for pages and for forms alike.

A new page is covered without writing a test; give it its role dependency
(``PageUser``, ``PageOperator`` or ``PageAdmin``) and, if it is not for viewers,
a rule in :func:`least_role`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from iroa.vocabulary import Role
from iroa.web import AREAS
from tests.web.support import Web, log_in, start

PUBLIC = frozenset({("GET", "/login"), ("POST", "/login")})
PARAMETER = re.compile(r"\{(\w+)\}")
SAMPLE = {"object_id": "1", "integration_id": "1", "run_id": "1", "name": "vms"}


def least_role(method: str, path: str) -> Role:
    """The dashboard's rules: viewers read; operators test, sync and download exports;
    admins add, edit, enable and force."""
    if method == "POST":
        if path == "/logout":
            return Role.VIEWER
        if path.endswith(("/test", "/sync")):
            return Role.OPERATOR
        return Role.ADMIN
    if path.endswith(("/edit", "/force")):
        return Role.ADMIN
    if path.startswith("/export"):
        return Role.OPERATOR
    return Role.VIEWER


def dashboard_routes() -> list[tuple[str, str]]:
    """Every page and form of every dashboard module, as ``install_dashboard`` serves them."""
    routes = [
        (method, route.path)
        for area in AREAS
        for route in area.router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
        if method != "HEAD"
    ]
    return sorted(set(routes) - PUBLIC)


def concrete(path: str) -> str:
    return PARAMETER.sub(lambda m: SAMPLE[m.group(1)], path)


@pytest.fixture
def web(db_url: str, tmp_path: Path) -> Iterator[Web]:
    yield from start(db_url, tmp_path, estate=False)


def test_every_dashboard_route_is_found(web: Web) -> None:
    routes = dashboard_routes()
    assert ("GET", "/") in routes
    assert ("GET", "/vms/{object_id}") in routes
    assert ("POST", "/integrations/{integration_id}/sync") in routes
    assert len(routes) >= 30, routes


def test_anonymous_users_are_sent_to_the_login_page(web: Web) -> None:
    for method, path in dashboard_routes():
        response = web.client.request(method, concrete(path))
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/login?next="), (method, path)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_a_role_too_low_is_refused_on_pages_and_forms(web: Web, role: Role) -> None:
    csrf = log_in(web.client, role)
    refused = [
        (method, path)
        for method, path in dashboard_routes()
        if not role.includes(least_role(method, path))
    ]
    assert refused
    for method, path in refused:
        # A valid CSRF token: only the role can be what refuses the form.
        data = {"csrf_token": csrf} if method == "POST" else None
        response = web.client.request(method, concrete(path), data=data)
        assert response.status_code == 403, (role, method, path, response.status_code)
        assert "Not allowed" in response.text, (method, path)
        assert f"This needs the {least_role(method, path)} role" in response.text


def test_a_page_is_shown_to_the_least_role_it_needs(web: Web) -> None:
    for role in Role:
        web.client.cookies.clear()
        log_in(web.client, role)
        for method, path in dashboard_routes():
            if method == "GET" and least_role(method, path) == role:
                response = web.client.get(concrete(path))
                assert response.status_code != 403, (role, path, response.text[:200])
