"""The pure decisions of a sync: diffing and the mass-removal safeguard."""

from __future__ import annotations

import pytest

from iroa.sync.reconcile import (
    DuplicateExternalIdError,
    Plan,
    Safeguard,
    StoredRow,
    hold_reason,
    plan_type,
)

FIELDS = ("name", "num_cpu")


def test_plan_inserts_updates_removes_and_leaves_unchanged_rows() -> None:
    stored = {
        "vm-1": StoredRow(1, ("a", 1), removed=False),
        "vm-2": StoredRow(2, ("b", 2), removed=False),
        "vm-3": StoredRow(3, ("c", 3), removed=False),
    }
    plan = plan_type(FIELDS, stored, [("vm-1", ("a", 1)), ("vm-2", ("b2", 2)), ("vm-4", ("d", 4))])
    assert plan.inserts == [("vm-4", ("d", 4))]
    assert [(u.id, u.fields, u.revived) for u in plan.updates] == [
        (2, {"name": ["b", "b2"]}, False)
    ]
    assert [(i, e) for i, e, _ in plan.removals] == [(3, "vm-3")]
    assert (plan.added, plan.modified, plan.removed, plan.unchanged) == (1, 1, 1, 1)
    assert plan.present_before == 3


def test_removed_object_that_returns_is_revived_with_same_id() -> None:
    stored = {"vm-1": StoredRow(7, ("a", 1), removed=True)}
    plan = plan_type(FIELDS, stored, [("vm-1", ("a", 2))])
    assert plan.inserts == []
    (update,) = plan.updates
    assert (update.id, update.revived, update.fields) == (7, True, {"num_cpu": [1, 2]})
    assert (plan.added, plan.modified) == (1, 0)


def test_a_change_of_volatile_fields_alone_is_a_quiet_rewrite() -> None:
    fields = ("name", "size_bytes")
    stored = {
        "s-1": StoredRow(1, ("a", 10), removed=False),
        "s-2": StoredRow(2, ("b", 20), removed=False),
        "s-3": StoredRow(3, ("c", 30), removed=True),
    }
    incoming = [("s-1", ("a", 11)), ("s-2", ("b2", 21)), ("s-3", ("c", 31))]
    plan = plan_type(fields, stored, incoming, frozenset({"size_bytes"}))
    assert [(u.id, u.values, u.fields) for u in plan.quiet] == [(1, ("a", 11), {})]
    # A tracked change, or a return, is a change; the volatile field is not in its fields.
    assert [(u.id, u.fields, u.revived) for u in plan.updates] == [
        (2, {"name": ["b", "b2"]}, False),
        (3, {}, True),
    ]
    assert (plan.added, plan.modified, plan.writes) == (1, 1, 3)


def test_already_removed_rows_are_not_removed_again() -> None:
    stored = {"vm-1": StoredRow(1, ("a", 1), removed=True)}
    assert plan_type(FIELDS, stored, []).removals == []


def test_duplicate_external_ids_are_refused() -> None:
    with pytest.raises(DuplicateExternalIdError):
        plan_type(FIELDS, {}, [("vm-1", ("a", 1)), ("vm-1", ("a", 1))])


def _plan(present: int, removed: int, added: int = 0) -> Plan:
    stored = {f"o-{i}": StoredRow(i, (str(i), 1), removed=False) for i in range(present)}
    incoming = [(f"o-{i}", (str(i), 1)) for i in range(removed, present)]
    incoming += [(f"n-{i}", (str(i), 1)) for i in range(added)]
    return plan_type(FIELDS, stored, incoming)


def test_safeguard_holds_a_snapshot_that_removes_everything() -> None:
    plans = {"vms": _plan(3, 3), "hosts": _plan(1, 1)}
    assert "none of the 4 objects" in (hold_reason(plans, ["vms", "hosts"], Safeguard()) or "")


def test_safeguard_holds_more_than_the_share_of_a_type() -> None:
    plans = {"vms": _plan(20, 11), "hosts": _plan(2, 0)}
    reason = hold_reason(plans, ["vms", "hosts"], Safeguard(share=0.5, min_objects=10))
    assert reason is not None and "11 of 20 vms" in reason


def test_safeguard_allows_half_and_small_types() -> None:
    plans = {"vms": _plan(20, 10), "hosts": _plan(4, 3)}
    assert hold_reason(plans, ["vms", "hosts"], Safeguard(share=0.5, min_objects=10)) is None


def test_safeguard_ignores_first_sync_and_types_not_guarded() -> None:
    plans = {"vms": _plan(0, 0, added=5), "vm_disks": _plan(30, 30)}
    assert hold_reason(plans, ["vms"], Safeguard()) is None
