"""A pyVmomi session to one vCenter (or ESXi host); vendor errors become connector errors here.

Every other module of this connector lets pyVmomi and transport exceptions
propagate; :func:`open_session` is the one place that turns them into the
errors of :mod:`iroa.connectors.base`, each with a one-line, secret-free message.
"""

from __future__ import annotations

import http.client
import logging
import re
import socket
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from xml.etree import ElementTree
from xml.parsers.expat import ExpatError

from pyVmomi import vim, vmodl
from pyVmomi.SoapAdapter import SoapStubAdapter
from pyVmomi.VmomiSupport import GetServiceVersions, versionIdMap

from iroa.connectors.base import (
    CannotConnectError,
    ConnectionOptions,
    ConnectorError,
    ConnectorTimeoutError,
    InvalidLoginError,
    UnexpectedResponseError,
    UntrustedCertificateError,
)
from iroa.connectors.values import Endpoint, parse_endpoint, trusted_cas
from iroa.connectors.vcenter.decoder import DecodeError, LeanDecoder
from iroa.redaction import clean_message

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"https": 443, "http": 80}
_SDK_PATH = "/sdk"
_MAX_VERSIONS_DOCUMENT_BYTES = 1 << 20
_VIM25_NAMESPACE = "urn:vim25"


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in connection: the service content and the API version agreed on."""

    endpoint: Endpoint
    content: vim.ServiceInstanceContent
    api_version: tuple[int, ...]
    relogin: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)
    """Log in again on the same connection, after the server ended the session."""
    decoder: LeanDecoder | None = field(default=None, compare=False, repr=False)
    """Decodes the bulk answers of this session; None: pyVmomi does."""


def parse_url(url: str) -> Endpoint:
    """Parse ``https://vcenter.example.com[:port][/sdk]`` (``http://`` for simulators)."""
    return parse_endpoint(
        url, product="vCenter", default_ports=_DEFAULT_PORTS, default_path=_SDK_PATH
    )


def build_ssl_context(options: ConnectionOptions) -> ssl.SSLContext:
    """Return the TLS context for ``options``: system CAs, the integration's CA file, or none."""
    if options.insecure:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return trusted_cas(options.ca_file)


@contextmanager
def open_session(options: ConnectionOptions) -> Iterator[Session]:
    """Log in, yield the session, and always log out; errors inside are translated too."""
    endpoint = parse_url(options.url)
    context = build_ssl_context(options)
    _warn_about_weak_transport(endpoint, options)
    stub: SoapStubAdapter | None = None
    content: vim.ServiceInstanceContent | None = None
    try:
        with translated_errors(endpoint, options, handshake=True):
            version = _discover_api_version(endpoint, context, options)
            stub = SoapStubAdapter(  # type: ignore[no-untyped-call]
                host=endpoint.host,
                # pyVmomi's convention: a negative port means plain http.
                port=endpoint.port if endpoint.scheme == "https" else -endpoint.port,
                path=endpoint.path,
                version=version,
                sslContext=context,
                # One socket timeout for connect and reads; the connect timeout
                # already guarded the discovery request to the same address.
                httpConnectionTimeout=options.read_timeout_s,
            )
            instance = vim.ServiceInstance("ServiceInstance", stub)  # type: ignore[no-untyped-call]
            service_content = instance.RetrieveContent()
            about = service_content.about
            sessions = service_content.sessionManager
            if about.apiType not in ("VirtualCenter", "HostAgent") or sessions is None:
                raise UnexpectedResponseError(f"{endpoint} is not a vCenter or ESXi endpoint")
            sessions.Login(options.username or "", options.password or "", None)
            content = service_content

        def relogin() -> None:
            logger.info("vCenter %s ended the session; logging in again", endpoint)
            sessions.Login(options.username or "", options.password or "", None)

        with translated_errors(endpoint, options):
            yield Session(
                endpoint,
                service_content,
                _parse_version(about.apiVersion),
                relogin,
                LeanDecoder(stub) if options.lean_decoding else None,
            )
    finally:
        _close(stub, content)


def _warn_about_weak_transport(endpoint: Endpoint, options: ConnectionOptions) -> None:
    if endpoint.scheme == "http":
        logger.warning("vCenter %s is reached over plain http: nothing is encrypted", endpoint)
    elif options.insecure:
        logger.warning("TLS certificate verification is disabled for vCenter %s", endpoint)


def _discover_api_version(
    endpoint: Endpoint, context: ssl.SSLContext, options: ConnectionOptions
) -> str:
    """Pick the newest API version both sides speak, from the server's vimServiceVersions.xml."""
    document_path = f"{endpoint.path}/vimServiceVersions.xml"
    connection: http.client.HTTPConnection
    if endpoint.scheme == "https":
        connection = http.client.HTTPSConnection(
            endpoint.host, endpoint.port, timeout=options.connect_timeout_s, context=context
        )
    else:
        connection = http.client.HTTPConnection(
            endpoint.host, endpoint.port, timeout=options.connect_timeout_s
        )
    try:
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(options.read_timeout_s)
        connection.request("GET", document_path)
        response = connection.getresponse()
        body = response.read(_MAX_VERSIONS_DOCUMENT_BYTES)
    finally:
        connection.close()
    if response.status != 200:
        raise UnexpectedResponseError(
            f"{endpoint} is not a vSphere API endpoint (HTTP {response.status} for {document_path})"
        )
    offered = _offered_versions(body)
    if not offered:
        raise UnexpectedResponseError(f"{endpoint} is not a vSphere API endpoint")
    for version in GetServiceVersions("vim25"):  # type: ignore[no-untyped-call]
        if versionIdMap.get(version) in offered:
            return str(version)
    listed = ", ".join(sorted(offered))
    raise UnexpectedResponseError(
        f"{endpoint} offers vSphere API versions {listed}; none is supported by this pyVmomi"
    )


def _offered_versions(document: bytes) -> set[str]:
    """Return the vim25 API versions a vimServiceVersions.xml document lists."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return set()
    offered: set[str] = set()
    for namespace in root.iter("namespace"):
        if (namespace.findtext("name") or "").strip() != _VIM25_NAMESPACE:
            continue
        for element in (namespace.find("version"), *namespace.iterfind("priorVersions/version")):
            if element is not None and element.text:
                offered.add(element.text.strip())
    return offered


def _parse_version(text: str | None) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", text or "")
    return tuple(int(number) for number in numbers)


def _close(stub: SoapStubAdapter | None, content: vim.ServiceInstanceContent | None) -> None:
    if content is not None and content.sessionManager is not None:
        try:
            content.sessionManager.Logout()
        except Exception as exc:  # logging out is best effort; the session expires anyway
            logger.debug("vCenter logout failed: %s", type(exc).__name__)
    if stub is not None:
        stub.DropConnections()  # type: ignore[no-untyped-call]


@contextmanager
def translated_errors(
    endpoint: Endpoint, options: ConnectionOptions, *, handshake: bool = False
) -> Iterator[None]:
    """Re-raise vendor and transport exceptions as connector errors with clean messages."""
    try:
        yield
    except ConnectorError:
        raise
    except Exception as exc:
        error = _translate(exc, endpoint, options, handshake=handshake)
        if error is None:
            raise
        raise error from exc


def _translate(
    exc: Exception, endpoint: Endpoint, options: ConnectionOptions, *, handshake: bool
) -> ConnectorError | None:
    """Map one exception to a connector error, or None to let a programming error surface."""
    error: ConnectorError
    if isinstance(exc, vim.fault.InvalidLogin):
        error = InvalidLoginError(
            f"{endpoint} rejected the login of user {options.username or '(none)'!r}: "
            "wrong user name or password"
        )
    elif isinstance(exc, vim.fault.NotAuthenticated):
        error = InvalidLoginError(f"{endpoint} ended the session of user {options.username!r}")
    elif isinstance(exc, vim.fault.NoPermission):
        error = ConnectorError(
            f"user {options.username!r} lacks a permission on {endpoint}: {_fault_text(exc)}"
        )
    elif isinstance(exc, vmodl.MethodFault):
        error = ConnectorError(f"{endpoint} reported {_fault_text(exc)}")
    elif isinstance(exc, ssl.SSLCertVerificationError):
        reason = str(exc.verify_message or exc.reason or "verification failed").rstrip(".")
        hint = (
            "connect with a name the certificate lists"
            if "mismatch" in reason
            else "give the integration the CA file, or enable insecure mode explicitly"
        )
        error = UntrustedCertificateError(
            f"TLS certificate of {endpoint} is not trusted ({reason}); {hint}"
        )
    elif isinstance(exc, ssl.SSLError):
        error = CannotConnectError(
            f"TLS handshake with {endpoint} failed ({exc.reason or exc}); is it an https endpoint?"
        )
    elif isinstance(exc, TimeoutError):
        error = ConnectorTimeoutError(
            f"{endpoint} did not answer in time (connect {options.connect_timeout_s:g} s, "
            f"read {options.read_timeout_s:g} s)"
        )
    elif isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
        error = CannotConnectError(f"{endpoint} closed the connection unexpectedly")
    elif isinstance(exc, socket.gaierror):
        error = CannotConnectError(f"cannot resolve host name {endpoint.host}: {exc.strerror}")
    elif isinstance(exc, http.client.HTTPException):
        error = UnexpectedResponseError(
            f"{endpoint} did not answer like a vSphere API ({type(exc).__name__}: {exc})"
        )
    elif isinstance(exc, OSError):
        error = CannotConnectError(f"cannot connect to {endpoint}: {exc.strerror or exc}")
    elif isinstance(exc, ExpatError | ElementTree.ParseError | DecodeError) or handshake:
        error = UnexpectedResponseError(
            f"{endpoint} did not answer like a vSphere API ({type(exc).__name__})"
        )
    else:
        return None
    return type(error)(clean_message(str(error), options.password))


def _fault_text(fault: vmodl.MethodFault) -> str:
    message = getattr(fault, "msg", None)
    name = type(fault).__name__.rsplit(".", 1)[-1]
    return f"{name}: {message}" if message else name
