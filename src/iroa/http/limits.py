"""A cap on request bodies, enforced before anything reads or parses them.

The cap is checked against ``Content-Length`` before the first byte is read,
and counted over the bytes as they arrive (a chunked body has no length), so
an oversized body is never buffered whole. Beyond it the answer is 413: the
API's JSON error for ``/api`` and ``/metrics``, a plain page elsewhere.
"""

from __future__ import annotations

import html

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def body_too_large_text(max_bytes: int) -> str:
    return f"the request body is larger than the limit of {max_bytes} bytes (IROA_MAX_BODY_BYTES)"


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Answer 413 to a request whose body is, or turns out to be, over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse(scope, send)
                    # To the application the client has gone: it stops reading, and
                    # whatever it answers to that is dropped below.
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        text = body_too_large_text(self.max_bytes)
        path: str = scope.get("path", "")
        if path.startswith("/api/") or path == "/metrics":
            body = orjson.dumps({"detail": text})
            media_type = b"application/json"
        else:
            body = (
                "<!doctype html><html lang=en><head><meta charset=utf-8>"
                "<title>Request too large</title></head><body><h1>Request too large</h1>"
                f"<p>{html.escape(text[0].upper() + text[1:])}.</p>"
                '<p><a href="/">Back to the overview</a></p></body></html>'
            ).encode()
            media_type = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", media_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
