"""Read the configured utilization queries from one Prometheus server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from iroa.connectors.base import ConnectionOptions, Progress, SourceInfo
from iroa.connectors.monitoring import MetricSeries, MetricsSnapshot, strip_port
from iroa.connectors.prometheus.client import PrometheusClient, parse_time, parse_value


class PrometheusConnector:
    """Runs each metric's PromQL query (latest value and a short history)."""

    kind: ClassVar[str] = "prometheus"

    def __init__(self, options: ConnectionOptions) -> None:
        self._options = options
        settings = options.settings
        self._label: str = settings.get("label", "instance")
        self._join: str = settings.get("join", "ip")
        self._queries: dict[str, str] = dict(settings.get("queries", {}))
        self._history_hours: int = int(settings.get("history_hours", 24))
        self._history_step_s: int = int(settings.get("history_step_s", 3600))

    def check(self) -> SourceInfo:
        with PrometheusClient(self._options) as client:
            info = client.build_info()
            client.query("vector(1)", datetime.now(UTC))
        return SourceInfo(
            name=self._options.url,
            product="Prometheus",
            version=str(info.get("version")) if info.get("version") else None,
            build=str(info.get("revision"))[:12] if info.get("revision") else None,
        )

    def collect(self, progress: Progress) -> MetricsSnapshot:
        with PrometheusClient(self._options) as client:
            info = client.build_info()
            source = SourceInfo(
                name=self._options.url,
                product="Prometheus",
                version=str(info.get("version")) if info.get("version") else None,
            )
            now = datetime.now(UTC)
            series: list[MetricSeries] = []
            progress.start("collect metrics", len(self._queries))
            for metric, expr in self._queries.items():
                series.extend(self._read(client, metric, expr, now))
                progress.advance()
        return MetricsSnapshot(source=source, join=self._join, series=series)

    def _key(self, labels: Any) -> str | None:
        if not isinstance(labels, dict):
            return None
        value = labels.get(self._label)
        if not isinstance(value, str) or not value.strip():
            return None
        return strip_port(value) if self._join in ("ip", "hostname") else value.strip()

    def _read(
        self, client: PrometheusClient, metric: str, expr: str, now: datetime
    ) -> list[MetricSeries]:
        latest: dict[str, tuple[float | None, Any]] = {}
        for row in client.query(expr, now):
            key = self._key(row.get("metric"))
            sample = row.get("value")
            if key is None or not isinstance(sample, list) or len(sample) != 2:
                continue
            latest.setdefault(key, (parse_value(sample[1]), parse_time(sample[0])))
        history: dict[str, tuple[tuple[Any, float], ...]] = {}
        if self._history_hours > 0:
            start = now - timedelta(hours=self._history_hours)
            for row in client.query_range(expr, start, now, self._history_step_s):
                key = self._key(row.get("metric"))
                if key is None or key in history:
                    continue
                points = []
                for sample in row.get("values") or ():
                    value = parse_value(sample[1]) if len(sample) == 2 else None
                    if value is not None:
                        points.append((parse_time(sample[0]), value))
                history[key] = tuple(points)
        return [
            MetricSeries(
                join_value=key,
                metric=metric,
                value=value,
                sampled_at=at,
                history=history.get(key, ()),
            )
            for key, (value, at) in latest.items()
        ]
