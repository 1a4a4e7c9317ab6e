"""Benchmark: lists and exports ``as_of`` a past moment, at 10,000 to 100,000 VMs.

For each backend (a SQLite file; PostgreSQL if ``--postgres-url`` answers):

1. syncs a generated estate of ``--vms`` VMs (benchmarks/estate.py's), notes the
   moment, then syncs ``--syncs`` more times, each changing ``--churn`` of the VMs
   (memory, power state and name), removing 1 % and adding 1 %;
2. measures, for the moment after the first sync: the first ``as_of`` list page
   (which rebuilds the inventory of that moment), a further page of the same
   ``as_of`` (served from the rebuilt inventory), a live page for comparison, and
   an XLSX export ``as_of`` that moment beside a live one;
3. measures what the change retention costs a sync: the prune after a sync that
   has nothing to delete.

Usage: ``python benchmarks/history_as_of.py [--vms 10000] [--syncs 3] [--churn 0.1]
[--postgres-url URL]``. Prints the figures; there is no pass/fail target.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from estate import SnapshotConnector, generate_estate

from iroa.crypto import SecretBox
from iroa.db.base import utcnow
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.exports.xlsx import write_xlsx
from iroa.history.models import Change
from iroa.history.retention import prune_changes
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.history import clear_snapshots, list_page_as_of
from iroa.inventory.listing import ListParams
from iroa.sync.engine import run_sync


def churned(snapshot: Any, round_no: int, churn: float) -> Any:
    """The snapshot with ``churn`` of its VMs changed, 1 % removed and 1 % new."""
    vms = list(snapshot.vms)
    step = max(1, int(1 / churn))
    for i in range(round_no % step, len(vms), step):
        vm = vms[i]
        vms[i] = dataclasses.replace(
            vm,
            memory_mib=(vm.memory_mib or 1024) * 2,
            power_state="off" if vm.power_state == "on" else "on",
            name=f"{vm.name}-r{round_no}",
        )
    removed = max(1, len(vms) // 100)
    gone = {v.external_id for v in vms[:removed]}
    kept = vms[removed:]
    new = [
        dataclasses.replace(
            v, external_id=f"{v.external_id}-new{round_no}", name=f"new{round_no}-{v.name}"
        )
        for v in vms[removed : 2 * removed]
    ]
    return dataclasses.replace(
        snapshot,
        vms=kept + new,
        vm_disks=[d for d in snapshot.vm_disks if d.vm_external_id not in gone],
        vm_nics=[n for n in snapshot.vm_nics if n.vm_external_id not in gone],
        vm_datastores=[r for r in snapshot.vm_datastores if r.vm_external_id not in gone],
        vm_networks=[r for r in snapshot.vm_networks if r.vm_external_id not in gone],
    )


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def bench(name: str, url: str, args: argparse.Namespace, workdir: Path) -> None:
    db = Database(url)
    upgrade(db.engine)
    box = SecretBox("bench-key")
    integration_id = add_integration(db, box, IntegrationInput("vcenter", "bench", "https://b")).id
    snapshot = generate_estate(args.vms)
    seconds, _ = timed(lambda: run_sync(db, integration_id, SnapshotConnector(snapshot)))
    print(f"[{name}] first sync of {args.vms} VMs: {seconds:.1f} s")
    time.sleep(0.01)
    moment = utcnow()
    for round_no in range(1, args.syncs + 1):
        connector = SnapshotConnector(snapshot := churned(snapshot, round_no, args.churn))
        seconds, result = timed(lambda: run_sync(db, integration_id, connector))  # noqa: B023
        print(f"[{name}] sync {round_no}: {seconds:.1f} s, {result.counts.get('vms')}")
    with db.engine.connect() as conn:
        changes = conn.execute(select(func.count()).select_from(Change)).scalar_one()
        later = conn.execute(
            select(func.count()).select_from(Change).where(Change.changed_at > moment)
        ).scalar_one()
    print(f"[{name}] change rows: {changes} ({later} after the as_of moment)")
    clear_snapshots()
    params = ListParams(limit=100)
    live, page = timed(lambda: list_page_as_of(db, "vms", params, None))
    cold, past = timed(lambda: list_page_as_of(db, "vms", params, moment))
    warm, _ = timed(
        lambda: list_page_as_of(db, "vms", ListParams(limit=100, cursor=past.next_cursor), moment)
    )
    filtered, _ = timed(
        lambda: list_page_as_of(db, "vms", ListParams(filters={"power_state": "off"}), moment)
    )
    print(
        f"[{name}] vms page: live {live * 1000:.0f} ms; as_of first (rebuild) {cold:.2f} s, "
        f"next page {warm * 1000:.0f} ms, filtered {filtered * 1000:.0f} ms; "
        f"total then {past.total} vs now {page.total}"
    )
    live_x, _ = timed(lambda: write_xlsx(db, workdir / f"{name}-live.xlsx"))
    past_x, _ = timed(lambda: write_xlsx(db, workdir / f"{name}-as-of.xlsx", as_of=moment))
    print(f"[{name}] xlsx export: live {live_x:.1f} s, as_of (cached rebuild) {past_x:.1f} s")
    prune, _ = timed(lambda: prune_changes(db, 400))
    print(f"[{name}] prune with nothing to delete: {prune * 1000:.1f} ms")
    clear_snapshots()
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=10_000)
    parser.add_argument("--syncs", type=int, default=3)
    parser.add_argument("--churn", type=float, default=0.1)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bench("sqlite", f"sqlite:///{workdir / 'iroa.db'}", args, workdir)
        if args.postgres_url:
            name = f"iroa_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = admin.url.set(database=name).render_as_string(hide_password=False)
                bench("postgresql", url, args, workdir)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
