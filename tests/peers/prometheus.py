"""A real Prometheus server (Debian's package) scraping an exporter whose series tests control.

The exporter is a ``prometheus_client`` HTTP server whose samples come from a
JSON file the test rewrites (``[{"name", "labels", "value"}]``); Prometheus
scrapes it every second with ``honor_labels`` so the file's labels are kept.
The server asks for HTTP basic auth (``--web.config.file``, bcrypt hash made by
PHP's ``password_hash``, as php-cli is a peer dependency anyway).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client import start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

USERNAME = "prom"
PASSWORD = "prom-s3cret"
INSTALL_HINT = "run tests/peers/install.sh as root (installs prometheus and php-cli)"


class PrometheusMissing(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _FileCollector(Collector):
    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            samples = json.loads(self.path.read_text() or "[]")
        except (OSError, ValueError):
            samples = []
        families: dict[tuple[str, tuple[str, ...]], GaugeMetricFamily] = {}
        for sample in samples:
            labels = sample.get("labels", {})
            keys = tuple(sorted(labels))
            family = families.get((sample["name"], keys))
            if family is None:
                family = GaugeMetricFamily(sample["name"], "test series", labels=list(keys))
                families[(sample["name"], keys)] = family
            family.add_metric([labels[k] for k in keys], float(sample["value"]))
        yield from families.values()


@dataclass
class PrometheusPeer:
    """Prometheus on loopback plus the file-driven exporter it scrapes."""

    workdir: Path
    port: int = 0
    exporter_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _exporter: Any = None
    _scrapes: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def series_file(self) -> Path:
        return self.workdir / "series.json"

    def set_series(self, samples: Iterable[dict[str, Any]]) -> None:
        """Replace what the exporter serves; wait until Prometheus has scraped it."""
        tmp = self.series_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(list(samples)))
        tmp.replace(self.series_file)
        self.wait_scraped()

    def wait_scraped(self, timeout_s: float = 20.0) -> None:
        """Wait for two scrapes that started after now, so the new samples are stored."""
        start = time.time()
        deadline = start + timeout_s
        while time.time() < deadline:
            targets = self._targets()
            if targets and all(
                t.get("health") == "up" and _parse_ts(t.get("lastScrape")) > start + 1.0
                for t in targets
            ):
                return
            time.sleep(0.2)
        raise TimeoutError("Prometheus did not scrape the test exporter in time")

    def _targets(self) -> list[dict[str, Any]]:
        try:
            response = httpx.get(
                f"{self.url}/api/v1/targets", auth=(USERNAME, PASSWORD), timeout=2.0
            )
            active: list[dict[str, Any]] = response.json()["data"]["activeTargets"]
            return active
        except (httpx.HTTPError, ValueError, KeyError):
            return []

    def start(self) -> PrometheusPeer:
        binary = shutil.which("prometheus")
        php = shutil.which("php")
        if binary is None or php is None:
            raise PrometheusMissing(f"prometheus or php not found on PATH: {INSTALL_HINT}")
        self.series_file.write_text("[]")
        registry = CollectorRegistry()
        registry.register(_FileCollector(self.series_file))
        self.exporter_port = free_port()
        self._exporter = start_http_server(self.exporter_port, "127.0.0.1", registry)
        digest = subprocess.run(
            [php, "-r", f"echo password_hash('{PASSWORD}', PASSWORD_BCRYPT);"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        (self.workdir / "web.yml").write_text(f"basic_auth_users:\n  {USERNAME}: '{digest}'\n")
        (self.workdir / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: iroa-test\n    honor_labels: true\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{self.exporter_port}']\n"
        )
        self.port = free_port()
        log = open(self.workdir / "prometheus.log", "wb")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--web.config.file={self.workdir / 'web.yml'}",
                f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1d",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise PrometheusMissing(
                    "prometheus exited at start: "
                    + (self.workdir / "prometheus.log").read_text()[-500:]
                )
            targets = self._targets()
            if targets and all(t.get("health") == "up" for t in targets):
                return self
            time.sleep(0.25)
        self.stop()
        raise PrometheusMissing("prometheus did not get its target up within 60 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._exporter is not None:
            server = self._exporter[0] if isinstance(self._exporter, tuple) else None
            if server is not None:
                server.shutdown()
                server.server_close()
            self._exporter = None
        shutil.rmtree(self.workdir, ignore_errors=True)


def _parse_ts(value: Any) -> float:
    if not isinstance(value, str) or value.startswith("0001"):
        return 0.0
    from datetime import datetime

    text = value.rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    return datetime.fromisoformat(text + "+00:00").timestamp()


def start_prometheus() -> PrometheusPeer:
    return PrometheusPeer(Path(tempfile.mkdtemp(prefix="iroa-prometheus-"))).start()
