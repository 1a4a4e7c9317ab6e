"""Run the inventory script on a Hyper-V host over WinRM (pywinrm); errors are translated here.

One WinRM shell, one ``powershell.exe -EncodedCommand`` and its output, then
the shell is closed: a single round trip in PowerShell terms. Every pywinrm,
requests and TLS exception is turned here, once, into the errors of
:mod:`iroa.connectors.base`, each with a one-line message free of the password.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import socket
import ssl
import time
from dataclasses import dataclass
from importlib import resources
from xml.etree import ElementTree

import requests
from winrm.exceptions import (
    AuthenticationError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol

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
from iroa.redaction import clean_message
from iroa.vocabulary import DEFAULT_TRANSPORT, Transport

logger = logging.getLogger(__name__)

TRANSPORTS = tuple(Transport)
_DEFAULT_PORTS = {"https": 5986, "http": 5985}
_WSMAN_PATH = "/wsman"
# CreateProcess takes at most 32,767 characters; keep room for "powershell.exe ..." around it.
MAX_ENCODED_CHARS = 32_000
_MAX_OPERATION_TIMEOUT_S = 20
_UTF8_CODEPAGE = 65001
_ACCESS_DENIED = 5
_CLIXML_PREFIX = b"#< CLIXML"
_CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


class PowerShellError(ConnectorError):
    """The script ran but failed: a non-zero exit code or an error record."""


@dataclass(frozen=True, slots=True)
class CommandOutput:
    stdout: bytes
    stderr: bytes
    exit_code: int


def parse_url(url: str) -> Endpoint:
    """``https://host`` -> ``https://host:5986/wsman`` (``http``: 5985); a given port/path stays."""
    return parse_endpoint(
        url, product="WinRM", default_ports=_DEFAULT_PORTS, default_path=_WSMAN_PATH
    )


def inventory_script() -> str:
    """The PowerShell script shipped with IROA, as an admin reads it."""
    return (resources.files("iroa.connectors.hyperv") / "inventory.ps1").read_text("utf-8")


def compact_script(script: str) -> str:
    """The script without full-line comments, indentation and blank lines (same behaviour)."""
    lines = (line.strip() for line in script.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def encode_command(script: str) -> str:
    """``-EncodedCommand`` form of a script: base64 of its UTF-16LE bytes."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def run_inventory_script(options: ConnectionOptions) -> bytes:
    """Run the inventory script and return its standard output; raise a connector error if not."""
    encoded = encode_command(compact_script(inventory_script()))
    if len(encoded) > MAX_ENCODED_CHARS:
        raise ConnectorError("the inventory script is too long for a Windows command line")
    output = run_powershell(options, encoded)
    endpoint = parse_url(options.url)
    errors = error_records(output.stderr)
    if output.exit_code != 0 or errors:
        detail = "; ".join(errors) or "no error message"
        raise PowerShellError(
            clean_message(
                f"PowerShell on {endpoint} failed (exit code {output.exit_code}): {detail}",
                options.password,
            )
        )
    return output.stdout


def run_powershell(options: ConnectionOptions, encoded_command: str) -> CommandOutput:
    """Open a shell, run ``powershell.exe -EncodedCommand``, collect its output, close the shell."""
    endpoint = parse_url(options.url)
    transport = options.transport or DEFAULT_TRANSPORT
    if transport not in TRANSPORTS:
        raise ConnectorError(f"unknown WinRM transport {transport!r}: use {', '.join(TRANSPORTS)}")
    if transport != "kerberos" and not (options.username and options.password):
        raise InvalidLoginError(
            f"the {transport} transport needs a user name and a password for {endpoint}"
        )
    _warn_about_weak_transport(endpoint, options, transport)
    deadline = time.monotonic() + options.read_timeout_s
    protocol: Protocol | None = None
    shell_id: str | None = None
    try:
        protocol = _protocol(endpoint, options, transport)
        shell_id = protocol.open_shell(codepage=_UTF8_CODEPAGE, noprofile=True)
        command_id = protocol.run_command(
            shell_id,
            "powershell.exe",
            ["-NoLogo", "-NoProfile", "-NonInteractive", "-EncodedCommand", encoded_command],
            skip_cmd_shell=True,
        )
        output = _receive(protocol, shell_id, command_id, deadline, endpoint, options)
        _cleanup(protocol, shell_id, command_id)
        return output
    except ConnectorError:
        raise
    except Exception as exc:
        error = _translate(exc, endpoint, options, transport)
        if error is None:
            raise
        raise error from exc
    finally:
        if protocol is not None and shell_id is not None:
            _close(protocol, shell_id)


def _protocol(endpoint: Endpoint, options: ConnectionOptions, transport: str) -> Protocol:
    """A pywinrm protocol with IROA's TLS and timeout settings."""
    # WinRM holds a Receive open for up to the operation timeout; HTTP may wait that long
    # plus the connect timeout. The whole command is bounded by read_timeout_s separately.
    operation_timeout = max(1, min(_MAX_OPERATION_TIMEOUT_S, int(options.read_timeout_s) // 2))
    http_timeout = operation_timeout + max(1, math.ceil(options.connect_timeout_s))
    if options.insecure:
        validation, ca_trust_path = "ignore", None
    else:
        if options.ca_file:
            trusted_cas(options.ca_file)  # a missing bundle in one line, not deep in requests
        validation, ca_trust_path = "validate", options.ca_file or _system_ca_path()
    return Protocol(
        endpoint.url,
        transport=transport,  # type: ignore[arg-type]
        username=options.username or "",
        password=options.password or "",
        server_cert_validation=validation,  # type: ignore[arg-type]
        ca_trust_path=ca_trust_path,  # type: ignore[arg-type]
        read_timeout_sec=http_timeout,
        operation_timeout_sec=operation_timeout,
        # Environment proxies are for the web, not for WinRM on the server network.
        proxy=None,
        # Delegation hands the host a ticket it can use as IROA anywhere in the
        # domain: only when asked for (a cluster's script reads the other nodes).
        kerberos_delegation=transport == "kerberos" and options.kerberos_delegation,
    )


def _system_ca_path() -> str:
    """The operating system's CA bundle (where a domain's CA is installed), not certifi's."""
    paths = ssl.get_default_verify_paths()
    return paths.cafile or paths.capath or requests.utils.DEFAULT_CA_BUNDLE_PATH


def _receive(
    protocol: Protocol,
    shell_id: str,
    command_id: str,
    deadline: float,
    endpoint: Endpoint,
    options: ConnectionOptions,
) -> CommandOutput:
    stdout: list[bytes] = []
    stderr: list[bytes] = []
    while True:
        if time.monotonic() > deadline:
            raise ConnectorTimeoutError(
                f"PowerShell on {endpoint} did not finish in {options.read_timeout_s:g} s"
            )
        try:
            out, err, exit_code, done = protocol.get_command_output_raw(shell_id, command_id)
        except WinRMOperationTimeoutError:
            continue  # no output yet: WinRM's way of saying "still running"
        stdout.append(out)
        stderr.append(err)
        if done:
            return CommandOutput(b"".join(stdout), b"".join(stderr), exit_code)


def _cleanup(protocol: Protocol, shell_id: str, command_id: str) -> None:
    try:
        protocol.cleanup_command(shell_id, command_id)
    except Exception as exc:  # the output is complete; ending the command is best effort
        logger.debug("WinRM signal failed: %s", type(exc).__name__)


def _close(protocol: Protocol, shell_id: str) -> None:
    try:
        protocol.close_shell(shell_id)
    except Exception as exc:  # the shell expires on the server anyway
        logger.debug("WinRM shell delete failed: %s", type(exc).__name__)


def error_records(stderr: bytes) -> list[str]:
    """The error messages on PowerShell's error stream (text or CLIXML); progress is ignored."""
    text = stderr.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    if not stderr.lstrip().startswith(_CLIXML_PREFIX):
        return [" ".join(text.split())]
    body = text.split("\n", 1)[1] if "\n" in text else ""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return [" ".join(text.split())]
    messages: list[str] = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "S" and element.get("S") == "Error" and element.text:
            decoded = _CLIXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), element.text)
            if decoded.strip():
                messages.append(" ".join(decoded.split()))
    return messages


def _warn_about_weak_transport(
    endpoint: Endpoint, options: ConnectionOptions, transport: str
) -> None:
    if endpoint.scheme == "http" and transport == "basic":
        logger.warning(
            "WinRM %s uses basic auth over plain http: the password crosses the network readable",
            endpoint,
        )
    elif endpoint.scheme == "https" and options.insecure:
        logger.warning("TLS certificate verification is disabled for WinRM %s", endpoint)


def _translate(
    exc: Exception, endpoint: Endpoint, options: ConnectionOptions, transport: str
) -> ConnectorError | None:
    """Map one exception to a connector error, or None to let a programming error surface."""
    error: ConnectorError
    user = options.username or "(none)"
    if isinstance(exc, AuthenticationError):
        error = InvalidLoginError(
            f"{endpoint} rejected the login of user '{user}' ({transport}): "
            "wrong user name or password, or the account may not use WinRM"
        )
    elif isinstance(exc, WSManFaultError):
        if exc.wsman_fault_code == _ACCESS_DENIED or exc.code == 401:
            error = InvalidLoginError(
                f"{endpoint} accepted user '{user}' but denied it a shell: "
                "add it to the Remote Management Users group"
            )
        else:
            error = UnexpectedResponseError(
                f"WinRM on {endpoint} refused the command: {exc.reason}"
            )
    elif isinstance(exc, WinRMTransportError):
        error = UnexpectedResponseError(
            f"{endpoint} answered HTTP {exc.code} at {endpoint.path}: is it a WinRM listener?"
        )
    elif isinstance(exc, WinRMError) and "not installed" in str(exc):
        error = ConnectorError(
            f"the {transport} transport needs an extra package: pip install 'pywinrm[{transport}]'"
        )
    elif isinstance(exc, WinRMError):
        error = ConnectorError(f"WinRM to {endpoint}: {exc}")
    elif isinstance(exc, requests.exceptions.SSLError):
        verification = _find(exc, ssl.SSLCertVerificationError)
        if isinstance(verification, ssl.SSLCertVerificationError):
            reason = verification.verify_message or verification.reason or "verification failed"
            error = UntrustedCertificateError(
                f"TLS certificate of {endpoint} is not trusted ({reason}); "
                "give the integration a CA file, or enable insecure mode explicitly"
            )
        else:
            error = CannotConnectError(
                f"TLS handshake with {endpoint} failed: is it an https listener (port 5986)?"
            )
    elif isinstance(exc, requests.exceptions.Timeout):
        error = ConnectorTimeoutError(
            f"{endpoint} did not answer in time (timeout {options.read_timeout_s:g} s)"
        )
    elif isinstance(exc, requests.exceptions.ConnectionError):
        error = CannotConnectError(f"cannot connect to {endpoint}: {_connection_reason(exc)}")
    elif isinstance(exc, requests.exceptions.RequestException):
        error = CannotConnectError(f"cannot talk to {endpoint}: {type(exc).__name__}")
    elif isinstance(exc, ElementTree.ParseError | StopIteration | AssertionError | KeyError):
        # pywinrm parses replies with next(...) and assert; a wrong reply surfaces as these.
        error = UnexpectedResponseError(f"{endpoint} did not answer like a WinRM service")
    else:
        return None
    return type(error)(clean_message(str(error), options.password))


def _find(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of ``kind`` in ``exc``'s causes, contexts and wrapped reasons."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        stack.extend((current.__cause__, current.__context__, getattr(current, "reason", None)))
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return None


def _connection_reason(exc: BaseException) -> str:
    if _find(exc, socket.gaierror) is not None or "NameResolution" in repr(exc):
        return "the host name does not resolve"
    if _find(exc, ConnectionRefusedError) is not None or "refused" in str(exc).lower():
        return "connection refused (is WinRM listening on this port?)"
    if _find(exc, ConnectionResetError) is not None or "reset" in str(exc).lower():
        return "the connection was reset"
    os_error = _find(exc, OSError)
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror
    return "the connection failed"
