"""The snapshot size rule on a seeded estate, through the real sync engine, on both backends;
the vHealth sheet lists the same."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from iroa.config import Settings, get_settings
from iroa.connectors.base import Snapshot, VmSnapshotRecord
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.findings.catalog import RULES_BY_ID, describe_conditions
from iroa.findings.rules import Thresholds
from iroa.findings.service import refresh_findings
from iroa.sync.policy import SyncPolicy
from tests.exports.test_health import open_findings, sheet_rows
from tests.findings.estate import GIB, _vm, vcenter_estate
from tests.findings.test_findings import add_integration, findings, sync

RULE = "snapshot_too_large"


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _snap(vm: str, n: int, gib: float | None) -> VmSnapshotRecord:
    size = None if gib is None else int(gib * GIB)
    return VmSnapshotRecord(f"{vm}:{n}", vm, f"s{n}", created_at=utcnow(), size_bytes=size)


def estate(*, grown: bool = True) -> Snapshot:
    """No other rule's snapshots; VMs whose snapshots hold 55 GiB (two), 49 GiB, an unknown
    size, and a template holding 80 GiB."""
    base = vcenter_estate(utcnow(), fixed=True)
    vms = [_vm("vm-big"), _vm("vm-near"), _vm("vm-unsized"), _vm("vm-gold", is_template=True)]
    snapshots = [
        _snap("vm-big", 1, 30),
        _snap("vm-big", 2, 25 if grown else 5),
        _snap("vm-near", 1, 49),
        _snap("vm-unsized", 1, None),
        _snap("vm-gold", 1, 80),
    ]
    return dataclasses.replace(base, vms=[*base.vms, *vms], vm_snapshots=snapshots)


def hits(db: Database, integration_id: int) -> dict[str | None, str]:
    return {f.object_name: f.message for f in findings(db, integration_id) if f.rule == RULE}


def test_vms_whose_snapshots_hold_more_than_the_limit_are_findings(db: Database) -> None:
    vc = add_integration(db, "vcenter", "vc")
    sync(db, vc, estate())

    assert hits(db, vc) == {"VM-BIG": "2 snapshots hold 55.0 GiB on disk: more than 50 GiB"}
    (finding,) = (f for f in findings(db, vc) if f.rule == RULE)
    assert (finding.severity, finding.object_type) == ("warning", "vm")

    sync(db, vc, estate(grown=False))  # a snapshot deleted, or consolidated
    assert hits(db, vc) == {}


def test_the_limit_comes_from_its_setting(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IROA_FINDINGS_SNAPSHOT_MAX_SIZE_GIB", "40")
    vc = add_integration(db, "vcenter", "vc")
    sync(db, vc, estate(), policy=SyncPolicy.from_settings(Settings()))

    assert hits(db, vc) == {
        "VM-BIG": "2 snapshots hold 55.0 GiB on disk: more than 40 GiB",
        "VM-NEAR": "a snapshot holds 49.0 GiB on disk: more than 40 GiB",
    }
    assert Thresholds.from_settings(Settings()).snapshot_max_size_gib == 40
    assert Thresholds().snapshot_max_size_gib == 50
    assert "more than 40 GiB" in describe_conditions(Thresholds(snapshot_max_size_gib=40))[RULE]


def test_vhealth_lists_it_as_the_findings_do(db: Database) -> None:
    vc = add_integration(db, "vcenter", "vc")
    sync(db, vc, estate())
    now = utcnow()
    thresholds = Thresholds(snapshot_max_size_gib=45)
    refresh_findings(db, vc, thresholds, now=now)

    rows = sheet_rows(db, None, now, thresholds)
    assert sorted(rows) == sorted(open_findings(db))
    assert sorted(row[2] for row in rows if row[0] == RULE) == ["VM-BIG", "VM-NEAR"]
    assert RULES_BY_ID[RULE].title == "Large VM snapshots"


def test_a_setting_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="findings_snapshot_max_size_gib"):
        Settings(findings_snapshot_max_size_gib=0)
