"""Benchmark: collect() against a bare RetrievePropertiesEx of the same properties.

Run: ``.venv/bin/python benchmarks/collect_vcenter.py [--vms-per-cluster 500]``.
Starts its own vcsim (2 datacenters x 10 clusters x 10 hosts, 500 VMs per
cluster = 10,000 VMs by default) and measures each side in a fresh process,
so peak RSS (``ru_maxrss``) belongs to that side alone. Not a test: figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.peers.vcsim import Topology, VcsimServer, build_vcsim


def _usage() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_seconds": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024}


def run_collect(url: str, username: str, password: str, batch_size: int) -> dict[str, float]:
    """Time one collect() in this process."""
    from iroa.connectors.base import ConnectionOptions, NullProgress
    from iroa.connectors.vcenter import VCenterConnector

    options = ConnectionOptions(url=url, username=username, password=password)
    connector = VCenterConnector(options, batch_size=batch_size)
    started = time.perf_counter()
    snapshot = connector.collect(NullProgress())
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "vms": len(snapshot.vms), **_usage()}


def run_bare(url: str, username: str, password: str) -> dict[str, float]:
    """Time one RetrievePropertiesEx per type over a ContainerView, same property paths."""
    from pyVim.connect import Disconnect, SmartConnect
    from pyVmomi import vim, vmodl

    from iroa.connectors.vcenter.client import parse_url
    from iroa.connectors.vcenter.properties import CUSTOM_FIELDS_PATHS, PROPERTIES

    pc_types = vmodl.query.PropertyCollector
    endpoint = parse_url(url)
    started = time.perf_counter()
    si = SmartConnect(
        protocol=endpoint.scheme,
        host=endpoint.host,
        port=endpoint.port,
        user=username,
        pwd=password,
        sslContext=ssl.create_default_context(),
    )
    content = si.RetrieveContent()
    vms = 0
    try:
        specs = [
            pc_types.FilterSpec(
                objectSet=[pc_types.ObjectSpec(obj=content.customFieldsManager)],
                propSet=[
                    pc_types.PropertySpec(
                        type=vim.CustomFieldsManager, pathSet=list(CUSTOM_FIELDS_PATHS)
                    )
                ],
            )
        ]
        for type_name, paths in PROPERTIES.items():
            vim_type = getattr(vim, type_name)
            view = content.viewManager.CreateContainerView(content.rootFolder, [vim_type], True)
            traversal = pc_types.TraversalSpec(path="view", skip=False, type=type(view))
            specs.append(
                pc_types.FilterSpec(
                    objectSet=[pc_types.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
                    propSet=[pc_types.PropertySpec(type=vim_type, pathSet=list(paths))],
                )
            )
        for spec in specs:
            collector = content.propertyCollector
            result = collector.RetrievePropertiesEx([spec], pc_types.RetrieveOptions())
            while result is not None:
                vms += sum(isinstance(c.obj, vim.VirtualMachine) for c in result.objects)
                token = result.token
                result = collector.ContinueRetrievePropertiesEx(token) if token else None
    finally:
        Disconnect(si)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "vms": vms, **_usage()}


def _in_child(kind: str, server: VcsimServer, batch_size: int) -> dict[str, float]:
    argv = [sys.executable, __file__, "--child", kind, "--url", server.url]
    argv += ["--username", server.username, "--batch-size", str(batch_size)]
    # The password goes through stdin, never the process list.
    output = subprocess.run(
        argv, input=server.password, capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vms-per-cluster", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--child", choices=["collect", "bare"])
    parser.add_argument("--url")
    parser.add_argument("--username")
    args = parser.parse_args()

    if args.child:
        password = sys.stdin.read()
        if args.child == "collect":
            result = run_collect(args.url, args.username, password, args.batch_size)
        else:
            result = run_bare(args.url, args.username, password)
        print(json.dumps(result))
        return

    topology = Topology(
        datacenters=2,
        clusters=10,
        hosts_per_cluster=10,
        standalone_hosts=0,
        vms_per_host=args.vms_per_cluster,
    )
    with VcsimServer(build_vcsim(), topology, start_timeout=600) as server:
        _in_child("collect", server, args.batch_size)  # warm-up: vcsim's first answers are slower
        samples: dict[str, list[dict[str, float]]] = {"bare": [], "collect": []}
        for _ in range(args.rounds):
            for kind in ("bare", "collect"):
                samples[kind].append(_in_child(kind, server, args.batch_size))
    print(f"{topology.vm_count} VMs, {topology.host_count} hosts, batch size {args.batch_size}")
    print("side      wall min / median   client CPU median   peak RSS max")
    medians: dict[str, float] = {}
    minimums: dict[str, float] = {}
    for kind, runs in samples.items():
        walls = [run["seconds"] for run in runs]
        medians[kind], minimums[kind] = statistics.median(walls), min(walls)
        cpu = statistics.median(run["cpu_seconds"] for run in runs)
        rss = max(run["peak_rss_mib"] for run in runs)
        print(
            f"{kind:8} {minimums[kind]:7.2f} / {medians[kind]:6.2f} s {cpu:12.2f} s"
            f" {rss:14.0f} MiB   ({runs[0]['vms']:.0f} VMs)"
        )
    print(
        f"collect / bare: {minimums['collect'] / minimums['bare']:.2f} (best runs), "
        f"{medians['collect'] / medians['bare']:.2f} (medians)"
    )


if __name__ == "__main__":
    main()
