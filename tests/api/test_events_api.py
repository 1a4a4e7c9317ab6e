"""Who did it: ``GET /api/v1/events``, ``actor``/``event`` on changes and the ``actor`` filter,
and the ``events`` of VM and host details; events and actors are seeded in the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from iroa.history.models import Event
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.history import clear_snapshots
from tests.api.fixtures import Api
from tests.inventory.events_estate import SeededEvents, seed_events
from tests.inventory.history_estate import run_sequence

Seeded = tuple[Api, list[datetime], SeededEvents]


@pytest.fixture
def seeded(api: Api) -> Iterator[Seeded]:
    clear_snapshots()
    integration = add_integration(
        api.db, api.app.state.runtime.box, IntegrationInput("vcenter", "vc1", "https://vc1")
    )
    moments = run_sequence(api.db, integration.id)
    yield api, moments, seed_events(api.db, integration.id, moments)
    clear_snapshots()


def get(api: Api, path: str, **params: object) -> dict:
    response = api.client.get(f"/api/v1{path}", params=params, headers=api.headers("viewer"))
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


def refused(api: Api, path: str, **params: object) -> str:
    response = api.client.get(f"/api/v1{path}", params=params, headers=api.headers("viewer"))
    assert response.status_code == 422, response.text
    detail: str = response.json()["detail"]
    assert "\n" not in detail
    return detail


def vm_id(api: Api, name: str) -> int:
    found: int = get(api, "/vms", q=name)["items"][0]["id"]
    return found


def host_id(api: Api, name: str) -> int:
    found: int = get(api, "/hosts", q=name)["items"][0]["id"]
    return found


def test_events_newest_first_with_the_objects_inventory_ids(seeded: Seeded) -> None:
    api, _, seeded_events = seeded
    page = get(api, "/events")
    assert page["total"] == 7 and page["next_cursor"] is None
    keys = [e["key"] for e in page["items"]]
    assert keys[-1] == 100 and keys.index(102) < keys.index(101)
    off = next(e for e in page["items"] if e["key"] == 101)
    assert off == {
        "id": seeded_events.event_ids["off"],
        "integration": "vc1",
        "platform": "vcenter",
        "key": 101,
        "created_at": seeded_events.powered_off_at.isoformat(),
        "type": "VmPoweredOffEvent",
        "user": "alice",
        "object_type": "vm",
        "object_id": vm_id(api, "vm0-final"),
        "external_id": "vm-0",
        "object_name": "vm0-renamed",
        "message": "vm0-renamed on esx1b in DC is powered off",
        "chain_id": 101,
    }
    by_key = {e["key"]: e for e in page["items"]}
    assert (by_key[102]["object_type"], by_key[102]["object_id"]) == ("host", host_id(api, "esx1b"))
    # Objects IROA does not have: a switch (vim name lower-cased), another vCenter's VM,
    # a standalone host's compute resource; and an event about no object at all.
    assert (by_key[103]["object_type"], by_key[103]["object_id"]) == (
        "distributedvirtualswitch",
        None,
    )
    assert (by_key[104]["object_type"], by_key[104]["object_id"]) == ("vm", None)
    assert (by_key[105]["object_type"], by_key[105]["object_id"]) == ("cluster", None)
    assert by_key[105]["user"] is None
    assert (by_key[100]["object_type"], by_key[100]["external_id"]) == (None, None)


def test_event_filters_and_paging(seeded: Seeded) -> None:
    api, moments, _ = seeded

    def keys(**params: object) -> list[int]:
        return [e["key"] for e in get(api, "/events", **params)["items"]]

    assert sorted(keys(user="alice")) == [100, 101, 106]
    assert sorted(keys(type="VmPoweredOnEvent")) == [104, 106]
    assert sorted(keys(object_type="vm")) == [101, 104, 106]
    assert keys(object_type="vm", object_id=vm_id(api, "vm0-final")) == [101]
    assert keys(object_type="host", object_id=host_id(api, "esx1b")) == [102]
    assert keys(object_type="vm", object_id=999_999) == []
    assert sorted(keys(object_type="cluster")) == [105]
    assert sorted(keys(since=moments[2].isoformat())) == [103, 104, 105, 106]
    assert sorted(keys(since=moments[2].isoformat(), until=moments[3].isoformat())) == [103, 104]
    assert keys(integration="other") == []
    assert len(keys(integration="vc1")) == 7
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = get(api, "/events", limit=2, **({"cursor": cursor} if cursor else {}))
        assert page["total"] == 7
        seen += [e["key"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == keys() and len(seen) == 7


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"object_type": "vm_disk"}, "object_type"),
        ({"object_id": 3}, "object_id needs object_type"),
        ({"cursor": "nonsense"}, "invalid cursor"),
        ({"user": "a\x00b"}, "NUL"),
        ({"limit": 0}, "limit"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_event_filters_answer_422(
    seeded: Seeded, params: dict[str, object], message: str
) -> None:
    api, _, _ = seeded
    assert message in refused(api, "/events", **params)


def test_changes_carry_actor_and_event_and_filter_by_actor(seeded: Seeded) -> None:
    api, _, seeded_events = seeded
    everything = get(api, "/changes", limit=1000)["items"]
    assert all("actor" in c and "event" in c for c in everything)
    explained = [c for c in everything if c["actor"] is not None]
    assert [(c["id"], c["actor"], c["event"]) for c in explained] == [
        (seeded_events.power_off_change_id, "alice", "VmPoweredOffEvent")
    ]
    assert all(c["event"] is None for c in everything if c["actor"] is None)
    by_alice = get(api, "/changes", actor="alice")
    assert by_alice["total"] == 1
    assert by_alice["items"][0]["fields"]["power_state"] == ["on", "off"]
    assert get(api, "/changes", actor="bob")["total"] == 0
    assert get(api, "/changes", actor="alice", action="added")["total"] == 0
    assert "NUL" in refused(api, "/changes", actor="\x00")


def test_vm_and_host_details_carry_their_events_and_actors(seeded: Seeded) -> None:
    api, _, seeded_events = seeded
    vm0 = get(api, f"/vms/{vm_id(api, 'vm0-final')}")
    assert [(e["key"], e["user"], e["object_id"]) for e in vm0["events"]] == [
        (101, "alice", vm0["id"])
    ]
    powered_off = next(c for c in vm0["changes"] if c["id"] == seeded_events.power_off_change_id)
    assert (powered_off["actor"], powered_off["event"]) == ("alice", "VmPoweredOffEvent")
    assert all(c["actor"] is None for c in vm0["changes"] if c is not powered_off)
    vm3 = get(api, f"/vms/{vm_id(api, 'vm3')}")
    assert [e["type"] for e in vm3["events"]] == ["VmPoweredOnEvent"]
    host = get(api, f"/hosts/{host_id(api, 'esx1b')}")
    assert [e["type"] for e in host["events"]] == ["EnteredMaintenanceModeEvent"]
    assert get(api, f"/hosts/{host_id(api, 'esx2')}")["events"] == []
    cluster = get(api, "/clusters")["items"][0]
    assert "events" not in get(api, f"/clusters/{cluster['id']}")


def test_events_need_a_viewer(seeded: Seeded) -> None:
    api, _, _ = seeded
    assert api.client.get("/api/v1/events").status_code == 401


def test_a_page_naming_many_objects_finds_each_in_the_inventory(seeded: Seeded) -> None:
    """More objects on one page than one statement may bind: found in chunks."""
    api, moments, _ = seeded
    integration_id = get(api, "/integrations")["items"][0]["id"]
    with api.db.write_session() as session:
        session.add_all(
            Event(
                integration_id=integration_id,
                event_key=1000 + i,
                created_at=moments[0],
                event_type="VmReconfiguredEvent",
                user_name="filler",
                object_type="VirtualMachine",
                object_external_id=f"aaa-{i:04d}",  # sorted before vm-0: it is in a later chunk
            )
            for i in range(950)
        )
    page = get(api, "/events", limit=1000)
    assert page["total"] == 957
    found = {e["external_id"]: e["object_id"] for e in page["items"] if e["object_type"] == "vm"}
    assert found["vm-0"] == vm_id(api, "vm0-final") and found["vm-3"] == vm_id(api, "vm3")
    assert found["aaa-0000"] is None and found["vm-99"] is None
