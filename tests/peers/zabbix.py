"""A real Zabbix 6.0 (Debian's packages): the PHP frontend under ``php -S`` and zabbix_server.

The database is made once per machine as a PostgreSQL template from the shipped
schema/images/data SQL (~6 s); each session clones it (~1 s). The frontend reads
only /etc/zabbix/zabbix.conf.php, so that file is written once to take its
settings from the environment: every session's ``php -S`` points at its own
database. zabbix_server runs with its own config, pid, log, socket dir and
trapper port (for problems raised through ``zabbix_utils.Sender``).
"""

from __future__ import annotations

import fcntl
import gzip
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from tests.peers.prometheus import free_port

USERNAME = "Admin"
PASSWORD = "zabbix"
SQL_DIR = Path("/usr/share/zabbix-server-pgsql")
FRONTEND_DIR = Path("/usr/share/zabbix")
FRONTEND_CONF = Path("/etc/zabbix/zabbix.conf.php")
TEMPLATE_DB = "iroa_zabbix_template"
PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
INSTALL_HINT = (
    "run tests/peers/install.sh as root (installs zabbix-server-pgsql zabbix-frontend-php "
    "php-cli php-pgsql php-cgi)"
)
FRONTEND_CONF_TEXT = """<?php
// Written by IROA's tests (tests/peers/zabbix.py): settings come from the environment of
// each test session's `php -S`, so several sessions can run their own database.
$DB['TYPE'] = 'POSTGRESQL';
$DB['SERVER'] = getenv('IROA_ZABBIX_DB_HOST') ?: '127.0.0.1';
$DB['PORT'] = getenv('IROA_ZABBIX_DB_PORT') ?: '5432';
$DB['DATABASE'] = getenv('IROA_ZABBIX_DB') ?: 'zabbix';
$DB['USER'] = getenv('IROA_ZABBIX_DB_USER') ?: 'postgres';
$DB['PASSWORD'] = '';
$DB['SCHEMA'] = '';
$DB['ENCRYPTION'] = false;
$DB['KEY_FILE'] = '';
$DB['CERT_FILE'] = '';
$DB['CA_FILE'] = '';
$DB['VERIFY_HOST'] = false;
$DB['CIPHER_LIST'] = '';
$DB['VAULT_URL'] = '';
$DB['VAULT_DB_PATH'] = '';
$DB['VAULT_TOKEN'] = '';
$DB['DOUBLE_IEEE754'] = true;
$ZBX_SERVER = '127.0.0.1';
$ZBX_SERVER_PORT = getenv('IROA_ZABBIX_SERVER_PORT') ?: '10051';
$ZBX_SERVER_NAME = 'iroa-test';
$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
"""


class ZabbixMissing(RuntimeError):
    pass


def _check_installed() -> tuple[str, str]:
    php = shutil.which("php")
    server = shutil.which("zabbix_server") or (
        "/usr/sbin/zabbix_server" if Path("/usr/sbin/zabbix_server").exists() else None
    )
    if php is None or server is None or not (SQL_DIR / "schema.sql.gz").exists():
        raise ZabbixMissing(f"Zabbix 6.0 packages missing: {INSTALL_HINT}")
    if not (FRONTEND_DIR / "api_jsonrpc.php").exists():
        raise ZabbixMissing(f"the Zabbix frontend is missing: {INSTALL_HINT}")
    return php, server


def _ensure_template() -> None:
    """Create the template database once per machine (under a lock: sessions run in parallel)."""
    lock_path = Path(tempfile.gettempdir()) / "iroa-zabbix-template.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            row = conn.execute(
                "SELECT datallowconn, datistemplate FROM pg_database WHERE datname = %s",
                (TEMPLATE_DB,),
            ).fetchone()
            if row is not None and row[1]:
                return
            if row is not None:
                conn.execute(f'DROP DATABASE "{TEMPLATE_DB}"')
            building = f"{TEMPLATE_DB}_building"
            conn.execute(f'DROP DATABASE IF EXISTS "{building}"')
            conn.execute(f"CREATE DATABASE \"{building}\" ENCODING 'UTF8' TEMPLATE template0")
        with psycopg.connect(
            f"host=127.0.0.1 port=5432 user=postgres dbname={building}",
            autocommit=True,
            options="-c synchronous_commit=off",
        ) as conn:
            for name in ("schema.sql.gz", "images.sql.gz", "data.sql.gz"):
                with gzip.open(SQL_DIR / name, "rt", encoding="utf-8") as sql:
                    conn.execute(sql.read().encode())  # type: ignore[call-overload]
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{TEMPLATE_DB}"')
            conn.execute(f'ALTER DATABASE "{TEMPLATE_DB}" WITH IS_TEMPLATE true')


def _ensure_frontend_conf() -> None:
    if FRONTEND_CONF.exists() and FRONTEND_CONF.read_text() == FRONTEND_CONF_TEXT:
        return
    try:
        FRONTEND_CONF.write_text(FRONTEND_CONF_TEXT)
    except OSError as exc:
        raise ZabbixMissing(f"cannot write {FRONTEND_CONF}: {exc} (run as root)") from exc


@dataclass
class ZabbixPeer:
    """A session's Zabbix: its database, frontend (API) and server (trapper)."""

    workdir: Path
    database: str
    port: int = 0
    trapper_port: int = 0
    frontend: subprocess.Popen[bytes] | None = None
    server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ZabbixPeer:
        php, server = _check_installed()
        _ensure_template()
        _ensure_frontend_conf()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}" TEMPLATE "{TEMPLATE_DB}"')
        self.port, self.trapper_port = free_port(), _free_low_port()
        env = {
            **os.environ,
            "IROA_ZABBIX_DB": self.database,
            "IROA_ZABBIX_SERVER_PORT": str(self.trapper_port),
            "PHP_CLI_SERVER_WORKERS": "4",
        }
        self.frontend = subprocess.Popen(
            [php, "-S", f"127.0.0.1:{self.port}", "-t", str(FRONTEND_DIR)],
            env=env,
            stdout=open(self.workdir / "php.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        conf = self.workdir / "zabbix_server.conf"
        conf.write_text(
            "\n".join(
                [
                    f"ListenPort={self.trapper_port}",
                    "ListenIP=127.0.0.1",
                    f"PidFile={self.workdir / 'zabbix_server.pid'}",
                    f"LogFile={self.workdir / 'zabbix_server.log'}",
                    f"SocketDir={self.workdir}",
                    "DBHost=127.0.0.1",
                    f"DBName={self.database}",
                    "DBUser=postgres",
                    "DBPort=5432",
                    "AllowRoot=1",
                    "StartPollers=1",
                    "StartPollersUnreachable=1",
                    "StartTrappers=2",
                    "StartPingers=0",
                    "StartDiscoverers=0",
                    "StartHTTPPollers=0",
                    "StartAlerters=1",
                    "StartEscalators=1",
                    "StartTimers=1",
                    "StartDBSyncers=1",
                    "StartLLDProcessors=1",
                    "StartPreprocessors=1",
                    "CacheUpdateFrequency=1",
                    "CacheSize=16M",
                    "HistoryCacheSize=8M",
                    "HistoryIndexCacheSize=4M",
                    "TrendCacheSize=4M",
                    "ValueCacheSize=8M",
                    "Timeout=4",
                    "LogSlowQueries=0",
                    "",
                ]
            )
        )
        self.server = subprocess.Popen(
            [server, "--foreground", "-c", str(conf)],
            stdout=open(self.workdir / "zabbix_server.out", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.time() + timeout_s
        api_up = False
        while time.time() < deadline:
            for proc, name in ((self.frontend, "php -S"), (self.server, "zabbix_server")):
                if proc is not None and proc.poll() is not None:
                    log = self.workdir / ("php.log" if name == "php -S" else "zabbix_server.log")
                    text = log.read_text(errors="replace")[-800:] if log.exists() else ""
                    self.stop()
                    raise ZabbixMissing(f"{name} exited at start: {text}")
            if not api_up:
                try:
                    response = httpx.post(
                        f"{self.url}/api_jsonrpc.php",
                        json={"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": 1},
                        timeout=5.0,
                    )
                    api_up = response.status_code == 200 and "result" in response.json()
                except (httpx.HTTPError, ValueError):
                    api_up = False
            if api_up and self._trapper_listening():
                return
            time.sleep(0.25)
        self.stop()
        raise ZabbixMissing(f"Zabbix did not come up within {timeout_s:g} s")

    def _trapper_listening(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.trapper_port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        for proc in (self.server, self.frontend):
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            except ProcessLookupError:
                pass
        self.server = self.frontend = None
        try:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        except psycopg.Error:
            pass
        shutil.rmtree(self.workdir, ignore_errors=True)


def _free_low_port() -> int:
    """A free port zabbix_server accepts (its ListenPort must be 1024-32767)."""
    import random
    import socket

    for _ in range(200):
        port = random.randint(20000, 32767)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise ZabbixMissing("no free port for zabbix_server's trapper in 20000-32767")


def start_zabbix() -> ZabbixPeer:
    workdir = Path(tempfile.mkdtemp(prefix="iroa-zabbix-"))
    return ZabbixPeer(workdir, f"iroa_zabbix_{uuid.uuid4().hex[:10]}").start()
