"""VM search: a substring of the name, guest hostname, an IP address or the uuid, never a
match that spans two fields; on PostgreSQL it reads the one trigram index."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.filters import vm_search_text
from iroa.inventory.listing import ListParams, list_page
from iroa.inventory.models import Vm
from iroa.sync.engine import run_sync
from tests.inventory.history_estate import StaticConnector, estate, vm


@pytest.fixture
def searchable(db: Database, box: SecretBox) -> Database:
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc", "https://vc")).id
    vms = [
        vm(1, name="web-01", guest_hostname="frontend.example.com", uuid="4215aa00-1111"),
        vm(2, name="db-01", guest_hostname="pg.example.com", ip_addresses=("10.9.8.7",)),
        vm(3, name="cache", guest_hostname=None, uuid=None, ip_addresses=()),
    ]
    assert run_sync(db, integration_id, StaticConnector(estate(vms))).succeeded
    return db


def found(db: Database, q: str) -> list[str]:
    return sorted(item["name"] for item in list_page(db, "vms", ListParams(q=q)).items)


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("WEB-0", ["web-01"]),
        ("frontend.exa", ["web-01"]),
        ("10.9.8", ["db-01"]),
        ("15aa00-11", ["web-01"]),
        ("example.com", ["db-01", "web-01"]),
        ("cach", ["cache"]),
        ("01frontend", []),  # the end of the name and the start of the hostname
        ("db-01pg", []),
        ("50%", []),
    ],
)
def test_a_search_matches_a_substring_of_one_field(
    searchable: Database, q: str, names: list[str]
) -> None:
    assert found(searchable, q) == names


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_reads_the_vm_search_index(searchable: Database) -> None:
    table = Vm.__table__
    query = select(table.c.id).where(vm_search_text(table).ilike("%frontend%"))
    with searchable.engine.connect() as conn:
        # Left only bitmap scans, of an index whose expression the search's is: the
        # trigram index's, if they are the same.
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            conn.exec_driver_sql(f"SET enable_{scan} = off")
        sql = query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {sql}").scalars())
    assert "Bitmap Index Scan on ix_vms_search_text" in plan, plan
