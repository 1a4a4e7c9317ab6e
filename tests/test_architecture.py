"""Layers stay in their lanes: the core knows no HTTP/CLI, connectors know no database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "iroa"
WEB_AND_CLI = ("fastapi", "starlette", "jinja2", "typer", "click", "rich", "uvicorn")
VENDOR_SDKS = ("pyVmomi", "pyVim", "winrm", "zabbix_utils")


def imports_of(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (SRC / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
        found[str(path.relative_to(SRC))] = names
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path} imports {name}"
        for path, names in imports_of(package).items()
        for name in names
        if name.split(".")[0] in forbidden or name.startswith(forbidden)
    )


@pytest.mark.parametrize(
    "package",
    [
        "inventory",
        "sync",
        "integrations",
        "db",
        "connectors",
        "auth",
        "audit",
        "exports",
        "findings",
        "monitoring",
    ],
)
def test_core_does_not_import_web_or_cli(package: str) -> None:
    assert offenders(package, WEB_AND_CLI) == []


@pytest.mark.parametrize("package", ["inventory", "sync", "db", "findings", "monitoring"])
def test_core_does_not_import_vendor_sdks(package: str) -> None:
    assert offenders(package, VENDOR_SDKS) == []


def test_connectors_do_not_touch_the_database() -> None:
    assert (
        offenders("connectors", ("sqlalchemy", "alembic", "iroa.db", "iroa.inventory", "iroa.sync"))
        == []
    )


@pytest.mark.parametrize(("package", "other"), [("api", "web"), ("web", "api")])
def test_the_api_and_the_dashboard_stand_side_by_side(package: str, other: str) -> None:
    """What both need lives in ``iroa.http``; the app factory (``iroa.server``) joins them."""
    assert offenders(package, (f"iroa.{other}",)) == []
