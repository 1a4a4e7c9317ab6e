"""What IROA says keeps no URL credentials and no secret (pure, no database)."""

from __future__ import annotations

import pytest

from iroa.redaction import clean_message, without_userinfo


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://reader:pa55word@vc.example.com/sdk", "https://vc.example.com/sdk"),
        ("https://reader@vc.example.com", "https://vc.example.com"),
        ("https://reader:p@ss:w@rd@vc.example.com:8443", "https://vc.example.com:8443"),
        ("http://[::1]:9090", "http://[::1]:9090"),
        ("https://vc.example.com/a@b", "https://vc.example.com/a@b"),
        ("http://[::1", "http://[::1"),
    ],
)
def test_a_url_is_shown_without_its_userinfo(url: str, shown: str) -> None:
    assert without_userinfo(url) == shown


def test_a_message_loses_url_credentials_and_the_secrets_it_is_given() -> None:
    message = (
        "cannot connect to https://admin:hunter22@prom.example.com:9090/api:\n"
        "  server said 'token tok-3141 rejected' (tok%2F3141 too)"
    )
    cleaned = clean_message(message, "tok-3141", None, "tok/3141")
    assert cleaned == (
        "cannot connect to https://prom.example.com:9090/api: "
        "server said 'token *** rejected' (*** too)"
    )


def test_short_secrets_are_left_and_long_messages_cut() -> None:
    # A secret of a few characters would blank out ordinary words; none is built into a message.
    assert clean_message("the host is down", "is") == "the host is down"
    long = clean_message("x" * 1000)
    assert len(long) == 300 and long.endswith("…")
