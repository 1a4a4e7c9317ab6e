"""Pure decisions of a sync: what to insert, update and mark removed, and whether to hold.

Values are compared in *record space*: references are the referenced object's
external id, lists are tuples. Nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One existing row of a type, as the reconciler needs it."""

    id: int
    values: tuple[Any, ...]
    removed: bool


@dataclass(frozen=True, slots=True)
class Update:
    id: int
    external_id: str
    values: tuple[Any, ...]
    fields: dict[str, list[Any]]
    revived: bool


@dataclass(slots=True)
class Plan:
    """What one snapshot means for one object type."""

    inserts: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    quiet: list[Update] = field(default_factory=list)
    """Rows of which only volatile fields changed: rewritten, without a change row."""
    removals: list[tuple[int, str, tuple[Any, ...]]] = field(default_factory=list)
    unchanged: int = 0
    present_before: int = 0

    @property
    def added(self) -> int:
        return len(self.inserts) + sum(1 for u in self.updates if u.revived)

    @property
    def modified(self) -> int:
        return sum(1 for u in self.updates if not u.revived)

    @property
    def removed(self) -> int:
        return len(self.removals)

    @property
    def writes(self) -> int:
        return len(self.inserts) + len(self.updates) + len(self.quiet) + len(self.removals)


class DuplicateExternalIdError(ValueError):
    """A source reported two objects of one type with the same identity."""


def plan_type(
    fields: Sequence[str],
    stored: Mapping[str, StoredRow],
    incoming: Iterable[tuple[str, tuple[Any, ...]]],
    volatile: frozenset[str] = frozenset(),
) -> Plan:
    """Diff one type's stored rows against the incoming ``(external_id, values)`` pairs.

    A change of ``volatile`` fields alone (figures that move on their own, such as a
    snapshot's size) rewrites the row quietly: no modification, no change row; with
    other changes it is written, and left out of the change's fields.
    """
    incoming = list(incoming)
    seen = set(map(itemgetter(0), incoming))
    if len(seen) < len(incoming):
        _raise_duplicate(incoming)
    plan = Plan(present_before=len(stored) - sum(map(attrgetter("removed"), stored.values())))
    unchanged = 0
    for external_id, values in incoming:
        row = stored.get(external_id)
        if row is None:
            plan.inserts.append((external_id, values))
        elif row.values != values or row.removed:
            changed = {
                name: [old, new]
                for name, old, new in zip(fields, row.values, values, strict=True)
                if old != new and name not in volatile
            }
            update = Update(row.id, external_id, values, changed, row.removed)
            if changed or row.removed:
                plan.updates.append(update)
            else:
                plan.quiet.append(update)
        else:
            unchanged += 1
    plan.unchanged = unchanged
    if len(stored) > len(seen) - len(plan.inserts):  # some stored row is not in the snapshot
        plan.removals = [
            (row.id, external_id, row.values)
            for external_id, row in stored.items()
            if not row.removed and external_id not in seen
        ]
    return plan


def _raise_duplicate(incoming: Iterable[tuple[str, Any]]) -> None:
    seen: set[str] = set()
    for external_id, _ in incoming:
        if external_id in seen:
            raise DuplicateExternalIdError(f"the source reported {external_id!r} twice")
        seen.add(external_id)


class Weighed(Protocol):
    """What the safeguard weighs of one type: a :class:`Plan`, or a :class:`Weight` known
    before planning."""

    @property
    def present_before(self) -> int: ...

    @property
    def added(self) -> int: ...

    @property
    def removed(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Weight:
    present_before: int
    added: int
    removed: int


@dataclass(frozen=True, slots=True)
class Safeguard:
    """Limits on how much one run may remove without being forced."""

    share: float = 0.5
    min_objects: int = 10


def hold_reason(
    plans: Mapping[str, Weighed], guarded: Iterable[str], safeguard: Safeguard
) -> str | None:
    """Why this set of plans must be held, or None if it may be applied."""
    guarded = list(guarded)
    present = sum(plans[name].present_before for name in guarded)
    remaining = sum(
        plans[name].present_before - plans[name].removed + plans[name].added for name in guarded
    )
    if present > 0 and remaining == 0:
        return f"the source reported none of the {present} objects this integration had"
    for name in guarded:
        plan = plans[name]
        if plan.present_before < safeguard.min_objects or plan.removed == 0:
            continue
        share = plan.removed / plan.present_before
        if share > safeguard.share:
            return (
                f"it would remove {plan.removed} of {plan.present_before} {name} "
                f"({share:.0%}, more than the {safeguard.share:.0%} allowed)"
            )
    return None
