"""URL parsing and TLS settings of the session client; talking to servers is in test_errors."""

from __future__ import annotations

import ssl

import pytest

from iroa.connectors.base import CannotConnectError, ConnectionOptions, UntrustedCertificateError
from iroa.connectors.vcenter.client import Endpoint, build_ssl_context, parse_url


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("https://vcenter.example.com", Endpoint("https", "vcenter.example.com", 443, "/sdk")),
        ("https://vcenter.example.com/", Endpoint("https", "vcenter.example.com", 443, "/sdk")),
        ("https://VC.example.com:8443/sdk", Endpoint("https", "vc.example.com", 8443, "/sdk")),
        ("HTTP://127.0.0.1:8989", Endpoint("http", "127.0.0.1", 8989, "/sdk")),
        ("https://[::1]:9443", Endpoint("https", "::1", 9443, "/sdk")),
        (
            " https://proxy.example.com/vc/sdk/ ",
            Endpoint("https", "proxy.example.com", 443, "/vc/sdk"),
        ),
    ],
)
def test_parse_url(url, endpoint):
    assert parse_url(url) == endpoint


def test_endpoint_text():
    assert str(Endpoint("https", "::1", 443, "/sdk")) == "[::1]:443"
    assert str(Endpoint("https", "vc.example.com", 443, "/sdk")) == "vc.example.com:443"
    assert Endpoint("https", "::1", 5986, "/wsman").url == "https://[::1]:5986/wsman"


@pytest.mark.parametrize(
    "url",
    [
        "vcenter.example.com",
        "ftp://vcenter.example.com",
        "https://",
        "https://vc.example.com:99999",
        "https://vc.example.com/sdk?x=1",
    ],
)
def test_invalid_urls(url):
    with pytest.raises(CannotConnectError, match=r"^invalid vCenter URL"):
        parse_url(url)


def test_credentials_in_the_url_are_refused_without_echoing_them():
    with pytest.raises(CannotConnectError) as caught:
        parse_url("https://admin:hunter2-secret@vc.example.com")

    assert "hunter2-secret" not in str(caught.value)
    assert "admin" not in str(caught.value)


def test_tls_verifies_by_default():
    context = build_ssl_context(ConnectionOptions(url="https://vc.example.com"))

    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_insecure_mode_skips_verification():
    context = build_ssl_context(ConnectionOptions(url="https://vc.example.com", insecure=True))

    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False


def test_missing_ca_file_is_a_certificate_error(tmp_path):
    missing = tmp_path / "nope.pem"

    with pytest.raises(UntrustedCertificateError, match="cannot load CA file"):
        build_ssl_context(ConnectionOptions(url="https://vc.example.com", ca_file=str(missing)))


def test_garbage_ca_file_is_a_certificate_error(tmp_path):
    garbage = tmp_path / "ca.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")

    with pytest.raises(UntrustedCertificateError, match="cannot load CA file"):
        build_ssl_context(ConnectionOptions(url="https://vc.example.com", ca_file=str(garbage)))
