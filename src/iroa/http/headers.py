"""Security headers on every answer: the API's, the dashboard's and its static files.

The dashboard needs nothing from elsewhere and nothing inline (its one script and
its stylesheet are files under ``/static``; bars are SVG, not inline styles), so
its policy allows only this origin. The API's documentation page is FastAPI's
Swagger UI, which loads its script and stylesheet from a CDN and starts with an
inline script: that path alone gets a policy that allows them (it shows no text
anyone sent, so inline script there runs only FastAPI's own).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DASHBOARD_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (
    f"default-src 'self'; script-src 'self' {DOCS_CDN} 'unsafe-inline'; "
    f"style-src 'self' {DOCS_CDN} 'unsafe-inline'; "
    "img-src 'self' data: https://fastapi.tiangolo.com; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HSTS = "max-age=31536000"
"""A year; without ``includeSubDomains``, which is not IROA's to promise for its domain."""

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """ASGI middleware adding the headers to each HTTP answer, streamed ones included;
    a header a route set itself is left as it is."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str]) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] in self.docs_paths else DASHBOARD_POLICY
        extra = [*_COMMON, (b"content-security-policy", policy.encode())]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
