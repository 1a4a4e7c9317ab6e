"""Normalization every connector shares: endpoint URLs, trusted CAs, MAC addresses, IP lists."""

from __future__ import annotations

import ipaddress
import re
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from iroa.connectors.base import CannotConnectError, UntrustedCertificateError

_MAC_SEPARATORS = re.compile(r"[^0-9a-fA-F]")
_MAC_HEX_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where an integration's service listens."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self}{self.path}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_endpoint(
    url: str, *, product: str, default_ports: Mapping[str, int], default_path: str
) -> Endpoint:
    """Parse ``scheme://host[:port][/path]``, filling in the product's default port and path."""
    # Messages here never echo the URL: a mistyped one may carry credentials.
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise CannotConnectError(f"invalid {product} URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in default_ports:
        raise CannotConnectError(
            f"invalid {product} URL: use https://host[:{default_ports['https']}]"
        )
    if parts.username is not None or parts.password is not None:
        raise CannotConnectError(f"invalid {product} URL: put credentials in username and secret")
    if not parts.hostname:
        raise CannotConnectError(f"invalid {product} URL: no host name")
    if parts.query or parts.fragment:
        raise CannotConnectError(f"invalid {product} URL: no query or fragment expected")
    path = parts.path.rstrip("/") or default_path
    return Endpoint(scheme, parts.hostname, port or default_ports[scheme], path)


def trusted_cas(ca_file: str | None) -> ssl.SSLContext:
    """A TLS context trusting the system's CAs, or the PEM bundle ``ca_file``; a bundle
    that cannot be read (moved, deleted, not PEM) is an :class:`UntrustedCertificateError`
    in one line."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        raise UntrustedCertificateError(f"cannot load CA file {ca_file}: {reason}") from None


def normalize_mac(value: object) -> str | None:
    """A MAC address as lowercase ``aa:bb:cc:dd:ee:ff``, whatever the separators."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    digits = _MAC_SEPARATORS.sub("", text).lower()
    if len(digits) != _MAC_HEX_DIGITS:
        return text.lower()
    return ":".join(digits[i : i + 2] for i in range(0, _MAC_HEX_DIGITS, 2))


def sorted_ips(values: Iterable[object]) -> tuple[str, ...]:
    """Distinct IP addresses, IPv4 before IPv6, numerically; unparsable strings last."""
    unique = {v.strip() for v in values if isinstance(v, str) and v.strip()}
    if len(unique) < 2:  # most VMs: nothing to parse an address for
        return tuple(unique)
    return tuple(sorted(unique, key=_ip_sort_key))


def _ip_sort_key(text: str) -> tuple[int, int, str]:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return (99, 0, text)
    return (address.version, int(address), text)
