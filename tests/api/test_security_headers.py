"""Security headers on every answer: API, dashboard, static files and errors; HSTS only
over https; a policy that fits the dashboard, and one for the API's docs page alone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from iroa.config import Settings
from iroa.server import create_app
from tests.api.fixtures import Api
from tests.web.support import log_in

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "iroa" / "web" / "templates"
DASHBOARD_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: ; "
PATHS = [
    "/api/v1/health",
    "/api/v1/vms",  # 401 without a token
    "/api/v1/openapi.json",
    "/api/v1/nope",  # 404
    "/login",
    "/",  # a redirect to the login page
    "/static/iroa.css",
    "/static/sync.js",
]


def policy(header: str) -> dict[str, str]:
    return {
        part.split(" ", 1)[0]: part.partition(" ")[2]
        for part in (p.strip() for p in header.split(";"))
        if part
    }


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_carries_the_headers_and_no_hsts_over_http(api: Api, path: str) -> None:
    response = api.client.get(path, follow_redirects=False)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in response.headers
    csp = policy(response.headers["content-security-policy"])
    assert csp["default-src"] == "'self'" and csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"


def test_hsts_when_served_over_https(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://iroa.example.com") as client:
        for path in ("/api/v1/health", "/login", "/static/iroa.css"):
            response = client.get(path)
            assert response.headers["strict-transport-security"] == "max-age=31536000", path


def test_signed_in_pages_and_downloads_carry_the_dashboards_policy(api: Api) -> None:
    log_in(api.client, "admin")
    for path in ("/", "/vms", "/integrations", "/vms.csv", "/export.xlsx"):
        response = api.client.get(path)
        assert response.status_code == 200, path
        assert policy(response.headers["content-security-policy"])["script-src"] == "'self'"
        assert response.headers["x-frame-options"] == "DENY"


def test_the_api_docs_page_alone_may_load_swagger_ui_from_its_cdn(api: Api) -> None:
    response = api.client.get("/api/v1/docs")
    assert response.status_code == 200
    csp = policy(response.headers["content-security-policy"])
    for src in re.findall(r'(?:src|href)="(https://[^/"]+)', response.text):
        if src != "https://fastapi.tiangolo.com":
            assert src in csp["script-src"] and src in csp["style-src"]
    assert csp["frame-ancestors"] == "'none'"


def test_no_template_has_inline_script_or_style() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", text), template.name
