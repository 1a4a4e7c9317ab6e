"""``iroa changes`` and ``iroa events``: the change feed with who did it, and vCenter events;
events and actors are seeded in the database."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.history import clear_snapshots
from tests.cli.test_cli import one_line_error
from tests.cli.test_cli_hyperv import InProcessIroa
from tests.inventory.events_estate import SeededEvents, seed_events
from tests.inventory.history_estate import run_sequence


@pytest.fixture
def seeded(db: Database, box: SecretBox) -> tuple[list[datetime], SeededEvents]:
    clear_snapshots()
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    moments = run_sequence(db, integration_id)
    return moments, seed_events(db, integration_id, moments)


@pytest.fixture
def iroa(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> InProcessIroa:
    return InProcessIroa(tmp_path / "data", db_url, monkeypatch, capsys)


def test_changes_show_who_and_filter(
    iroa: InProcessIroa, seeded: tuple[list[datetime], SeededEvents]
) -> None:
    moments, events = seeded
    by_alice = iroa.json("changes", "--actor", "alice")
    assert [(c["id"], c["actor"], c["event"]) for c in by_alice] == [
        (events.power_off_change_id, "alice", "VmPoweredOffEvent")
    ]
    table = iroa("changes", "--actor", "alice").stdout
    for heading in ("When", "Integration", "Type", "Name", "Action", "What changed", "Actor"):
        assert heading in table
    assert "vm0-renamed" in table and "power_state: on → off" in table
    assert "alice" in table and "VmPoweredOffEvent" in table
    everything = iroa.json("changes", "--limit", "1000")
    assert len(everything) > 1 and sum(1 for c in everything if c["actor"]) == 1
    second = iroa.json(
        "changes", "--since", moments[1].isoformat(), "--until", moments[2].isoformat()
    )
    assert second and all(moments[1].isoformat() <= c["changed_at"] for c in second)
    assert all(c["changed_at"] < moments[2].isoformat() for c in second)
    removed = iroa.json("changes", "--action", "removed", "--object-type", "vm")
    assert sorted(c["object_name"] for c in removed) == ["vm1", "vm2"]
    assert iroa.json("changes", "--integration", "other") == []
    short = iroa("changes", "--limit", "2").stdout
    assert f"showing the newest 2 of {len(everything)} changes" in short
    assert "No changes match." in iroa("changes", "--actor", "nobody").stdout


def test_events_list_and_filter(
    iroa: InProcessIroa, seeded: tuple[list[datetime], SeededEvents]
) -> None:
    moments, _ = seeded
    everything = iroa.json("events")
    assert [e["key"] for e in everything][-1] == 100 and len(everything) == 7
    off = next(e for e in everything if e["key"] == 101)
    assert (off["type"], off["user"], off["object_type"], off["object_name"]) == (
        "VmPoweredOffEvent",
        "alice",
        "vm",
        "vm0-renamed",
    )
    assert sorted(e["key"] for e in iroa.json("events", "--user", "alice")) == [100, 101, 106]
    assert sorted(e["key"] for e in iroa.json("events", "--type", "VmPoweredOnEvent")) == [104, 106]
    later = iroa.json("events", "--since", moments[2].isoformat())
    assert sorted(e["key"] for e in later) == [103, 104, 105, 106]
    assert len(iroa.json("events", "--integration", "vc1", "--limit", "3")) == 3
    table = iroa("events", "--user", "bob").stdout
    for text in ("When", "Type", "User", "Message", "EnteredMaintenanceModeEvent", "esx1b"):
        assert text in table
    assert "No events match." in iroa("events", "--user", "nobody").stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_bad_filters_are_one_line(
    iroa: InProcessIroa, seeded: tuple[list[datetime], SeededEvents]
) -> None:
    cases = [
        (["changes", "--since", "last week"], "since must be an ISO-8601 timestamp"),
        (["changes", "--until", "soon"], "until must be an ISO-8601 timestamp"),
        (["changes", "--object-type", "vmm"], "object_type"),
        (["events", "--since", "tomorrow"], "since must be an ISO-8601 timestamp"),
    ]
    for args, expected in cases:
        assert expected in one_line_error(iroa(*args, ok=False)), args
    assert iroa("changes", "--limit", "0", ok=False).returncode == 2
