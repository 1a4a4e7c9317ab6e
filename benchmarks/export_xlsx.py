"""Benchmark: the XLSX export's peak memory and time at 10,000 and 100,000 VMs.

For each backend (a SQLite file, and a PostgreSQL database it creates and
drops) and each size, syncs a generated estate (``estate.generate_estate``:
hosts, clusters, datastores, networks, one disk and NIC per VM) through the
sync engine, then runs ``iroa.exports.xlsx.write_xlsx`` in a fresh child
process, which reports its peak resident set size (``VmHWM`` in
/proc/self/status, reset at exec: neither the sync's memory nor the parent's
counts) and its resident size before the export began (the interpreter and
imports).

Write-only mode streams rows to temporary files, so the peak should not grow
with the estate: the run fails if the export of ``--vms`` VMs peaks above
``--ceiling-mib`` or more than ``--growth-mib`` above the export of ``--small``
VMs. Usage: ``python benchmarks/export_xlsx.py [--vms 100000] [--small 10000]
[--backends sqlite,postgresql] [--postgres-url URL]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from estate import SnapshotConnector, generate_estate, postgres_database

from iroa.crypto import SecretBox
from iroa.db.engine import Database
from iroa.db.migrate import upgrade
from iroa.exports.service import SHEETS
from iroa.exports.xlsx import write_xlsx
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.sync.engine import run_sync

CEILING_MIB = 150
GROWTH_MIB = 25


def memory_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def export_in_this_process(url: str, output: str) -> None:
    """The child: export, then print what it wrote and its memory as JSON."""
    db = Database(url)
    baseline = memory_mib("VmRSS")
    start = time.perf_counter()
    rows = write_xlsx(db, Path(output))
    seconds = time.perf_counter() - start
    db.dispose()
    result = {
        "seconds": seconds,
        "rows": rows,
        "bytes": Path(output).stat().st_size,
        "baseline_mib": baseline,
        "peak_mib": memory_mib("VmHWM"),
    }
    print(json.dumps(result))


def export_in_child(url: str, output: Path) -> dict:
    """Run the export in a fresh child process; what it reports."""
    child = subprocess.run(
        [sys.executable, __file__, "--export-to", str(output), "--url", url],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"export failed with exit code {child.returncode}")
    return json.loads(child.stdout)


def bench(name: str, url: str, vm_count: int, workdir: Path) -> dict:
    db = Database(url)
    upgrade(db.engine)
    integration = add_integration(
        db, SecretBox("bench"), IntegrationInput("vcenter", "bench", "https://vc.example")
    )
    start = time.perf_counter()
    result = run_sync(db, integration.id, SnapshotConnector(generate_estate(vm_count)))
    assert result.succeeded, result.error
    print(f"{name}: synced {vm_count:,} VMs in {time.perf_counter() - start:.1f} s", flush=True)
    if not db.is_sqlite:  # what autovacuum does shortly after a bulk write
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    db.dispose()
    measured = export_in_child(url, workdir / f"export-{vm_count}.xlsx")
    print(
        f"{name}: exported {vm_count:,} VMs in {measured['seconds']:.1f} s, "
        f"peak RSS {measured['peak_mib']:.0f} MiB",
        flush=True,
    )
    return {"backend": name, "vms": vm_count, **measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--ceiling-mib", type=float, default=CEILING_MIB)
    parser.add_argument("--growth-mib", type=float, default=GROWTH_MIB)
    parser.add_argument("--export-to", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_to:
        export_in_this_process(args.url, args.export_to)
        return
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="iroa-bench-") as tmp:
        for backend in args.backends.split(","):
            for vm_count in (args.small, args.vms):
                workdir = Path(tmp) / f"{backend}-{vm_count}"
                workdir.mkdir()
                if backend == "sqlite":
                    url = f"sqlite:///{workdir / 'iroa.db'}"
                    results.append(bench(backend, url, vm_count, workdir))
                elif backend == "postgresql":
                    url, drop = postgres_database(args.postgres_url)
                    try:
                        results.append(bench(backend, url, vm_count, workdir))
                    finally:
                        drop()
                else:
                    raise SystemExit(f"unknown backend {backend!r}: sqlite or postgresql")
    print()
    print(
        f"XLSX export ({len(SHEETS)} sheets): resident memory of the exporting process before the "
        "export (base) and at its peak"
    )
    header = (
        f"{'backend':<11}{'VMs':>9}{'rows':>10}{'seconds':>9}{'MiB file':>10}"
        f"{'base MiB':>10}{'peak MiB':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in results:
        print(
            f"{row['backend']:<11}{row['vms']:>9,}{sum(row['rows'].values()):>10,}"
            f"{row['seconds']:>9.1f}{row['bytes'] / (1 << 20):>10.1f}"
            f"{row['baseline_mib']:>10.0f}{row['peak_mib']:>10.0f}"
        )
    missed = []
    for backend in args.backends.split(","):
        small, large = (r for r in results if r["backend"] == backend)
        if large["peak_mib"] > args.ceiling_mib:
            missed.append(f"{backend}: peak {large['peak_mib']:.0f} MiB > {args.ceiling_mib} MiB")
        if large["peak_mib"] - small["peak_mib"] > args.growth_mib:
            missed.append(
                f"{backend}: peak grew {large['peak_mib'] - small['peak_mib']:.0f} MiB "
                f"from {args.small:,} to {args.vms:,} VMs (> {args.growth_mib} MiB)"
            )
    print(
        f"\ntargets: peak <= {args.ceiling_mib:.0f} MiB at {args.vms:,} VMs, and <= "
        f"{args.growth_mib:.0f} MiB above the peak at {args.small:,} VMs"
    )
    if missed:
        raise SystemExit("; ".join(missed))


if __name__ == "__main__":
    main()
