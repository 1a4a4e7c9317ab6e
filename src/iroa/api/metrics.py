"""``/metrics`` in Prometheus' text format: HTTP latency, syncs and inventory size."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iroa.db.engine import Database
from iroa.http.deps import current_user
from iroa.runtime import Runtime
from iroa.sync.stats import read_stats
from iroa.vocabulary import WatchState


class DatabaseCollector(Collector):
    """Sync and inventory figures read from the database at scrape time, so they include
    runs made by other processes (the CLI, other API workers)."""

    def __init__(self, db_of: Any) -> None:
        self._db_of = db_of

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        db: Database | None = self._db_of()
        if db is None:
            return
        stats = read_stats(db)
        runs = CounterMetricFamily(
            "iroa_sync_runs",
            "Sync runs by integration and result",
            labels=["integration", "status"],
        )
        for (integration, status), count in sorted(stats.runs.items()):
            runs.add_metric([integration, status], count)
        duration = GaugeMetricFamily(
            "iroa_sync_last_duration_seconds",
            "Duration of the latest finished-or-running sync of each integration",
            labels=["integration", "status"],
        )
        started = GaugeMetricFamily(
            "iroa_sync_last_start_timestamp_seconds",
            "When the latest sync of each integration started",
            labels=["integration", "status"],
        )
        for run in stats.last_runs:
            started.add_metric([run.integration, run.status], run.started_at.timestamp())
            if run.duration_s is not None:
                duration.add_metric([run.integration, run.status], run.duration_s)
        success = GaugeMetricFamily(
            "iroa_sync_last_success_timestamp_seconds",
            "When each integration last synced successfully",
            labels=["integration"],
        )
        for integration, at in sorted(stats.last_success.items()):
            success.add_metric([integration], at.timestamp())
        objects = GaugeMetricFamily(
            "iroa_inventory_objects",
            "Present inventory objects by integration and type",
            labels=["integration", "type"],
        )
        for (integration, object_type), count in sorted(stats.objects.items()):
            objects.add_metric([integration, object_type], count)
        state = GaugeMetricFamily(
            "iroa_watch_state",
            "1 for the state each watched integration's watcher is in",
            labels=["integration", "state"],
        )
        updates = CounterMetricFamily(
            "iroa_watch_updates",
            "Objects a watcher added, modified or removed since it started",
            labels=["integration"],
        )
        delay = GaugeMetricFamily(
            "iroa_watch_last_delay_seconds",
            "From a watcher's report of its last changes to their commit",
            labels=["integration"],
        )
        for integration, watcher in sorted(stats.watchers.items()):
            for name in WatchState:
                state.add_metric([integration, name.value], watcher["watch_state"] == name)
            updates.add_metric([integration], watcher["updates"])
            if watcher["last_delay_s"] is not None:
                delay.add_metric([integration], watcher["last_delay_s"])
        yield from (runs, duration, started, success, objects, state, updates, delay)


class Metrics:
    """One registry per application, so several apps in one process do not collide."""

    def __init__(self, db_of: Any) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.http_latency = Histogram(
            "iroa_http_request_duration_seconds",
            "HTTP request latency by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.registry.register(DatabaseCollector(db_of))


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""The methods a request is counted under; any other is ``other``, so that clients
cannot add label values (and series) at will."""


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else "other"


class LatencyMiddleware:
    """Times every HTTP request under its route template (``/api/v1/vms/{id}``, else
    ``unmatched``) and method, so that label values come from fixed sets."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = method_label(scope["method"])
            self.metrics.http_latency.labels(method, template, str(status)).observe(
                time.perf_counter() - start
            )


async def _public(request: Request) -> None:
    """Metrics are public (``IROA_METRICS_PUBLIC``): nothing to check."""


def install_metrics(app: FastAPI, public: bool) -> Metrics:
    """Time every request, and serve ``/metrics`` (to any signed-in user unless public)."""

    def db_of() -> Database | None:
        # Before the app has started (and after it stopped) there is no database to read.
        runtime: Runtime | None = getattr(app.state, "runtime", None)
        return None if runtime is None else runtime.db

    metrics = Metrics(db_of)
    app.add_middleware(LatencyMiddleware, metrics=metrics)
    guard: Any = _public if public else current_user

    @app.get(
        "/metrics",
        tags=["metrics"],
        response_class=Response,
        dependencies=[Depends(guard)],
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    def prometheus_metrics() -> Response:
        """Metrics in Prometheus' text format (needs a token unless IROA_METRICS_PUBLIC)."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
