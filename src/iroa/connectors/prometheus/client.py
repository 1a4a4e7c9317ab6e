"""A small client of Prometheus's HTTP API; httpx errors become the connector errors here,
with messages free of the secret (whatever the server repeats of it)."""

from __future__ import annotations

import logging
import math
import ssl
from datetime import UTC, datetime
from typing import Any

import httpx

from iroa.connectors.base import (
    CannotConnectError,
    ConnectionOptions,
    ConnectorError,
    ConnectorTimeoutError,
    InvalidLoginError,
    UnexpectedResponseError,
    UntrustedCertificateError,
)
from iroa.connectors.values import parse_endpoint, trusted_cas
from iroa.redaction import clean_message

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"https": 443, "http": 80}


def _verify(options: ConnectionOptions) -> ssl.SSLContext | bool:
    if options.insecure:
        log.warning("TLS certificate of %s is not verified (insecure mode)", options.url)
        return False
    return trusted_cas(options.ca_file)


class PrometheusClient:
    """Instant and range queries; basic auth (username + password) or a bearer token."""

    def __init__(self, options: ConnectionOptions) -> None:
        # Refuses credentials in the URL (a row stored before input refused them)
        # before anything sends or logs them.
        parse_endpoint(
            options.url, product="Prometheus", default_ports=_DEFAULT_PORTS, default_path=""
        )
        self._url = options.url.rstrip("/")
        self._secret = options.password
        headers: dict[str, str] = {}
        auth: tuple[str, str] | None = None
        if options.password and options.token:
            headers["Authorization"] = f"Bearer {options.password}"
        elif options.password is not None:
            auth = (options.username or "", options.password)
        self._http = httpx.Client(
            base_url=self._url,
            verify=_verify(options),
            auth=auth,
            headers=headers,
            timeout=httpx.Timeout(options.read_timeout_s, connect=options.connect_timeout_s),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def build_info(self) -> dict[str, Any]:
        data = self._get("/api/v1/status/buildinfo", {})
        if not isinstance(data, dict):
            raise self._error(
                UnexpectedResponseError, f"{self._url} does not look like the Prometheus API"
            )
        return data

    def query(self, expr: str, at: datetime) -> list[dict[str, Any]]:
        """An instant query's vector: ``[{metric: {labels}, value: [ts, "v"]}]``."""
        return self._vector(self._get("/api/v1/query", {"query": expr, "time": at.timestamp()}))

    def query_range(
        self, expr: str, start: datetime, end: datetime, step_s: int
    ) -> list[dict[str, Any]]:
        """A range query's matrix: ``[{metric: {labels}, values: [[ts, "v"], ...]}]``."""
        params = {"query": expr, "start": start.timestamp(), "end": end.timestamp(), "step": step_s}
        return self._vector(self._get("/api/v1/query_range", params))

    def _vector(self, data: Any) -> list[dict[str, Any]]:
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list):
            raise self._error(
                UnexpectedResponseError, f"{self._url} answered a query without a result list"
            )
        return [r for r in result if isinstance(r, dict)]

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise self._error(ConnectorTimeoutError, f"{self._url} did not answer in time") from exc
        except httpx.ConnectError as exc:
            if isinstance(exc.__context__, ssl.SSLCertVerificationError) or "CERTIFICATE" in str(
                exc
            ):
                raise self._error(
                    UntrustedCertificateError,
                    f"the TLS certificate of {self._url} is not trusted: {exc}",
                ) from exc
            raise self._error(CannotConnectError, f"cannot connect to {self._url}: {exc}") from exc
        except httpx.HTTPError as exc:
            raise self._error(CannotConnectError, f"cannot talk to {self._url}: {exc}") from exc
        if response.status_code in (401, 403):
            raise self._error(
                InvalidLoginError,
                f"{self._url} rejected the credentials (HTTP {response.status_code})",
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "status" not in body:
            raise self._error(
                UnexpectedResponseError,
                f"{self._url} does not look like the Prometheus API (HTTP {response.status_code} "
                f"from {path})",
            )
        if body["status"] != "success":
            error = body.get("error", "unknown error")
            raise self._error(
                UnexpectedResponseError, f"Prometheus refused the request to {path}: {error}"
            )
        return body.get("data")

    def _error(self, kind: type[ConnectorError], message: str) -> ConnectorError:
        return kind(clean_message(message, self._secret))


def parse_time(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), UTC)


def parse_value(value: Any) -> float | None:
    """A sample's value; NaN and infinities are no value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
