"""Read Zabbix hosts, interfaces and active problems through its JSON-RPC API (zabbix-utils).

Vendor errors are translated here, once, into the connector errors, with messages
free of the secret (whatever the server repeats of it).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.error import HTTPError, URLError
from urllib.parse import quote

from zabbix_utils import APIRequestError, ProcessingError, ZabbixAPI
from zabbix_utils.exceptions import APINotSupported

from iroa.connectors.base import (
    CannotConnectError,
    ConnectionOptions,
    ConnectorError,
    ConnectorTimeoutError,
    InvalidLoginError,
    Progress,
    SourceInfo,
    UnexpectedResponseError,
    UntrustedCertificateError,
)
from iroa.connectors.monitoring import ZabbixHost, ZabbixProblem, ZabbixSnapshot
from iroa.connectors.values import parse_endpoint, trusted_cas
from iroa.redaction import clean_message

log = logging.getLogger(__name__)

_AVAILABILITY = {"1": "available", "2": "unavailable"}
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class ZabbixConnector:
    """Hosts (technical and visible name, DNS names, IPs, availability) and their problems."""

    kind: ClassVar[str] = "zabbix"

    def __init__(self, options: ConnectionOptions) -> None:
        self._options = options
        self._url = options.url.rstrip("/")

    @contextmanager
    def _session(self) -> Iterator[ZabbixAPI]:
        options = self._options
        # Refuses credentials in the URL (a row stored before input refused them)
        # before anything sends or logs them.
        parse_endpoint(options.url, product="Zabbix", default_ports=_DEFAULT_PORTS, default_path="")
        if options.insecure:
            log.warning("TLS certificate of %s is not verified (insecure mode)", self._url)
        context = None
        if not options.insecure and options.ca_file:
            context = trusted_cas(options.ca_file)
        api: ZabbixAPI | None = None
        try:
            api = ZabbixAPI(
                url=self._url,
                validate_certs=not options.insecure,
                ssl_context=context,
                timeout=int(max(options.connect_timeout_s, options.read_timeout_s)),
                skip_version_check=True,
            )
            if options.token:
                api.login(token=options.password)
            else:
                api.login(user=options.username, password=options.password)
            yield api
        except ConnectorError:
            raise
        except APIRequestError as exc:
            text = str(exc)
            if any(w in text.lower() for w in ("password", "login", "not authorized", "session")):
                raise self._error(
                    InvalidLoginError, f"Zabbix at {self._url} rejected the login: {text}"
                ) from exc
            raise self._error(
                UnexpectedResponseError, f"Zabbix at {self._url} refused a request: {text}"
            ) from exc
        except (ProcessingError, APINotSupported) as exc:
            raise self._translate(exc) from exc
        except (URLError, OSError, ValueError) as exc:
            raise self._translate(exc) from exc
        finally:
            if api is not None:
                try:
                    if not options.token:
                        api.logout()
                except Exception:
                    log.debug("logout from %s failed", self._url)

    def _translate(self, exc: BaseException) -> ConnectorError:
        text = str(exc)
        reason = getattr(exc, "reason", None) or exc.__cause__ or exc.__context__ or exc
        if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY" in text:
            return self._error(
                UntrustedCertificateError, f"the TLS certificate of {self._url} is not trusted"
            )
        http_error = next((e for e in _chain(exc) if isinstance(e, HTTPError)), None)
        if http_error is not None:
            return self._error(
                UnexpectedResponseError,
                f"{self._url} does not look like the Zabbix API "
                f"(HTTP {http_error.code} from api_jsonrpc.php)",
            )
        if isinstance(reason, TimeoutError) or "timed out" in text:
            return self._error(
                ConnectorTimeoutError, f"Zabbix at {self._url} did not answer in time"
            )
        if isinstance(exc, (ProcessingError, ValueError)) and not isinstance(reason, OSError):
            return self._error(
                UnexpectedResponseError, f"{self._url} does not look like the Zabbix API: {text}"
            )
        return self._error(CannotConnectError, f"cannot connect to Zabbix at {self._url}: {text}")

    def _error(self, kind: type[ConnectorError], message: str) -> ConnectorError:
        return kind(clean_message(message, self._options.password))

    def check(self) -> SourceInfo:
        with self._session() as api:
            version = str(api.api_version())
            count = int(api.host.get(countOutput=True))
        return SourceInfo(
            name=self._url, product="Zabbix", version=version, object_counts={"hosts": count}
        )

    def collect(self, progress: Progress) -> ZabbixSnapshot:
        with self._session() as api:
            version = str(api.api_version())
            progress.start("collect hosts")
            raw_hosts: list[dict[str, Any]] = api.host.get(
                output=["hostid", "host", "name", "status"],
                selectInterfaces=["ip", "dns", "useip", "available"],
            )
            progress.start("collect problems")
            problems = self._problems(api)
        hosts = [self._host(raw, problems.get(str(raw["hostid"]), ())) for raw in raw_hosts]
        source = SourceInfo(
            name=self._url, product="Zabbix", version=version, object_counts={"hosts": len(hosts)}
        )
        return ZabbixSnapshot(source=source, hosts=hosts)

    def _problems(self, api: ZabbixAPI) -> dict[str, list[ZabbixProblem]]:
        raw: list[dict[str, Any]] = api.problem.get(
            output=["eventid", "objectid", "name", "severity", "clock", "acknowledged"],
            source=0,
            object=0,
        )
        if not raw:
            return {}
        triggers: list[dict[str, Any]] = api.trigger.get(
            triggerids=sorted({p["objectid"] for p in raw}),
            output=["triggerid"],
            selectHosts=["hostid"],
        )
        hosts_of = {t["triggerid"]: [h["hostid"] for h in t.get("hosts", [])] for t in triggers}
        by_host: dict[str, list[ZabbixProblem]] = {}
        for p in raw:
            problem = ZabbixProblem(
                event_id=str(p["eventid"]),
                name=str(p["name"]),
                severity=int(p["severity"]),
                started_at=datetime.fromtimestamp(int(p["clock"]), UTC),
                acknowledged=str(p.get("acknowledged")) == "1",
            )
            for host_id in hosts_of.get(p["objectid"], []):
                by_host.setdefault(str(host_id), []).append(problem)
        return by_host

    def _host(self, raw: dict[str, Any], problems: Any) -> ZabbixHost:
        interfaces = raw.get("interfaces") or []
        states = {str(i.get("available")) for i in interfaces}
        availability = (
            "unavailable" if "2" in states else "available" if "1" in states else "unknown"
        )
        dns = tuple(sorted({i["dns"] for i in interfaces if i.get("dns")}))
        ips = tuple(sorted({i["ip"] for i in interfaces if i.get("ip")}))
        host_id = str(raw["hostid"])
        return ZabbixHost(
            host_id=host_id,
            host=str(raw["host"]),
            name=str(raw.get("name") or raw["host"]),
            enabled=str(raw.get("status")) == "0",
            availability=availability,
            url=f"{self._url}/zabbix.php?action=problem.view&filter_set=1"
            f"&hostids%5B%5D={quote(host_id)}",
            dns=dns,
            ips=ips,
            problems=tuple(sorted(problems, key=lambda p: (-p.severity, p.started_at))),
        )
