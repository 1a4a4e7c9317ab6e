"""The row types of ``iroa.inventory.rows`` hold to what the reads return, key by key and
value by value, on both backends: a renamed column fails here and in type checking."""

from __future__ import annotations

import types
from datetime import datetime
from typing import Any, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

import pytest

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.findings.listing import object_detail
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.details import get_object
from iroa.inventory.listing import ListParams, list_page
from iroa.inventory.queries import LISTABLE, select_objects
from iroa.inventory.rows import DETAILS, ITEMS
from iroa.inventory.types import BY_PLURAL
from tests.api.inventory_estate import build_estate
from tests.inventory.events_estate import seed_events
from tests.inventory.history_estate import run_sequence


def keys_of(row_type: type[Any]) -> set[str]:
    return set(row_type.__required_keys__) | set(row_type.__optional_keys__)


def mismatches(value: Any, hint: Any, where: str) -> list[str]:
    """Where ``value`` does not have the type ``hint`` (a row type, or what one holds)."""
    if is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not a {hint.__name__}"]
        found: list[str] = []
        extra = set(value) - keys_of(hint)
        missing = set(hint.__required_keys__) - set(value)
        if extra or missing:
            found.append(f"{where}: extra keys {sorted(extra)}, missing {sorted(missing)}")
        hints = get_type_hints(hint)
        for key in set(value) & set(hints):
            found += mismatches(value[key], hints[key], f"{where}.{key}")
        return found
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [mismatches(value, option, where) for option in get_args(hint)]
        return [] if any(not found for found in options) else options[0]
    if hint is None or hint is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        (item,) = get_args(hint)
        return [m for i, v in enumerate(value) for m in mismatches(v, item, f"{where}[{i}]")]
    if origin is dict:
        return [] if isinstance(value, dict) else [f"{where}: {value!r} is not a dict"]
    if hint is datetime:
        ok = isinstance(value, datetime) and value.utcoffset() is not None
        return [] if ok else [f"{where}: {value!r} is not an aware datetime"]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not an int"]
    return [] if isinstance(value, hint) else [f"{where}: {value!r} is not a {hint.__name__}"]


@pytest.mark.parametrize("plural", sorted(ITEMS))
def test_item_types_name_the_columns_of_their_statements(plural: str) -> None:
    kind = BY_PLURAL[plural]
    selected = {column.name for column in select_objects(kind).selected_columns}
    placements = {"datastores", "networks"} if kind.placements else set()
    assert keys_of(ITEMS[plural]) == selected | placements


def test_every_listable_type_has_an_item_and_a_detail_type() -> None:
    assert set(LISTABLE) <= set(ITEMS)
    assert set(DETAILS) == set(LISTABLE)


@pytest.fixture
def estate(db: Database) -> Database:
    build_estate(db)
    return db


def test_list_items_and_details_are_their_types(estate: Database) -> None:
    checked_parts: set[str] = set()
    for plural in LISTABLE:
        page = list_page(estate, plural, ListParams(include_removed=True, limit=1000))
        assert page.items, plural
        for item in page.items:
            assert mismatches(item, ITEMS[plural], plural) == []
        for item in page.items:
            detail = get_object(estate, plural, item["id"])
            assert mismatches(detail, DETAILS[plural], f"{plural}/{item['id']}") == []
            checked_parts |= {key for key, value in (detail or {}).items() if value}
    # The estate fills every kind of relation, so nested rows were checked too.
    assert {"disks", "nics", "snapshots", "tags", "changes", "vms", "hosts", "clusters"} <= (
        checked_parts
    )


def test_a_detail_with_findings_is_its_type(estate: Database) -> None:
    vm = list_page(estate, "vms", ListParams(limit=1)).items[0]
    detail = object_detail(estate, "vms", vm["id"])
    assert detail is not None and "findings" in detail
    assert mismatches(detail, DETAILS["vms"], "vm") == []


def test_optional_detail_keys_are_only_those_a_reader_adds() -> None:
    for detail_type in DETAILS.values():
        assert set(detail_type.__optional_keys__) == {"findings", "monitoring"}
        hints = get_type_hints(detail_type, include_extras=True)
        assert all(get_origin(hints[key]) is NotRequired for key in ("findings", "monitoring"))


def test_mismatches_sees_a_wrong_value() -> None:
    row_type = ITEMS["datacenters"]
    good = {
        "id": 1,
        "integration": "vc1",
        "platform": "vcenter",
        "external_id": "datacenter-1",
        "name": "DC",
        "first_seen_at": datetime.now().astimezone(),
        "last_seen_at": None,
        "removed_at": None,
    }
    assert mismatches(good, row_type, "dc") == []
    assert mismatches({**good, "first_seen_at": "2026-01-01T00:00:00+00:00"}, row_type, "dc")
    assert mismatches({**good, "id": True}, row_type, "dc")
    assert mismatches({**good, "renamed": 1}, row_type, "dc")
    del good["name"]
    assert mismatches(good, row_type, "dc")


def test_a_detail_with_events_and_actors_is_its_type(db: Database, box: SecretBox) -> None:
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "vc1", "https://vc1")).id
    seed_events(db, integration_id, run_sequence(db, integration_id))
    vm = list_page(db, "vms", ListParams(q="vm0-final")).items[0]
    detail = get_object(db, "vms", vm["id"])
    assert detail is not None and detail["events"] and detail["changes"]
    assert any(change["actor"] for change in detail["changes"])
    assert mismatches(detail, DETAILS["vms"], "vm") == []
