"""A server that answers every request with an error repeating the credentials it was sent.

It stands for a monitoring server that is misconfigured or hostile: whatever it
says about the credentials must not reach a message, a log line or a stored
error. It speaks just enough of each API for the connectors to get to that
error: Prometheus's ``{"status": "error"}`` and Zabbix's JSON-RPC error (after
answering ``apiinfo.version``).
"""

from __future__ import annotations

import base64
import json
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.peers.loopback import loopback_server


def _credentials(authorization: str, body: dict[str, Any]) -> str:
    """What the request carried as credentials, in clear."""
    scheme, _, value = authorization.partition(" ")
    if scheme == "Basic":
        return base64.b64decode(value).decode()
    params = body.get("params") if isinstance(body.get("params"), dict) else {}
    return " ".join(
        str(v)
        for v in (value, body.get("auth"), params.get("username"), params.get("password"))
        if v
    )


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        told = _credentials(self.headers.get("Authorization", ""), {})
        self._answer({"status": "error", "errorType": "bad_data", "error": f"who is {told}?"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or "{}")
        if body.get("method") == "apiinfo.version":
            self._answer({"jsonrpc": "2.0", "result": "7.0.0", "id": body.get("id")})
            return
        told = _credentials(self.headers.get("Authorization", ""), body)
        error = {"code": -32602, "message": "Invalid params.", "data": f"Not authorized: {told}"}
        self._answer({"jsonrpc": "2.0", "error": error, "id": body.get("id")})

    def _answer(self, document: dict[str, Any]) -> None:
        data = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def echoing_server() -> AbstractContextManager[str]:
    """Start the server on a free local port; yield its ``http://127.0.0.1:port`` URL."""
    return loopback_server(_Handler)
