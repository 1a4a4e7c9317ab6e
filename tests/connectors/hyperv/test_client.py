"""The real pywinrm client against the loopback WinRM endpoint: success and every failure."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from iroa.connectors.base import (
    CannotConnectError,
    ConnectionOptions,
    ConnectorError,
    ConnectorTimeoutError,
    InvalidLoginError,
    UnexpectedResponseError,
    UntrustedCertificateError,
)
from iroa.connectors.hyperv.client import (
    PowerShellError,
    _protocol,
    compact_script,
    error_records,
    inventory_script,
    parse_url,
    run_inventory_script,
)
from iroa.connectors.hyperv.connector import HyperVConnector
from iroa.connectors.registry import create_connector
from tests.peers.winrm.server import (
    Reply,
    WinrmServer,
    decode_powershell,
    envelope_reply,
    powershell_error,
    recording,
)


def options_for(server: WinrmServer, **overrides: Any) -> ConnectionOptions:
    values: dict[str, Any] = {
        "url": server.url,
        "username": server.username,
        "password": server.password,
        "transport": "basic",
        "ca_file": str(server.ca_file) if server.ca_file else None,
        "connect_timeout_s": 1.0,
        "read_timeout_s": 2.0,
    }
    values.update(overrides)
    return ConnectionOptions(**values)


def one_line(error: BaseException, server: WinrmServer) -> str:
    message = str(error)
    assert "\n" not in message and server.password not in message
    return message


@pytest.mark.parametrize("tls", [False, True])
def test_runs_the_shipped_script_and_returns_its_output(winrm: Any, tls: bool) -> None:
    server = winrm("standalone", tls=tls)
    assert run_inventory_script(options_for(server)) == recording("standalone")
    (script,) = server.scripts
    assert script == compact_script(inventory_script())
    assert server.command_lines[0].startswith("powershell.exe -NoLogo -NoProfile -NonInteractive")
    # Output is streamed in several Receive responses; the shell is always deleted.
    assert server.actions[:2] == ["Create", "Command"] and server.actions[-2:] == [
        "Signal",
        "Delete",
    ]
    assert server.actions.count("Receive") == 1
    assert server.open_shells() == 0


def test_output_in_many_chunks_is_joined(winrm: Any) -> None:
    server = winrm(Reply(stdout=recording("cluster"), chunk_bytes=1000))
    assert run_inventory_script(options_for(server)) == recording("cluster")
    assert server.actions.count("Receive") == len(recording("cluster")) // 1000 + 1


def test_connector_check_and_collect(winrm: Any) -> None:
    server = winrm("cluster", tls=True)
    connector = create_connector("hyperv", options_for(server))
    assert isinstance(connector, HyperVConnector) and connector.kind == "hyperv"
    info = connector.check()
    assert (info.name, info.product) == ("HVCL01", "Microsoft Hyper-V failover cluster")
    assert info.object_counts["vms"] == 6
    snapshot = connector.collect(_Progress())
    assert len(snapshot.vms) == 6 and len(snapshot.hosts) == 2


class _Progress:
    def __init__(self) -> None:
        self.phases: list[tuple[str, int | None]] = []

    def start(self, phase: str, total: int | None = None) -> None:
        self.phases.append((phase, total))

    def advance(self, done: int = 1) -> None:
        return None


def test_wrong_password_is_an_invalid_login(winrm: Any) -> None:
    server = winrm("standalone")
    with pytest.raises(InvalidLoginError) as caught:
        run_inventory_script(options_for(server, password="Not-the-password"))
    message = one_line(caught.value, server)
    assert "rejected the login of user 'CORP\\svc-iroa' (basic)" in message
    assert "Not-the-password" not in message
    assert server.scripts == []


def test_an_account_without_winrm_rights_is_told_so(winrm: Any) -> None:
    server = winrm("standalone")
    server.deny_shell = True
    with pytest.raises(InvalidLoginError, match="Remote Management Users"):
        run_inventory_script(options_for(server))


def test_untrusted_certificate(winrm: Any) -> None:
    server = winrm("standalone", tls=True)
    with pytest.raises(UntrustedCertificateError) as caught:
        run_inventory_script(options_for(server, ca_file=None))
    assert "not trusted" in one_line(caught.value, server)
    assert server.scripts == []


def test_insecure_mode_skips_verification_with_a_warning(
    winrm: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = winrm("standalone", tls=True)
    with caplog.at_level(logging.WARNING):
        output = run_inventory_script(options_for(server, ca_file=None, insecure=True))
    assert output == recording("standalone")
    assert "verification is disabled" in caplog.text


def test_basic_over_http_warns(winrm: Any, caplog: pytest.LogCaptureFixture) -> None:
    server = winrm("standalone")
    with caplog.at_level(logging.WARNING):
        run_inventory_script(options_for(server))
    assert "plain http" in caplog.text and server.password not in caplog.text


def test_a_hung_script_times_out(winrm: Any) -> None:
    server = winrm(Reply(hang=True))
    started = time.monotonic()
    with pytest.raises(ConnectorTimeoutError, match="did not finish in 1 s"):
        run_inventory_script(options_for(server, read_timeout_s=1.0))
    assert time.monotonic() - started < 5
    assert server.actions.count("Receive") >= 1  # each ends in WinRM's OperationTimeout fault
    assert server.actions[-1] == "Delete"


def test_an_endpoint_that_stops_answering_times_out(winrm: Any) -> None:
    server = winrm(Reply(stall=True))
    with pytest.raises(ConnectorTimeoutError, match="did not answer in time") as caught:
        run_inventory_script(options_for(server))
    one_line(caught.value, server)


def test_powershell_error_record_and_exit_code(winrm: Any) -> None:
    message = (
        "Get-VM : You do not have the required permission to complete this task. Contact the "
        "administrator of the authorization policy for the computer 'HV-STD01'."
    )
    server = winrm(powershell_error(message))
    with pytest.raises(PowerShellError) as caught:
        run_inventory_script(options_for(server))
    text = one_line(caught.value, server)
    assert text.startswith(f"PowerShell on 127.0.0.1:{server.port} failed (exit code 1): Get-VM :")
    assert "required permission" in text and "Preparing modules" not in text


def test_error_stream_alone_fails_the_run(winrm: Any) -> None:
    server = winrm(
        Reply(stdout=recording("standalone"), stderr=b"Get-VHD : The system cannot find the file")
    )
    with pytest.raises(PowerShellError, match=r"exit code 0\): Get-VHD : The system"):
        run_inventory_script(options_for(server))


def test_progress_records_on_stderr_are_not_errors() -> None:
    progress_only = (
        b'#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        b'<Obj S="progress" RefId="0"><MS><I64 N="SourceId">1</I64></MS></Obj></Objs>'
    )
    assert error_records(progress_only) == []
    assert error_records(b"") == []
    assert error_records(b"plain\r\ntext") == ["plain text"]


@pytest.mark.parametrize(
    "stdout",
    [b"", b"Windows PowerShell\r\nCopyright (C) Microsoft", b'{"unexpected": true}', b"[]"],
)
def test_output_that_is_not_the_envelope_fails_the_collection(winrm: Any, stdout: bytes) -> None:
    server = winrm(Reply(stdout=stdout))
    with pytest.raises(UnexpectedResponseError, match="inventory script printed"):
        HyperVConnector(options_for(server)).collect(_Progress())


def test_a_web_server_instead_of_winrm(winrm: Any) -> None:
    server = winrm("standalone")
    server.not_winrm = True
    with pytest.raises(UnexpectedResponseError, match="did not answer like a WinRM service"):
        run_inventory_script(options_for(server))


def test_wrong_path_is_reported(winrm: Any) -> None:
    server = winrm("standalone")
    url = server.url.replace("/wsman", "/nope")
    with pytest.raises(UnexpectedResponseError, match="HTTP 404 at /nope"):
        run_inventory_script(options_for(server, url=url))


def test_unreachable_port(winrm: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = winrm("standalone")
    with pytest.raises(CannotConnectError, match="connection refused"):
        run_inventory_script(options_for(server, url=f"http://127.0.0.1:{port}/wsman"))


def test_https_url_to_an_http_listener(winrm: Any) -> None:
    server = winrm("standalone")
    url = server.url.replace("http://", "https://")
    with pytest.raises(CannotConnectError, match="TLS handshake"):
        run_inventory_script(options_for(server, url=url))


def test_unknown_host_name() -> None:
    options = ConnectionOptions(
        url="http://no-such-host.invalid", username="u", password="x", transport="basic"
    )
    with pytest.raises(CannotConnectError, match="does not resolve"):
        run_inventory_script(options)


def test_missing_kerberos_support_is_a_clear_error(winrm: Any) -> None:
    server = winrm("standalone")
    try:
        import winrm.transport as transport

        if transport.HAVE_KERBEROS:
            pytest.skip("pykerberos is installed here")
    except ImportError:
        pass
    with pytest.raises(ConnectorError, match=r"pip install 'pywinrm\[kerberos\]'"):
        run_inventory_script(options_for(server, transport="kerberos"))


@pytest.mark.parametrize(
    ("transport", "asked", "delegates"),
    [
        ("kerberos", False, False),
        ("kerberos", True, True),
        ("ntlm", True, False),
        ("credssp", False, False),
    ],
)
def test_kerberos_delegation_reaches_pywinrm_only_when_asked_for(
    transport: str, asked: bool, delegates: bool
) -> None:
    options = ConnectionOptions(
        url="https://hv01.corp.example.com",
        username="CORP\\reader",
        password="pw",
        transport=transport,
        kerberos_delegation=asked,
    )
    protocol = _protocol(parse_url(options.url), options, transport)
    assert protocol.transport.kerberos_delegation is delegates


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hv01.corp.example.com", "https://hv01.corp.example.com:5986/wsman"),
        ("http://hv01", "http://hv01:5985/wsman"),
        ("https://hv01:443", "https://hv01:443/wsman"),
        ("https://hv01/", "https://hv01:5986/wsman"),
        ("HTTPS://hv01:5986/wsman", "https://hv01:5986/wsman"),
        ("https://[fd00::1]", "https://[fd00::1]:5986/wsman"),
    ],
)
def test_url_defaults(url: str, expected: str) -> None:
    assert parse_url(url).url == expected


@pytest.mark.parametrize(
    "url", ["hv01", "ftp://hv01", "https://user:pw@hv01", "https://hv01:99999", "https://"]
)
def test_invalid_urls(url: str) -> None:
    with pytest.raises(CannotConnectError, match="invalid WinRM URL") as caught:
        parse_url(url)
    assert "pw" not in str(caught.value)


def test_the_endpoint_decodes_only_encoded_powershell() -> None:
    assert decode_powershell("powershell -e ZQBjAGgAbwAgADEA") == "echo 1"
    assert decode_powershell("powershell.exe -NoProfile -EncodedCommand ZQBjAGgAbwAgADEA") == (
        "echo 1"
    )
    assert decode_powershell("cmd /c dir") is None
    assert decode_powershell("powershell -EncodedCommand !!!") is None
    assert envelope_reply("standalone").stdout == recording("standalone")


def test_the_docs_show_the_script_that_runs() -> None:
    docs = Path(__file__).resolve().parents[3] / "docs" / "hyperv.md"
    assert inventory_script() in docs.read_text("utf-8")
