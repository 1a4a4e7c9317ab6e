"""Prometheus and Zabbix errors carry no secret, whatever the server says (no database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iroa.connectors.base import CannotConnectError, ConnectionOptions, ConnectorError
from iroa.connectors.registry import check_connection
from tests.peers.echoing import echoing_server

SECRET = "s3cret-only-for-this-server"


@pytest.fixture
def echoing() -> Iterator[str]:
    with echoing_server() as url:
        yield url


@pytest.mark.parametrize("kind", ["prometheus", "zabbix"])
@pytest.mark.parametrize("token", [False, True], ids=["password", "token"])
def test_a_server_repeating_the_secret_does_not_put_it_in_the_error(
    echoing: str, kind: str, token: bool, caplog: pytest.LogCaptureFixture
) -> None:
    options = ConnectionOptions(
        url=echoing, username=None if token else "reader", password=SECRET, token=token
    )
    with pytest.raises(ConnectorError) as raised:
        check_connection(kind, options)
    message = str(raised.value)
    assert "***" in message, message  # the server did repeat it
    assert SECRET not in message and "\n" not in message
    assert SECRET not in caplog.text


@pytest.mark.parametrize("kind", ["prometheus", "zabbix"])
def test_credentials_in_a_stored_url_are_refused_before_connecting(
    echoing: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows stored before URLs with credentials were refused still never use or show them."""
    url = echoing.replace("http://", f"http://reader:{SECRET}@")
    options = ConnectionOptions(url=url, insecure=True)
    with pytest.raises(
        CannotConnectError, match="put credentials in username and secret"
    ) as raised:
        check_connection(kind, options)
    assert SECRET not in str(raised.value)
    assert SECRET not in caplog.text
