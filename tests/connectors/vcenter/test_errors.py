"""Every way a connection fails ends in one connector error with a clean one-line message."""

from __future__ import annotations

import http.server
import logging
import socket

import pytest
from pyVmomi import vim

from iroa.connectors.base import (
    CannotConnectError,
    ConnectionOptions,
    ConnectorError,
    ConnectorTimeoutError,
    InvalidLoginError,
    NullProgress,
    UnexpectedResponseError,
    UntrustedCertificateError,
)
from iroa.connectors.vcenter import VCenterConnector
from iroa.connectors.vcenter.client import open_session
from iroa.connectors.vcenter.retrieval import list_objects
from tests.connectors.vcenter.support import options_for, session_count
from tests.peers import vsphere_ops
from tests.peers.loopback import loopback_server
from tests.peers.vcsim import Topology

SMALL = Topology(clusters=0, standalone_hosts=1, vms_per_host=1, portgroups=0)
CLIENT_LOGGER = "iroa.connectors.vcenter.client"


def check_fails(options: ConnectionOptions, error: type[ConnectorError]) -> str:
    """Run check(); return the message of the expected error after checking its form."""
    with pytest.raises(ConnectorError) as caught:
        VCenterConnector(options).check()
    assert type(caught.value) is error, repr(caught.value)
    message = str(caught.value)
    assert message and "\n" not in message and len(message) <= 300
    if options.password:
        assert options.password not in message
    return message


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        return None


class EverythingIsHtml(QuietHandler):
    def do_GET(self):
        body = b"<html><body>Welcome to nginx!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_wrong_password(vcsim):
    server = vcsim(SMALL)
    options = options_for(server, password="not-the-Password-42")

    message = check_fails(options, InvalidLoginError)

    assert "rejected the login" in message and server.username in message


def test_wrong_password_on_collect(vcsim):
    server = vcsim(SMALL)

    with pytest.raises(InvalidLoginError):
        VCenterConnector(options_for(server, password="nope-nope")).collect(NullProgress())


def test_unreachable_port():
    options = ConnectionOptions(
        url=f"https://127.0.0.1:{free_port()}", username="u", password="p4ss-word"
    )

    message = check_fails(options, CannotConnectError)

    assert "refused" in message.lower()


def test_unknown_host_name():
    options = ConnectionOptions(url="https://vcenter.invalid", username="u", password="p4ss-word")

    message = check_fails(options, CannotConnectError)

    assert "vcenter.invalid" in message


def test_untrusted_certificate_without_ca_file(vcsim):
    # 127.0.0.1 is where pyVmomi would skip verification if given no SSL context.
    server = vcsim(SMALL, tls=True)

    message = check_fails(options_for(server), UntrustedCertificateError)

    assert "not trusted" in message


def test_untrusted_certificate_on_localhost_name(vcsim):
    server = vcsim(SMALL, tls=True)
    options = options_for(server, url=f"https://localhost:{server.port}")

    check_fails(options, UntrustedCertificateError)


def test_trusted_with_the_ca_file(vcsim):
    server = vcsim(SMALL, tls=True)

    info = VCenterConnector(options_for(server, ca_file=str(server.ca_file))).check()

    assert info.object_counts["vms"] == SMALL.vm_count


def test_certificate_for_another_name_is_refused(vcsim):
    # The certificate names localhost and 127.0.0.1, not 127.0.0.2.
    server = vcsim(SMALL, tls=True, host="127.0.0.2")
    assert server.host == "127.0.0.2"

    message = check_fails(
        options_for(server, ca_file=str(server.ca_file)), UntrustedCertificateError
    )

    assert "127.0.0.2" in message


def test_insecure_mode_connects_and_warns_every_time(vcsim, caplog):
    server = vcsim(SMALL, tls=True, host="127.0.0.2")
    connector = VCenterConnector(options_for(server, insecure=True))

    with caplog.at_level(logging.WARNING, logger=CLIENT_LOGGER):
        connector.check()
        connector.collect(NullProgress())

    warnings = [
        r for r in caplog.records if r.name == CLIENT_LOGGER and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 2
    assert all("verification is disabled" in r.getMessage() for r in warnings)
    assert all(server.password not in r.getMessage() for r in caplog.records)


def test_verified_https_does_not_warn(vcsim, caplog):
    server = vcsim(SMALL, tls=True)

    with caplog.at_level(logging.WARNING, logger=CLIENT_LOGGER):
        VCenterConnector(options_for(server, ca_file=str(server.ca_file))).check()

    assert not [r for r in caplog.records if r.name == CLIENT_LOGGER]


def test_https_to_a_plain_http_port(vcsim):
    server = vcsim(SMALL)

    message = check_fails(
        options_for(server, url=f"https://127.0.0.1:{server.port}"), CannotConnectError
    )

    assert "TLS handshake" in message


def test_http_to_an_https_port(vcsim):
    server = vcsim(SMALL, tls=True)

    check_fails(options_for(server, url=f"http://127.0.0.1:{server.port}"), UnexpectedResponseError)


def test_http_server_that_is_not_vsphere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # SimpleHTTPRequestHandler serves the working directory

    with loopback_server(QuietHandler) as url:
        message = check_fails(
            ConnectionOptions(url=url, username="u", password="p4ss-word"), UnexpectedResponseError
        )

    assert "not a vSphere API" in message and "404" in message


def test_web_server_answering_html_everywhere():
    with loopback_server(EverythingIsHtml) as url:
        check_fails(
            ConnectionOptions(url=url, username="u", password="p4ss-word"), UnexpectedResponseError
        )


def test_server_that_never_answers():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel completes the handshake; nobody ever reads or writes
        port = silent.getsockname()[1]
        options = ConnectionOptions(
            url=f"http://127.0.0.1:{port}", connect_timeout_s=0.5, read_timeout_s=0.5
        )

        message = check_fails(options, ConnectorTimeoutError)

    assert "did not answer in time" in message


def test_errors_inside_a_session_are_translated_too(vcsim):
    server = vcsim(SMALL)

    with pytest.raises(CannotConnectError), open_session(options_for(server)) as session:
        server.kill()
        list_objects(session.content, vim.VirtualMachine)


def test_logged_out_after_an_error_inside_the_session(vcsim):
    server = vcsim(SMALL)
    si = vsphere_ops.connect(server)
    before = session_count(si)

    with pytest.raises(ZeroDivisionError), open_session(options_for(server)):
        assert session_count(si) == before + 1
        _ = 1 / 0  # a bug in our own code is not dressed up as a connector error

    assert session_count(si) == before
