"""Benchmark: the VM list API at 100,000 VMs, beside the raw SQL of the same queries.

For each backend (a SQLite file, and a PostgreSQL database it creates and drops):

1. syncs a generated estate of ``--vms`` VMs (hosts, clusters, datastores,
   networks, one disk and NIC per VM) through the sync engine, as a connector's
   snapshot would be, and creates a viewer with an API token;
2. sends each case to the ASGI app in process and reads the whole answer, so
   routing, query validation, the Bearer token check, the handler, its
   statements and the JSON rendering are all timed: first page, a page deep into
   the cursor (past half the VMs), a ``q=`` search, a ``power_state`` filter, and
   ``sort=-name``. That is the server's time from a request's arrival to its last
   byte; an HTTP client adds its own (the per-request floor line shows how much
   httpx's in-process transport adds);
3. runs the very SELECTs each request sent (captured from the engine: the token
   check and the page) on a raw DBAPI connection, fetching all rows, to show
   what the API adds to its SQL.

Prints p50 and p95 of each and checks the targets, which are absolute: API p95
<= 20 ms on SQLite and <= 50 ms on PostgreSQL. Each case takes 300 samples of each side: a p95 of
100 would rest on the five slowest, which on a shared machine is mostly luck.
Usage: ``python benchmarks/api_lists.py [--vms 100000] [--requests 300]
[--backends sqlite,postgresql] [--postgres-url URL]``. Exits non-zero if a
target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from estate import SnapshotConnector, generate_estate, postgres_database
from fastapi import FastAPI
from sqlalchemy import event

from iroa.audit.service import CLI_ACTOR
from iroa.auth.tokens import create_token
from iroa.auth.users import create_user
from iroa.config import Settings
from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.server import create_app
from iroa.sync.engine import run_sync

P95_TARGET_MS = {"sqlite": 20.0, "postgresql": 50.0}


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


async def timed_async(fn: Callable[[], Awaitable[Any]], requests: int) -> tuple[float, float]:
    """:func:`timed` for a coroutine function."""
    for _ in range(3):
        await fn()
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    return percentile(samples, 50), percentile(samples, 95)


async def side_by_side(
    api: Callable[[], Awaitable[Any]], raw: Callable[[], Any], requests: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """p50 and p95 in milliseconds of ``api`` and of ``raw``, their calls taken in turns.

    Alternating keeps whatever else the machine does from falling on one side only.
    """
    for _ in range(3):
        await api()
        raw()
    api_samples, raw_samples = [], []
    for _ in range(requests):
        start = time.perf_counter()
        await api()
        api_samples.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        raw()
        raw_samples.append((time.perf_counter() - start) * 1000)
    return (
        (percentile(api_samples, 50), percentile(api_samples, 95)),
        (percentile(raw_samples, 50), percentile(raw_samples, 95)),
    )


class Capture:
    """The SELECTs one request sends, and nothing the app does meanwhile in the background.

    A statement belongs to the request if it runs in the request's context: the
    app runs in the caller's task, and the thread pool the handlers run in
    copies that context; the scheduler's thread has its own. The listener is on
    the engine only while capturing, so the timed requests do not pay for it.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.statements: list[tuple[str, Any]] = []
        self._active: contextvars.ContextVar[bool] = contextvars.ContextVar(
            "capturing", default=False
        )

    @contextmanager
    def request(self) -> Iterator[list[tuple[str, Any]]]:
        """Capture what is sent inside this block (by this task and what it hands off)."""
        self.statements = []
        token = self._active.set(True)
        event.listen(self.db.engine, "before_cursor_execute", self._seen)
        try:
            yield self.statements
        finally:
            event.remove(self.db.engine, "before_cursor_execute", self._seen)
            self._active.reset(token)

    def _seen(self, conn: Any, cursor: Any, statement: str, parameters: Any, *rest: Any) -> None:
        if self._active.get() and statement.lstrip().upper().startswith("SELECT"):
            self.statements.append((statement, parameters))


def raw_runner(db: Database, statements: list[tuple[str, Any]]) -> Callable[[], Any]:
    """Run ``statements`` on one raw DBAPI connection, fetching every row."""
    connection = db.engine.raw_connection()

    def run() -> None:
        cursor = connection.cursor()
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            cursor.fetchall()
        cursor.close()
        connection.rollback()

    return run


def bench_backend(name: str, url: str, args: argparse.Namespace, workdir: Path) -> list[dict]:
    db = Database(url)
    upgrade(db.engine)
    integration = add_integration(
        db, SecretBox("bench"), IntegrationInput("vcenter", "bench", "https://vc.example")
    )
    snapshot = generate_estate(args.vms)
    start = time.perf_counter()
    result = run_sync(db, integration.id, SnapshotConnector(snapshot))
    assert result.succeeded, result.error
    print(f"{name}: synced {args.vms:,} VMs in {time.perf_counter() - start:.1f} s", flush=True)
    if not db.is_sqlite:  # what autovacuum does shortly after a bulk write
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    user = create_user(db, CLI_ACTOR, "bench-viewer", "viewer", "bench-password-1")
    token = create_token(db, CLI_ACTOR, user.id, "bench").secret
    app = create_app(Settings(data_dir=workdir, database_url=url))
    rows = [{"backend": name, **row} for row in asyncio.run(measure(app, token, args))]
    db.dispose()
    return rows


class Server:
    """GET requests sent straight to an ASGI app, each answer read to its last byte."""

    def __init__(self, app: FastAPI, token: str) -> None:
        self.app = app
        self.headers = [(b"host", b"iroa"), (b"authorization", f"Bearer {token}".encode())]

    async def get(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        """The body of a 200 answer (anything else fails the benchmark)."""
        status, body = 0, bytearray()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": urlencode(params or {}).encode(),
            "root_path": "",
            "headers": self.headers,
            "client": ("127.0.0.1", 50000),
            "server": ("iroa", 80),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, send)
        assert status == 200, (status, bytes(body))
        return bytes(body)


async def measure(app: FastAPI, token: str, args: argparse.Namespace) -> list[dict]:
    """Time each case through the ASGI app, then its captured statements on a raw connection."""
    rows = []
    server = Server(app, token)
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://iroa", headers=headers) as client,
    ):
        app_db: Database = app.state.runtime.db
        capture = Capture(app_db)

        async def page(params: dict[str, Any]) -> Any:
            return orjson.loads(await server.get("/api/v1/vms", params))

        async def through_httpx() -> None:
            response = await client.get("/api/v1/health")
            assert response.status_code == 200, response.text

        floors = {
            f"GET {path}": (await timed_async(lambda path=path: server.get(path), args.requests))[0]
            for path in ("/api/v1/health", "/api/v1/auth/me")
        }
        floors["GET /api/v1/health through httpx"] = (
            await timed_async(through_httpx, args.requests)
        )[0]
        print(
            "  per-request floor, p50: "
            + ", ".join(f"{label} {p50:.2f} ms" for label, p50 in floors.items()),
            flush=True,
        )
        # Pages to the middle of the list, small enough that a small estate has one too.
        cursor, seen, limit = None, 0, max(1, min(1000, args.vms // 4))
        while seen < args.vms // 2:
            found = await page({"limit": limit, **({"cursor": cursor} if cursor else {})})
            cursor, seen = found["next_cursor"], seen + len(found["items"])
        assert cursor, f"no page after the first {seen} of {args.vms} VMs"
        first = (await page({"limit": 1}))["items"][0]
        cases = {
            "first page": {},
            f"deep page (after {seen:,})": {"cursor": cursor},
            "q= search": {"q": first["guest_hostname"][:12]},
            "power_state=suspended": {"power_state": "suspended"},
            "sort=-name": {"sort": "-name"},
        }
        for label, params in cases.items():
            params = {"limit": 100, **params}
            with capture.request() as statements:
                found = await page(params)

            async def call(params: dict[str, Any] = params) -> bytes:
                # The answer as the server sends it; parsing its JSON is the client's cost.
                return await server.get("/api/v1/vms", params)

            (api_p50, api_p95), (raw_p50, raw_p95) = await side_by_side(
                call, raw_runner(app_db, statements), args.requests
            )
            rows.append(
                {
                    "case": label,
                    "matches": found["total"],
                    "statements": len(statements),
                    "api_p50": api_p50,
                    "api_p95": api_p95,
                    "raw_p50": raw_p50,
                    "raw_p95": raw_p95,
                }
            )
            print(f"  {label}: api p95 {api_p95:.1f} ms, raw p95 {raw_p95:.1f} ms", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="iroa-bench-") as tmp:
        for backend in args.backends.split(","):
            workdir = Path(tmp) / backend
            workdir.mkdir()
            if backend == "sqlite":
                rows += bench_backend(backend, f"sqlite:///{workdir / 'iroa.db'}", args, workdir)
            elif backend == "postgresql":
                url, drop = postgres_database(args.postgres_url)
                try:
                    rows += bench_backend(backend, url, args, workdir)
                finally:
                    drop()
            else:
                raise SystemExit(f"unknown backend {backend!r}: sqlite or postgresql")
    print()
    print(f"VM list at {args.vms:,} VMs, {args.requests} requests per case, limit=100 (ms)")
    header = (
        f"{'backend':<11}{'case':<28}{'matches':>9}{'stmts':>6}{'API p50':>9}{'API p95':>9}"
        f"{'SQL p50':>9}{'SQL p95':>9}{'API/SQL':>9}{'+ms p50':>9}  target"
    )
    print(header)
    print("-" * len(header))
    missed = 0
    for row in rows:
        ratio = row["api_p95"] / row["raw_p95"]
        ok = row["api_p95"] <= P95_TARGET_MS[row["backend"]]
        missed += not ok
        print(
            f"{row['backend']:<11}{row['case']:<28}{row['matches']:>9,}{row['statements']:>6}"
            f"{row['api_p50']:>9.1f}{row['api_p95']:>9.1f}{row['raw_p50']:>9.1f}"
            f"{row['raw_p95']:>9.1f}{ratio:>9.2f}{row['api_p50'] - row['raw_p50']:>9.1f}"
            f"  {'met' if ok else 'MISSED'}"
        )
    print(
        f"\ntargets: API p95 <= {P95_TARGET_MS['sqlite']:.0f} ms on SQLite, "
        f"<= {P95_TARGET_MS['postgresql']:.0f} ms on PostgreSQL; "
        "stmts = SELECTs the request sent, all replayed as the SQL; "
        "+ms = what the API adds to them (routing, validation, auth, rows to JSON)"
    )
    if missed:
        raise SystemExit(f"{missed} case(s) missed a target")


if __name__ == "__main__":
    main()
