"""Who did it on the dashboard, on SQLite and PostgreSQL: "powered off by alice" in a VM's
timeline and header, "by …" nowhere without an actor, and the Events section of VM and
host pages; events and actors are seeded in the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, update

from iroa.crypto import SecretBox
from iroa.history.models import Change
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.history import clear_snapshots
from iroa.web.formatting import format_time
from tests.inventory.events_estate import SeededEvents, seed_events
from tests.inventory.history_estate import run_sequence
from tests.web.support import Web, log_in, start


@pytest.fixture
def seeded(db_url: str, tmp_path: Path, box: SecretBox) -> Iterator[tuple[Web, SeededEvents]]:
    clear_snapshots()
    for web in start(db_url, tmp_path, estate=False):
        integration_id = add_integration(
            web.db, box, IntegrationInput("vcenter", "vc1", "https://vc1")
        ).id
        seeded = seed_events(web.db, integration_id, run_sequence(web.db, integration_id))
        log_in(web.client, "viewer")
        yield web, seeded
    clear_snapshots()


def page_of(web: Web, plural: str, name: str) -> str:
    item = web.client.get(f"/api/v1/{plural}", params={"q": name}).json()["items"][0]
    response = web.client.get(f"/{plural}/{item['id']}")
    assert response.status_code == 200
    return response.text


def section(html: str, heading: str) -> str:
    found = re.search(rf"<h2>{heading}</h2>(.*?)</section>", html, re.S)
    assert found, heading
    return found.group(1)


def test_a_vm_powered_off_by_alice_says_so(seeded: tuple[Web, SeededEvents]) -> None:
    web, events = seeded
    html = page_of(web, "vms", "vm0-final")
    timeline = section(html, "Changes")
    assert '<span class="actor">powered off by alice</span>' in timeline
    assert "(VmPoweredOffEvent)" in timeline
    assert timeline.count('class="actor"') == 1  # the other changes name no one
    header = re.search(r'<p class="powered-by">(.*?)</p>', html, re.S)
    assert header is not None
    text = re.sub(r"<[^>]+>", "", header.group(1))
    assert text.startswith(f"Powered off by alice at {format_time(events.powered_off_at)}")
    table = section(html, "Events")
    assert "VmPoweredOffEvent" in table and "alice" in table
    assert "vm0-renamed on esx1b in DC is powered off" in table


def test_no_actor_no_who(seeded: tuple[Web, SeededEvents]) -> None:
    web, events = seeded
    vm3 = page_of(web, "vms", "vm3")
    assert 'class="actor"' not in vm3 and 'class="powered-by"' not in vm3
    assert "VmPoweredOnEvent" in section(vm3, "Events")  # vm3 is on: its events, no header
    assert "No vCenter events recorded" in section(page_of(web, "vms", "vm2"), "Events")
    with web.db.write_session() as session:
        session.execute(
            update(Change)
            .where(Change.id == events.power_off_change_id)
            .values(actor=None, event=None)
        )
    vm0 = page_of(web, "vms", "vm0-final")
    assert "powered off by" not in vm0.lower() and 'class="actor"' not in vm0


def test_host_page_lists_its_events(seeded: tuple[Web, SeededEvents]) -> None:
    web, _ = seeded
    table = section(page_of(web, "hosts", "esx1b"), "Events")
    assert "EnteredMaintenanceModeEvent" in table and "bob" in table
    assert "Host esx1b in DC has entered maintenance mode" in table
    assert "No vCenter events recorded" in section(page_of(web, "hosts", "esx2"), "Events")


def test_overview_says_who_changed_what(seeded: tuple[Web, SeededEvents]) -> None:
    web, _ = seeded
    html = web.client.get("/").text
    recent = html[html.index("Recent changes") :]
    assert '<span class="actor">powered off by alice</span>' in recent
    assert recent.count('class="actor"') == 1


def test_who_left_it_off_costs_one_statement(seeded: tuple[Web, SeededEvents]) -> None:
    web, _ = seeded

    def reads(name: str) -> int:
        item = web.client.get("/api/v1/vms", params={"q": name}).json()["items"][0]
        seen: list[str] = []

        def count(conn: object, cursor: object, statement: str, *args: object) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                seen.append(statement)

        event.listen(web.db.engine, "before_cursor_execute", count)
        try:
            assert web.client.get(f"/vms/{item['id']}").status_code == 200
        finally:
            event.remove(web.db.engine, "before_cursor_execute", count)
        return len(seen)

    assert reads("vm0-final") == reads("vm3") + 1  # vm0 is off, vm3 on
