"""Role by route matrix, generated from the application's routes so new routes are covered.

The routes come from the OpenAPI document, which lists every included router.

Anonymous callers get 401 on every route but the public ones; a role below what
a route needs gets 403; a role that may call it gets neither.
"""

from __future__ import annotations

import re

from iroa.config import Settings
from iroa.server import PUBLIC_ROUTES, create_app
from tests.api.fixtures import ROLES, Api

ADMIN_ONLY_PREFIXES = ("/api/v1/users", "/api/v1/audit")
OPERATOR_ACTIONS = {
    ("POST", "/api/v1/integrations/{integration_id}/test"),
    ("POST", "/api/v1/integrations/{integration_id}/sync"),
}
OPERATOR_READS = {("GET", "/api/v1/export.xlsx"), ("GET", "/api/v1/export/{type}.csv")}
SELF_SERVICE = {
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
    ("DELETE", "/api/v1/auth/session"),
}
MISSING_ID = "987654"


def required_role(method: str, path: str) -> str | None:
    """The least role a route needs by the role rules of docs/api.md; None for public routes."""
    if (method, path) in PUBLIC_ROUTES:
        return None
    if path.startswith(ADMIN_ONLY_PREFIXES):
        return "admin"
    if (method, path) in OPERATOR_READS:
        return "operator"
    if method in ("GET", "HEAD"):
        return "viewer"
    if (method, path) in OPERATOR_ACTIONS:
        return "operator"
    if (method, path) in SELF_SERVICE:
        return "viewer"
    return "admin"


def all_routes() -> list[tuple[str, str]]:
    """Every operation the application serves, as its OpenAPI document lists them."""
    paths = create_app(Settings()).openapi()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


def call(api: Api, method: str, path: str, role: str | None) -> int:
    url = re.sub(r"\{[^}]+\}", MISSING_ID, path)
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return api.client.request(method, url, json=body, headers=api.headers(role)).status_code


def test_every_route_is_guarded_by_role(api: Api) -> None:
    routes = all_routes()
    assert len(routes) >= 20
    wrong = []
    for method, path in routes:
        needed = required_role(method, path)
        if needed is None:
            continue
        status = call(api, method, path, None)
        if status != 401:
            wrong.append(f"{method} {path} anonymous: {status}, expected 401")
        for role in ROLES:
            status = call(api, method, path, role)
            allowed = ROLES.index(role) >= ROLES.index(needed)
            if not allowed and status != 403:
                wrong.append(f"{method} {path} as {role}: {status}, expected 403")
            if allowed and status in (401, 403):
                wrong.append(f"{method} {path} as {role}: {status}, expected access")
            if status >= 500:
                wrong.append(f"{method} {path} as {role}: server error {status}")
    assert wrong == []


def test_public_routes_answer_without_credentials(api: Api) -> None:
    assert api.client.get("/api/v1/health").status_code == 200
    assert api.client.get("/api/v1/openapi.json").status_code == 200
    bad_login = {"username": "nobody", "password": "wrong password"}
    assert api.client.post("/api/v1/auth/token", json=bad_login).status_code == 401


def test_invalid_and_revoked_tokens_get_401(api: Api) -> None:
    for token in ("iroa_not-a-real-token", "garbage", api.tokens["admin"] + "x"):
        response = api.client.get(
            "/api/v1/integrations", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401
        assert response.json()["detail"]
