"""``iroa integration add`` and ``update``: what they refuse, in one line (no peer needed)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from iroa.audit.service import list_entries
from iroa.config import Settings
from iroa.crypto import SecretBox, load_secret_key
from iroa.db.engine import Database
from iroa.integrations.monitoring import resolve_settings
from iroa.integrations.service import get_integration, list_integrations
from tests.cli.conftest import Result
from tests.peers.certs import generate_certs

URL_SECRET = "url-s3cret-42"


def one_line(result: Result) -> str:
    assert result.code == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def secret_of(encrypted: str, tmp_path: Path) -> str:
    """The stored secret, decrypted with the key the commands used (in the data directory)."""
    return SecretBox(load_secret_key(Settings(data_dir=tmp_path / "data"))).decrypt(encrypted)


def add(
    run_iroa: Callable[..., Result], name: str, url: str, *extra: str, stdin: str = ""
) -> Result:
    return run_iroa(
        "integration",
        "add",
        "vcenter",
        name,
        "--url",
        url,
        "--username",
        "reader",
        *extra,
        stdin=stdin,
    )


def test_update_moves_a_stored_password_only_when_given_it_again(
    run_iroa: Callable[..., Result], db: Database, tmp_path: Path
) -> None:
    added = add(run_iroa, "vc", "https://vc.example.com", "--password-stdin", stdin="first-pw\n")
    assert added.code == 0, added.stderr

    for flags in (
        ("--url", "https://collector.example"),
        ("--url", "https://vc.example.com:8443"),
        ("--insecure",),
        ("--ca-file", "/etc/ssl/certs/ca-certificates.crt"),
    ):
        refused = run_iroa("integration", "update", "vc", *flags)
        assert "needs the password again" in one_line(refused), flags
    assert get_integration(db, "vc").url == "https://vc.example.com"

    renamed = run_iroa("integration", "update", "vc", "--interval", "3600", "--username", "ro")
    assert renamed.code == 0, renamed.stderr
    assert renamed.stdout.strip() == "updated vcenter integration 'vc'"
    moved = run_iroa(
        "integration",
        "update",
        "vc",
        "--url",
        "https://collector.example",
        "--password-stdin",
        stdin="second-pw\n",
    )
    assert moved.code == 0, moved.stderr
    stored = get_integration(db, "vc")
    assert (stored.url, stored.username, stored.interval_seconds) == (
        "https://collector.example",
        "ro",
        3600,
    )
    assert stored.secret_encrypted is not None
    assert secret_of(stored.secret_encrypted, tmp_path) == "second-pw"
    assert "empty" in one_line(run_iroa("integration", "update", "vc", "--password-stdin"))
    assert "no integration named 'nope'" in one_line(
        run_iroa("integration", "update", "nope", "--interval", "0")
    )


def test_a_url_with_credentials_is_refused_without_repeating_them(
    run_iroa: Callable[..., Result], db: Database
) -> None:
    url = f"https://reader:{URL_SECRET}@vc.example.com"
    message = one_line(add(run_iroa, "vc", url))
    assert message == (
        "error: invalid URL: put credentials in username and password, not in the URL"
    )
    assert add(run_iroa, "vc", "https://vc.example.com").code == 0
    refused = run_iroa("integration", "update", "vc", "--url", url)
    assert "put credentials in username and password" in one_line(refused)
    assert URL_SECRET not in refused.stderr + refused.stdout


@pytest.mark.parametrize("kind", ["vcenter", "hyperv", "prometheus", "zabbix"])
def test_testing_with_a_ca_file_gone_since_it_was_added_says_so_in_one_line(
    run_iroa: Callable[..., Result], tmp_path: Path, kind: str
) -> None:
    ca_file = generate_certs(tmp_path / "certs").ca
    added = run_iroa(
        "integration",
        "add",
        kind,
        "src",
        "--url",
        "https://127.0.0.1:9",
        "--username",
        "reader",
        "--password-stdin",
        "--ca-file",
        str(ca_file),
        stdin="pw\n",
    )
    assert added.code == 0, added.stderr
    ca_file.unlink()
    message = one_line(run_iroa("integration", "test", "src"))
    assert message == f"error: cannot load CA file {ca_file}: No such file or directory"


def test_insecure_and_a_readable_password_over_http_are_warned_about_at_once(
    run_iroa: Callable[..., Result],
) -> None:
    insecure = add(run_iroa, "vc", "https://vc.example.com", "--insecure")
    assert insecure.code == 0, insecure.stderr
    assert insecure.stdout.strip() == "added vcenter integration 'vc'"
    assert insecure.stderr.strip() == (
        "warning: the TLS certificate of https://vc.example.com is not verified (insecure): "
        "anyone on the network path can pose as it and receive the password; "
        "give it a CA file instead"
    )
    verified = run_iroa("integration", "update", "vc", "--verify", "--password-stdin", stdin="p\n")
    assert verified.code == 0 and verified.stderr == ""
    again = run_iroa("integration", "update", "vc", "--insecure", "--password-stdin", stdin="p\n")
    assert again.code == 0 and "is not verified (insecure)" in again.stderr
    # Said once: an update that leaves the transport as it was does not say it again.
    interval = run_iroa("integration", "update", "vc", "--interval", "3600")
    assert interval.code == 0 and interval.stderr == "", interval.stderr

    def add_hyperv(name: str, *extra: str) -> Result:
        return run_iroa(
            "integration", "add", "hyperv", name, "--url", "http://hv.example.com:5985",
            "--username", "CORP\\reader", "--password-stdin", *extra, stdin="pw\n",
        )  # fmt: skip

    basic = add_hyperv("hv-basic", "--transport", "basic")
    assert basic.code == 0, basic.stderr
    assert basic.stderr.strip() == (
        "warning: http://hv.example.com:5985 is plain http: WinRM basic auth sends the "
        "password or token readable on the network; use https"
    )
    ntlm = add_hyperv("hv-ntlm")  # NTLM encrypts the WinRM messages itself
    assert ntlm.code == 0 and ntlm.stderr == ""
    plain = add(run_iroa, "vc-http", "http://vc.example.com", "--password-stdin", stdin="pw\n")
    assert plain.code == 0 and "http://vc.example.com is plain http" in plain.stderr
    no_secret = add(run_iroa, "vc-open", "http://vc2.example.com")
    assert no_secret.code == 0 and no_secret.stderr == ""


def test_kerberos_delegation_is_set_only_with_its_flag(
    run_iroa: Callable[..., Result], db: Database
) -> None:
    def add_hyperv(name: str, *extra: str) -> Result:
        return run_iroa(
            "integration", "add", "hyperv", name, "--url", "https://hv.corp.example.com",
            "--transport", "kerberos", *extra,
        )  # fmt: skip

    assert add_hyperv("hv1").code == 0
    assert add_hyperv("hv-cluster", "--kerberos-delegation").code == 0
    stored = {i.name: bool(i.options.get("kerberos_delegation")) for i in list_integrations(db)}
    assert stored == {"hv1": False, "hv-cluster": True}
    off = run_iroa("integration", "update", "hv-cluster", "--no-kerberos-delegation")
    assert off.code == 0, off.stderr
    assert not get_integration(db, "hv-cluster").options.get("kerberos_delegation")
    refused = add(run_iroa, "vc", "https://vc.example.com", "--kerberos-delegation")
    assert one_line(refused) == (
        "error: Kerberos delegation is for Hyper-V integrations with the kerberos transport"
    )


def test_update_takes_the_options_of_add_and_changes_only_those_given(
    run_iroa: Callable[..., Result], db: Database, tmp_path: Path
) -> None:
    def monitoring(name: str) -> dict[str, object]:
        return dict(get_integration(db, name).options["monitoring"])

    added = run_iroa(
        "integration", "add", "prometheus", "prom", "--url", "https://prom.example.com",
        "--label", "vm", "--join", "name", "--query", "cpu_pct=vm_cpu",
        "--history-hours", "1", "--history-step", "300",
    )  # fmt: skip
    assert added.code == 0, added.stderr
    before = monitoring("prom")

    label = run_iroa("integration", "update", "prom", "--label", "host")
    assert label.code == 0, label.stderr
    assert monitoring("prom") == {**before, "label": "host"}
    query = run_iroa("integration", "update", "prom", "--query", "memory_pct=vm_mem")
    assert query.code == 0, query.stderr
    assert monitoring("prom")["queries"] == {"cpu_pct": "vm_cpu", "memory_pct": "vm_mem"}
    more = run_iroa(
        "integration", "update", "prom", "--preset", "windows_exporter", "--history-hours", "2",
        "--history-step", "600", "--join", "hostname", "--interval", "600",
    )  # fmt: skip
    assert more.code == 0, more.stderr
    changed = monitoring("prom")
    assert (changed["preset"], changed["history_hours"], changed["join"]) == (
        "windows_exporter",
        2,
        "hostname",
    )
    assert get_integration(db, "prom").interval_seconds == 600

    # Refused in add's words, and nothing changes.
    kept = monitoring("prom")
    for flags in (
        ("--join", "mac"),
        ("--label", "9lives"),
        ("--query", "cpu_pct"),
        ("--query", "disk_pct=x"),
        ("--history-hours", "300", "--history-step", "300"),
        ("--preset", "snmp"),
    ):
        new_name = f"p{len(flags[1])}"
        refused_add = run_iroa(
            "integration", "add", "prometheus", new_name, "--url", "https://p.example.com", *flags
        )
        refused_update = run_iroa("integration", "update", "prom", *flags)
        assert one_line(refused_update) == one_line(refused_add), flags
    assert monitoring("prom") == kept
    assert [i.name for i in list_integrations(db)] == ["prom"]

    zabbix = run_iroa(
        "integration", "add", "zabbix", "zbx", "--url", "https://zbx.example.com",
        "--token-stdin", stdin="zbx-token-1\n",
    )  # fmt: skip
    assert zabbix.code == 0, zabbix.stderr
    matched = run_iroa("integration", "update", "zbx", "--match", "name,host")
    assert matched.code == 0, matched.stderr
    assert monitoring("zbx") == {"match": ["name", "host"]}
    token = run_iroa("integration", "update", "zbx", "--token-stdin", stdin="zbx-token-2\n")
    assert token.code == 0, token.stderr
    stored = get_integration(db, "zbx")
    assert stored.options["token"] is True and stored.secret_encrypted is not None
    assert secret_of(stored.secret_encrypted, tmp_path) == "zbx-token-2"

    # Where the default preset is in effect, one query changes and its other queries stay.
    plain = run_iroa("integration", "add", "prometheus", "prom2", "--url", "https://p2.example")
    assert plain.code == 0, plain.stderr
    one = run_iroa("integration", "update", "prom2", "--query", "cpu_pct=my_cpu")
    assert one.code == 0, one.stderr
    effective = resolve_settings("prometheus", monitoring("prom2"))
    assert effective["preset"] == "node_exporter" and effective["queries"]["cpu_pct"] == "my_cpu"
    assert set(effective["queries"]) == {
        "cpu_pct",
        "memory_pct",
        "disk_bytes_per_s",
        "net_bytes_per_s",
    }

    assert add(run_iroa, "vc", "https://vc.example.com").code == 0
    assert one_line(run_iroa("integration", "update", "vc", "--label", "x")) == (
        "error: vcenter integrations take no monitoring settings"
    )

    updates = list_entries(db, action="integration.update")
    assert [entry["actor"] for entry in updates] == ["cli"] * 6
    assert {entry["target_name"] for entry in updates} == {"prom", "prom2", "zbx"}
    label_entry = updates[-1]  # the oldest: --label host
    assert (
        label_entry["before"]["monitoring"]["label"],
        label_entry["after"]["monitoring"]["label"],
    ) == (
        "vm",
        "host",
    )
    assert "zbx-token-2" not in str(updates)
