"""Control characters in text collected from sources never break an export.

A guest hostname with an ESC in it comes from the source through the real sync
engine; openpyxl refuses such characters, so the workbook writes each as U+FFFD
(tab and line breaks stay: Hyper-V notes end lines with CR LF).
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync
from tests.api.fixtures import Api
from tests.inventory.history_estate import StaticConnector, estate, vm

# VM field -> collected text, the vInfo header it is exported under, and how it is shown.
COLLECTED = {
    "name": ("vm\x1b[2J[bold]x\x9b", "VM", "vm\ufffd[2J[bold]x\ufffd"),
    "guest_hostname": ("host\x1b[31m.corp\x00", "DNS Name", "host\ufffd[31m.corp\ufffd"),
    "notes": ("line 1\r\nline\t2\x07\x7f", "Annotation", "line 1\r\nline\t2\ufffd\ufffd"),
}


def sync_control_characters(db: Database, box: SecretBox) -> None:
    """One vCenter integration whose VM vm-1 carries control characters in several fields."""
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    fields = {field: text for field, (text, _, _) in COLLECTED.items()}
    if db.engine.dialect.name == "postgresql":  # PostgreSQL text cannot hold NUL
        fields["guest_hostname"] = fields["guest_hostname"].replace("\x00", "\x01")
    assert run_sync(db, integration_id, StaticConnector(estate([vm(1, **fields), vm(2)]))).succeeded


def vinfo_values(workbook: Any) -> dict[str, Any]:
    rows = list(workbook["vInfo"].iter_rows(values_only=True))
    headers = list(rows[0])
    (row,) = [r for r in rows[1:] if r[headers.index("VM")] != "vm2"]
    return dict(zip(headers, row, strict=True))


def test_the_workbook_download_shows_control_characters_as_replacement_characters(
    api: Api,
) -> None:
    sync_control_characters(api.db, api.app.state.runtime.box)
    response = api.client.get("/api/v1/export.xlsx", headers=api.headers("operator"))
    assert response.status_code == 200, response.text
    values = vinfo_values(openpyxl.load_workbook(io.BytesIO(response.content)))
    for _, header, shown in COLLECTED.values():
        assert values[header] == shown, header
