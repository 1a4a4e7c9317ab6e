"""Request bodies are capped before they are read whole: 413 for the API and the dashboard.

The app is driven over ASGI directly where the test must see how much of a body
was read: the receive channel counts the bytes the server pulled.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from starlette.types import ASGIApp, Message

from iroa.config import Settings
from iroa.web.session import MAX_FORM_BYTES
from tests.api.fixtures import PASSWORD, Api, start_api

MIB = 1024 * 1024
LIMIT = 2 * MIB


@pytest.fixture
def small_api(tmp_path: Path) -> Iterator[Api]:
    """On SQLite: the cap does not depend on the database."""
    settings = Settings(data_dir=tmp_path / "data", max_body_bytes=LIMIT)
    with contextmanager(start_api)(settings) as api:
        yield api


@dataclass
class Exchange:
    """What the app answered, and how many body bytes it pulled from the client."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    bytes_read: int = 0


def exchange(
    app: ASGIApp,
    path: str,
    chunks: Iterator[bytes],
    content_type: str,
    content_length: int | None = None,
) -> Exchange:
    """POST ``chunks`` to ``path`` (chunked unless ``content_length`` is given)."""
    result = Exchange()
    headers = [(b"host", b"testserver"), (b"content-type", content_type.encode())]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("192.0.2.10", 50000),
        "server": ("testserver", 80),
    }
    pending = iter(chunks)
    upcoming = next(pending, None)

    async def receive() -> Message:
        nonlocal upcoming
        if upcoming is None:
            return {"type": "http.disconnect"}
        chunk, upcoming = upcoming, next(pending, None)
        result.bytes_read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": upcoming is not None}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            result.status = message["status"]
            result.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")

    async def call() -> None:
        await app(scope, receive, send)

    anyio.run(call)
    return result


def thirty_mib_of_json() -> Iterator[bytes]:
    yield b'{"username": "viewer-user", "password": "'
    for _ in range(30):
        yield b"x" * MIB
    yield b'"}'


def test_a_30_mib_login_with_its_length_is_refused_unread(small_api: Api) -> None:
    size = 30 * MIB + 45
    answer = exchange(
        small_api.app, "/api/v1/auth/token", thirty_mib_of_json(), "application/json", size
    )
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/json"
    assert json.loads(answer.body) == {
        "detail": f"the request body is larger than the limit of {LIMIT} bytes "
        "(IROA_MAX_BODY_BYTES)"
    }
    assert answer.bytes_read == 0


def test_a_30_mib_chunked_login_is_refused_once_past_the_cap(small_api: Api) -> None:
    answer = exchange(small_api.app, "/api/v1/auth/token", thirty_mib_of_json(), "application/json")
    assert answer.status == 413
    assert "IROA_MAX_BODY_BYTES" in json.loads(answer.body)["detail"]
    assert answer.bytes_read <= LIMIT + MIB


def test_a_body_within_the_cap_is_served(small_api: Api) -> None:
    body = json.dumps({"username": "viewer-user", "password": PASSWORD}).encode()
    answer = exchange(small_api.app, "/api/v1/auth/token", iter([body]), "application/json")
    assert answer.status == 201
    response = small_api.client.post(
        "/api/v1/auth/token",
        content=body + b" " * (LIMIT - len(body)),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 201


def test_an_oversized_dashboard_post_gets_a_page(small_api: Api) -> None:
    response = small_api.client.post(
        "/login",
        content=b"username=a&password=" + b"x" * (LIMIT + 1),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "Request too large" in response.text


def test_a_dashboard_form_is_read_only_up_to_its_cap(small_api: Api) -> None:
    """A form far below the body cap but over the form cap: reading stops at the form cap."""
    chunk = b"a" * 16 * 1024
    chunks = iter([b"password=", *[chunk] * 64])  # 1 MiB
    answer = exchange(small_api.app, "/login", chunks, "application/x-www-form-urlencoded")
    assert answer.status == 413
    assert b"Form too large" in answer.body
    assert answer.bytes_read <= MAX_FORM_BYTES + len(chunk)


def test_a_form_with_too_many_fields_is_refused(small_api: Api) -> None:
    response = small_api.client.post(
        "/login",
        content="&".join(f"f{n}=" for n in range(1000)),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert "fields" in response.text


def test_every_operation_with_a_body_documents_the_limit(small_api: Api) -> None:
    document = small_api.client.get("/api/v1/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    with_body = [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]
    assert with_body
    for method, path, operation in with_body:
        refused = operation["responses"].get("413")
        assert refused is not None, f"{method.upper()} {path} does not document its 413"
        schema = refused["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}
    bodiless = [op for item in document["paths"].values() for op in item.values()]
    assert any("requestBody" not in op and "413" not in op["responses"] for op in bodiless)
