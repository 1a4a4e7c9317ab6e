"""``iroa user add``, ``iroa user unlock``, ``iroa token create`` and the first start of
``iroa serve``."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from iroa.audit.service import CLI_ACTOR, list_entries
from iroa.auth.service import (
    InvalidCredentialsError,
    LoginThrottledError,
    UserError,
    authenticate_password,
)
from iroa.auth.tokens import authenticate_token, create_token
from iroa.auth.users import create_user
from iroa.cli.main import ensure_first_admin
from iroa.config import Settings
from iroa.db.engine import Database
from tests.cli.conftest import Result
from tests.cli.test_cli import Iroa


@pytest.fixture
def iroa_sqlite(tmp_path: Path) -> Iroa:
    return Iroa(tmp_path / "data", f"sqlite:///{tmp_path / 'data' / 'iroa.db'}")


def test_user_add_and_token_create(run_iroa: Callable[..., Result], db: Database) -> None:
    added = run_iroa("user", "add", "ada", "--role", "operator")
    assert added.code == 0, added.stderr
    password = re.search(r"password \(shown once\): (\S+)", added.stdout)
    assert password is not None
    added = run_iroa(
        "user", "add", "bob", "--role", "viewer", "--password-stdin", stdin="bobs passphrase\n"
    )
    assert added.code == 0 and "bobs passphrase" not in added.stdout

    created = run_iroa("token", "create", "ada")
    assert created.code == 0
    token = created.stdout.strip()
    assert re.fullmatch(r"iroa_[A-Za-z0-9_-]{40,}", token)

    assert authenticate_password(db, "ada", password.group(1)).role == "operator"
    assert authenticate_password(db, "bob", "bobs passphrase").role == "viewer"
    principal = authenticate_token(db, token)
    assert principal is not None and principal.username == "ada"

    failures = [
        (run_iroa("user", "add", "ada", "--role", "viewer"), "already exists"),
        (run_iroa("token", "create", "nobody"), "no user named 'nobody'"),
        (
            run_iroa("user", "add", "dee", "--role", "viewer", "--password-stdin", stdin="x\n"),
            "at least 8",
        ),
        (run_iroa("user", "add", "eve", "--role", "viewer", "--password-stdin"), "empty"),
    ]
    for result, message in failures:
        assert result.code != 0
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], result.stderr
    assert run_iroa("user", "add", "eve", "--role", "root").code != 0


def test_user_unlock_lifts_the_login_throttle(
    run_iroa: Callable[..., Result], db: Database
) -> None:
    create_user(db, CLI_ACTOR, "ada", "viewer", "a long passphrase")
    for _ in range(5):
        with pytest.raises(InvalidCredentialsError):
            authenticate_password(db, "ada", "guess", client="192.0.2.1")
    with pytest.raises(LoginThrottledError):
        authenticate_password(db, "ada", "a long passphrase", client="192.0.2.1")

    unlocked = run_iroa("user", "unlock", "ada")
    assert unlocked.code == 0, unlocked.stderr
    assert "unlocked 'ada'" in unlocked.stdout
    assert authenticate_password(db, "ada", "a long passphrase", client="192.0.2.1").id
    assert [e["target_name"] for e in list_entries(db, action="user.unlock")] == ["ada"]
    assert "no failed logins" in run_iroa("user", "unlock", "ada").stdout
    unknown = run_iroa("user", "unlock", "nobody")
    assert unknown.code != 0 and "no user named 'nobody'" in unknown.stderr


def test_token_list_and_revoke_by_id_or_name(run_iroa: Callable[..., Result], db: Database) -> None:
    ada = create_user(db, CLI_ACTOR, "ada", "operator", "a long passphrase")
    bob = create_user(db, CLI_ACTOR, "bob", "viewer", "a long passphrase")
    laptop = create_token(db, CLI_ACTOR, ada.id, "laptop")
    ci = create_token(db, CLI_ACTOR, ada.id, "ci")
    bobs_ci = create_token(db, CLI_ACTOR, bob.id, "ci")

    listed = run_iroa("token", "list", "--json")
    assert listed.code == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["id"] for row in rows] == [bobs_ci.token.id, ci.token.id, laptop.token.id]
    assert all(laptop.secret not in str(row) for row in rows)
    assert [
        r["name"] for r in json.loads(run_iroa("token", "list", "--user", "bob", "--json").stdout)
    ] == ["ci"]
    table = run_iroa("token", "list")
    assert table.code == 0 and "laptop" in table.stdout and laptop.token.prefix in table.stdout

    by_id = run_iroa("token", "revoke", str(laptop.token.id))
    assert by_id.code == 0, by_id.stderr
    assert by_id.stdout.strip() == f"revoked token {laptop.token.id} ('laptop' of ada)"
    assert authenticate_token(db, laptop.secret) is None
    assert authenticate_token(db, ci.secret) is not None
    again = run_iroa("token", "revoke", str(laptop.token.id))
    assert again.code == 0 and "already revoked" in again.stdout
    # The name now fits no live token: revoked ones are not looked up by name.
    assert "no token with id or name 'laptop'" in one_line_error(
        run_iroa("token", "revoke", "laptop")
    )

    ambiguous = one_line_error(run_iroa("token", "revoke", "ci"))
    assert "2 live tokens are named 'ci'" in ambiguous
    assert f"{ci.token.id} (ada)" in ambiguous and f"{bobs_ci.token.id} (bob)" in ambiguous
    assert authenticate_token(db, ci.secret) is not None
    by_name = run_iroa("token", "revoke", "ci", "--user", "bob")
    assert by_name.code == 0, by_name.stderr
    assert authenticate_token(db, bobs_ci.secret) is None
    assert authenticate_token(db, ci.secret) is not None
    assert run_iroa("token", "revoke", "ci").code == 0  # now the only live one
    assert authenticate_token(db, ci.secret) is None

    for args, message in (
        (("token", "revoke", "nope"), "no token with id or name 'nope'"),
        (("token", "revoke", "99999999999999999999999"), "no token with id or name"),
        (("token", "revoke", "x\x00y"), "no token with id or name"),
        (("token", "revoke", str(laptop.token.id), "--user", "bob"), "of user 'bob'"),
        (("token", "list", "--user", "nobody"), "no user named 'nobody'"),
    ):
        assert message in one_line_error(run_iroa(*args)), args

    revoked = list_entries(db, action="token.revoke")
    assert [(e["target_id"], e["actor"]) for e in revoked] == [
        (ci.token.id, "cli"),
        (bobs_ci.token.id, "cli"),
        (laptop.token.id, "cli"),
    ]


def one_line_error(result: Result) -> str:
    assert result.code == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_once(iroa: Iroa, extra_env: dict[str, str]) -> str:
    """Start ``iroa serve``, wait until it answers, stop it, and return its first output line."""
    port = free_port()
    proc = subprocess.Popen(
        iroa.command("serve", "--port", str(port)),
        env={**iroa.env, **extra_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "iroa serve exited"
            assert time.monotonic() < deadline, "iroa serve did not answer"
            time.sleep(0.1)
    finally:
        proc.kill()
        stdout, _ = proc.communicate(timeout=10)
    return (stdout.splitlines() or [""])[0].strip()


def test_first_start_creates_an_admin_and_says_how_to_log_in(iroa_sqlite: Iroa) -> None:
    iroa_sqlite.env.pop("IROA_ADMIN_PASSWORD", None)
    line = serve_once(iroa_sqlite, {})
    match = re.fullmatch(r"created user 'admin' with password (\S+) \(shown once.*\)", line)
    assert match is not None, line
    db = Database(iroa_sqlite.env["IROA_DATABASE_URL"])
    try:
        assert authenticate_password(db, "admin", match.group(1)).role == "admin"
    finally:
        db.dispose()


def test_first_start_takes_the_admin_password_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    too_short = Settings(data_dir=tmp_path / "short", admin_password="short")
    with pytest.raises(UserError, match="IROA_ADMIN_PASSWORD: a password needs at least 8"):
        ensure_first_admin(too_short)
    settings = Settings(data_dir=tmp_path / "data", admin_password="from the environment")
    ensure_first_admin(settings)
    assert capsys.readouterr().out == (
        "created user 'admin' with the password from IROA_ADMIN_PASSWORD\n"
    )
    ensure_first_admin(settings)
    assert capsys.readouterr().out == ""
    db = Database(settings.resolved_database_url)
    try:
        assert authenticate_password(db, "admin", "from the environment").role == "admin"
    finally:
        db.dispose()
