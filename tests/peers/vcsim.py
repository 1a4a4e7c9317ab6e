"""Build and run govmomi's vCenter simulator (vcsim) as a test peer.

Debian ships the simulator as a Go library only; `vcsim/main.go` wraps it in a
command. The binary is cached per content of main.go, so a clean clone on the
same machine starts in well under a second instead of a ~20 s cold build.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from tests.peers.certs import generate_certs

MAIN_GO = Path(__file__).with_name("vcsim") / "main.go"
GOVMOMI_GOPATH = Path("/usr/share/gocode")
INSTALL_HINT = (
    "run tests/peers/install.sh as root (installs golang-go golang-github-vmware-govmomi-dev)"
)

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "s3cret-pass"


class GoToolchainMissing(RuntimeError):
    """Go or the govmomi sources are not installed, so vcsim cannot be built."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "iroa"


SIMULATOR_FIXES = {
    "property_filter.go": (
        (
            "kind = getManagedObject(ctx.Map.Get(ref)).Type()",
            "obj := ctx.Map.Get(ref)\n"
            "\t\t\t\tif obj == nil {\n"
            "\t\t\t\t\treturn false // deleted since\n"
            "\t\t\t\t}\n"
            "\t\t\t\tkind = getManagedObject(obj).Type()",
        ),
    ),
    "property_collector.go": (
        (
            "case types.ObjectUpdateKindEnter: // Create\n",
            "case types.ObjectUpdateKindEnter: // Create\n"
            '\t\t\t\t\t\tif update.Obj.Type == "Task" {\n'
            "\t\t\t\t\t\t\tcontinue // a new task is no inventory object\n"
            "\t\t\t\t\t\t}\n",
        ),
        (
            'log.Printf("%s has %d changes", update.Obj, len(update.ChangeSet))\n'
            "\t\t\t\t\t\tif !apply() { // An update may apply to collector traversal specs\n"
            "\t\t\t\t\t\t\treturn body\n"
            "\t\t\t\t\t\t}\n",
            'log.Printf("%s has %d changes", update.Obj, len(update.ChangeSet))\n',
        ),
    ),
    "host_system.go": (
        (
            "h.Runtime.InMaintenanceMode = true",
            'Map.Update(h, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: true}})',
        ),
        (
            "h.Runtime.InMaintenanceMode = false",
            "Map.Update(h, []types.PropertyChange{"
            '{Name: "runtime.inMaintenanceMode", Val: false}})',
        ),
    ),
}
"""Fixes of govmomi 0.24's simulator applied to a copy of it before building:

- a property filter matched against an object deleted in the same tick dereferenced
  nothing and failed the whole wait (later govmomi releases check);
- every modification of any object, and every new task, re-read the whole
  inventory, once per filter of the collector, before looking at the change: at
  10,000 VMs a rename took tens of seconds to report (a new inventory object still
  makes it look again);
- entering or leaving maintenance mode set the flag without telling property
  collectors, so no watcher could see it (later releases tell them)."""


def _patched_simulator(gopath: Path) -> None:
    """Lay govmomi out in ``gopath`` (found before Debian's): links to Debian's sources but
    for the simulator package, copied with the fixes."""
    govmomi = GOVMOMI_GOPATH / "src/github.com/vmware/govmomi"
    root = gopath / "src/github.com/vmware/govmomi"
    root.mkdir(parents=True)
    for entry in govmomi.iterdir():
        if entry.name != "simulator":
            (root / entry.name).symlink_to(entry)
    target = root / "simulator"
    shutil.copytree(govmomi / "simulator", target)
    for name, fixes in SIMULATOR_FIXES.items():
        path = target / name
        text = path.read_text()
        for old, new in fixes:
            if text.count(old) != 1:
                raise RuntimeError(f"cannot fix the simulator: {old!r} is not once in {name}")
            text = text.replace(old, new)
        path.write_text(text)


def build_vcsim() -> Path:
    """Return the path of the vcsim binary for the current main.go, building it if needed."""
    cache = cache_dir()
    recipe = MAIN_GO.read_bytes() + repr(SIMULATOR_FIXES).encode()
    digest = hashlib.sha256(recipe).hexdigest()[:12]
    binary = cache / f"vcsim-{digest}"
    if binary.exists():
        return binary

    go = shutil.which("go")
    if go is None:
        raise GoToolchainMissing(f"`go` not found on PATH: {INSTALL_HINT}")
    if not (GOVMOMI_GOPATH / "src/github.com/vmware/govmomi/simulator").is_dir():
        raise GoToolchainMissing(f"govmomi sources missing under {GOVMOMI_GOPATH}: {INSTALL_HINT}")

    cache.mkdir(parents=True, exist_ok=True)
    # Parallel test processes (pytest-xdist, several checkouts) would otherwise build concurrently.
    with open(cache / "vcsim.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if binary.exists():
            return binary
        partial = binary.with_name(f"{binary.name}.partial")
        with tempfile.TemporaryDirectory(prefix="iroa-gopath-") as gopath:
            _patched_simulator(Path(gopath))
            env = {
                **os.environ,
                "GOPATH": f"{gopath}:{GOVMOMI_GOPATH}",
                "GO111MODULE": "off",
                "GOFLAGS": "",
                "GOCACHE": str(cache / "go-build"),
                # A static binary needs no C compiler, which a fresh CI image may lack.
                "CGO_ENABLED": "0",
            }
            result = subprocess.run(
                [go, "build", "-o", str(partial), MAIN_GO.name],
                cwd=MAIN_GO.parent,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode != 0:
            raise RuntimeError(f"building vcsim failed:\n{result.stderr.strip()}")
        partial.replace(binary)  # atomic, so a reader never sees a half-written binary
    return binary


def _quick_figure(name: str, salt: str, low: int, span: int) -> int:
    """main.go's quickFigure: FNV-1a (32 bits) of salt + name, into [low, low + span)."""
    digest = 0x811C9DC5
    for byte in (salt + name).encode():
        digest = ((digest ^ byte) * 0x01000193) & 0xFFFFFFFF
    return low + digest % span


def expected_quickstats(kind: str, name: str) -> dict[str, int]:
    """The ``summary.quickStats`` main.go gives a powered-on VM (``kind`` "vm") or a host,
    as IROA's record fields."""
    if kind == "vm":
        return {
            "cpu_used_mhz": _quick_figure(name, "cpu", 1, 2000),
            "guest_memory_used_mib": _quick_figure(name, "guest", 1, 1000),
            "host_memory_used_mib": _quick_figure(name, "host", 1, 1000),
            "uptime_s": _quick_figure(name, "uptime", 60, 1000000),
        }
    return {
        "cpu_used_mhz": _quick_figure(name, "cpu", 1, 2000),
        "memory_used_mib": _quick_figure(name, "memory", 1, 4000),
        "uptime_s": _quick_figure(name, "uptime", 60, 1000000),
    }


@dataclass(frozen=True)
class Topology:
    """Inventory counts, mapped onto vcsim's flags. Names follow vcsim's scheme.

    Datacenters are DC0.., standalone hosts DC0_H0.., clusters DC0_C0..,
    cluster hosts DC0_C0_H0.., VMs DC0_H0_VM0.. (standalone) and
    DC0_C0_RP0_VM0.. (cluster root pool), datastores LocalDS_0..,
    portgroups DC0_DVPG0.. on switch DVS0 (whose uplink portgroup DVS0-DVUplinks-N
    is a network too), the standard network "VM Network".
    """

    datacenters: int = 1
    clusters: int = 1  # per datacenter
    hosts_per_cluster: int = 2
    standalone_hosts: int = 1  # per datacenter
    # vcsim puts VMs per standalone host and per cluster, not per cluster host.
    vms_per_host: int = 2
    datastores: int = 1  # each mounted on every host of its datacenter
    portgroups: int = 1  # distributed portgroups per datacenter; 0 means no DVS at all
    folders: int = 0  # datacenters placed (with their sub-folders) inside a folder
    pools: int = 0  # extra child resource pools per cluster (vcsim puts no VMs in them)
    retrieve_delay_ms: int = 0  # each RetrievePropertiesEx answers this much later
    rest_api: bool = True  # False: no REST (tagging) API, as an ESXi host or an old vCenter

    def __post_init__(self) -> None:
        if self.datastores < 1 and self.vm_count > 0:
            # vcsim places every VM on LocalDS_0 and panics when it does not exist.
            raise ValueError("VMs need at least one datastore")

    @property
    def vm_count(self) -> int:
        return self.datacenters * (self.clusters + self.standalone_hosts) * self.vms_per_host

    @property
    def host_count(self) -> int:
        return self.datacenters * (self.clusters * self.hosts_per_cluster + self.standalone_hosts)

    def args(self) -> list[str]:
        flags = {
            "dc": self.datacenters,
            "cluster": self.clusters,
            "host": self.hosts_per_cluster,
            "standalone-host": self.standalone_hosts,
            "vm": self.vms_per_host,
            "ds": self.datastores,
            "pg": self.portgroups,
            "folder": self.folders,
            "pool": self.pools,
        }
        args = [f"-{flag}={value}" for flag, value in flags.items()]
        if self.retrieve_delay_ms:
            args.append(f"-method-delay=RetrievePropertiesEx:{self.retrieve_delay_ms}")
        if not self.rest_api:
            args.append("-rest=false")
        return args


def bench_topology(vms_per_cluster: int = 500) -> Topology:
    """The estate of the vCenter benchmarks: 2 datacenters of 10 clusters of 10 hosts,
    ``vms_per_cluster`` VMs each (10,000 by default), 4 datastores and 4 port groups."""
    return Topology(
        datacenters=2,
        clusters=10,
        hosts_per_cluster=10,
        standalone_hosts=0,
        vms_per_host=vms_per_cluster,
        datastores=4,
        portgroups=4,
    )


def _die_with_parent() -> None:
    # Runs in the child before exec: a killed pytest must not leave ~300 MiB simulators behind.
    # Linux ties this to the spawning *thread*: start servers from a thread that outlives them.
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class VcsimServer:
    """One simulated vCenter. Use as a context manager or call start()/stop().

    start() may be called again after stop() or kill(): the vCenter comes back
    on the same port with the same certificate and instance UUID, but with a
    freshly built inventory (changes made by tests are lost, and datastore
    morefs, which embed a random directory, differ).
    """

    def __init__(
        self,
        binary: Path,
        topology: Topology | None = None,
        *,
        tls: bool = False,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_names: tuple[str, ...] = (),
        instance_uuid: str | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        self.binary = binary
        self.topology = topology or Topology()
        self.tls = tls
        self.username = username
        self.password = password
        self.listen_host = host
        self.listen_port = port
        self.cert_names = cert_names
        # vcsim's default instanceUuid is a constant, so two simulators would look like one vCenter.
        self.instance_uuid = instance_uuid or str(uuid.uuid4())
        self.start_timeout = start_timeout
        self.sdk_url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="iroa-vcsim-"))
        weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
        self.ca_file: Path | None = None
        self._tls_args: list[str] = []
        if tls:
            self.ca_file, cert, key = generate_certs(self._dir / "tls", cert_names)
            self._tls_args = [f"-tls-cert={cert}", f"-tls-key={key}"]

    @property
    def url(self) -> str:
        """Base URL without /sdk, e.g. https://127.0.0.1:43125."""
        parts = urlsplit(self.sdk_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def scheme(self) -> str:
        return urlsplit(self.sdk_url).scheme

    @property
    def host(self) -> str:
        return urlsplit(self.sdk_url).hostname or ""

    @property
    def port(self) -> int:
        return urlsplit(self.sdk_url).port or 0

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> VcsimServer:
        if self._proc is not None:
            raise RuntimeError("vcsim already started")
        # vcsim creates its datastore directories under TMPDIR; a private one
        # lets stop() and kill() remove them even after SIGKILL.
        run_dir = self._dir / "run"
        run_dir.mkdir()
        argv = [
            str(self.binary),
            f"-listen={self.listen_host}:{self.listen_port}",
            f"-username={self.username}",
            f"-password={self.password}",
            f"-instance-uuid={self.instance_uuid}",
            *self._tls_args,
            *self.topology.args(),
        ]
        try:
            with open(self._dir / "stderr.log", "wb") as stderr:
                self._proc = subprocess.Popen(
                    argv,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, "TMPDIR": str(run_dir)},
                    start_new_session=True,
                    preexec_fn=_die_with_parent,  # noqa: PLW1509 - only calls prctl(2)
                )
            self.sdk_url = self._read_url_line()
        except BaseException:
            self.kill()
            raise
        self.listen_port = self.port  # a restart comes back where clients expect it
        return self

    def _read_url_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self._proc.stdout], [], [], remaining)
            if ready:
                # main.go writes the whole line at once, after the socket is listening.
                line = self._proc.stdout.readline().decode().strip()
                if line:
                    return line
                code = self._proc.wait()
                raise RuntimeError(f"vcsim exited with {code}:\n{self.stderr_tail()}")
        limit = self.start_timeout
        raise RuntimeError(f"vcsim did not start within {limit} s:\n{self.stderr_tail()}")

    def stderr_tail(self, lines: int = 20) -> str:
        try:
            text = (self._dir / "stderr.log").read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if the simulator has not exited within `timeout`."""
        if self._proc is not None:
            self._signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
        self._reap()

    def kill(self) -> None:
        """SIGKILL right away, like a vCenter that dies mid-sync."""
        if self._proc is not None:
            self._signal(signal.SIGKILL)
        self._reap()

    def _signal(self, sig: signal.Signals) -> None:
        assert self._proc is not None
        if self._proc.poll() is None:  # once reaped, the pid may belong to someone else
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, sig)

    def _reap(self) -> None:
        if self._proc is not None:
            self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None
        shutil.rmtree(self._dir / "run", ignore_errors=True)

    def __enter__(self) -> VcsimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"VcsimServer({self.sdk_url or 'not started'}, {self.topology})"
