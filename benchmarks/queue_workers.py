"""Benchmark: how many syncs one `iroa worker` completes per minute, at 1,000 and 10,000 VMs.

For each estate size it starts VMware's simulator (2 datacenters x 10 clusters
x 10 hosts, ``VMs / 20`` VMs per cluster), creates a PostgreSQL database (then
drops it), adds ``--integrations`` vCenter integrations pointing at that
simulator, and starts one ``iroa worker --concurrency C`` process. A warm-up
round queues one sync per integration (the first sync inserts everything);
then each measured round queues one per integration again — the steady state
of automatic syncs: the estate is read in full, nothing changed — and times
until every run has finished. Prints syncs per minute for that worker and the
mean run duration. The simulator, PostgreSQL and the worker share this
machine, so the figures are for this machine's cores.

Usage: ``python benchmarks/queue_workers.py [--vms 1000,10000] [--concurrency 1,2]
[--integrations 4] [--rounds 2] [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from iroa.config import Settings  # noqa: E402
from iroa.crypto import SecretBox, load_secret_key  # noqa: E402
from iroa.db.engine import Database  # noqa: E402
from iroa.db.migrate import upgrade  # noqa: E402
from iroa.integrations.service import IntegrationInput, add_integration  # noqa: E402
from iroa.sync.models import SyncRun  # noqa: E402
from iroa.sync.queue import SyncQueue  # noqa: E402
from iroa.sync.runs import record_queued_run  # noqa: E402
from tests.peers.vcsim import Topology, VcsimServer, build_vcsim  # noqa: E402


def run_round(db: Database, queue: SyncQueue, integration_ids: list[int]) -> tuple[float, float]:
    """Queue one sync per integration; return (wall seconds, mean run seconds)."""
    began = time.monotonic()
    run_ids = []
    for integration_id in integration_ids:
        run_id = record_queued_run(db, integration_id, "api", False)
        queue.enqueue(integration_id, trigger="api", run_id=run_id)
        run_ids.append(run_id)
    while True:
        with db.session() as session:
            runs = session.scalars(select(SyncRun).where(SyncRun.id.in_(run_ids))).all()
        if all(r.status not in ("queued", "running") for r in runs):
            break
        time.sleep(0.2)
    wall = time.monotonic() - began
    bad = [(r.id, r.status, r.error) for r in runs if r.status != "succeeded"]
    if bad:
        raise SystemExit(f"runs did not succeed: {bad}")
    durations = [r.duration_s for r in runs if r.duration_s is not None]
    return wall, statistics.mean(durations)


def measure(args: argparse.Namespace, vms: int, concurrency: int, server: VcsimServer) -> None:
    admin_url = make_url(args.postgres_url)
    name = f"iroa_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    worker: subprocess.Popen[bytes] | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="iroa-bench-") as tmp:
            settings = Settings(data_dir=Path(tmp), database_url=url)
            db = Database(url)
            upgrade(db.engine)
            box = SecretBox(load_secret_key(settings))
            ids = [
                add_integration(
                    db,
                    box,
                    IntegrationInput(
                        "vcenter",
                        f"vc-{n}",
                        server.url,
                        username=server.username,
                        password=server.password,
                    ),
                ).id
                for n in range(args.integrations)
            ]
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("IROA_")},
                "IROA_DATA_DIR": tmp,
                "IROA_DATABASE_URL": url,
                "IROA_LOG_LEVEL": "ERROR",
            }
            worker = subprocess.Popen(
                [sys.executable, "-m", "iroa", "worker", "--concurrency", str(concurrency)],
                env=env,
            )
            queue = SyncQueue(url).open()
            try:
                run_round(db, queue, ids)  # warm-up: the first syncs insert everything
                for round_ in range(args.rounds):
                    wall, mean_run = run_round(db, queue, ids)
                    per_minute = len(ids) / wall * 60
                    print(
                        f"{vms:>6} VMs  concurrency {concurrency}  round {round_ + 1}: "
                        f"{len(ids)} syncs in {wall:.1f} s = {per_minute:.1f} syncs/min "
                        f"per worker (mean run {mean_run:.2f} s)",
                        flush=True,
                    )
            finally:
                queue.close()
                db.dispose()
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(60)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", default="1000,10000")
    parser.add_argument("--concurrency", default="1,2")
    parser.add_argument("--integrations", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    for vms in (int(v) for v in args.vms.split(",")):
        topology = Topology(
            datacenters=2,
            clusters=10,
            hosts_per_cluster=10,
            standalone_hosts=0,
            vms_per_host=max(1, vms // 20),
            datastores=4,
            portgroups=4,
        )
        print(f"starting the simulator with {topology.vm_count} VMs…", flush=True)
        with VcsimServer(build_vcsim(), topology, start_timeout=600) as server:
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                measure(args, topology.vm_count, concurrency, server)


if __name__ == "__main__":
    main()
