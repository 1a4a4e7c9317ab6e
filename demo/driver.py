"""What happens in the demo's vCenter while it runs: an operator at work.

Every few seconds the driver makes one change through the vSphere API, logged in
as its own user (:data:`OPERATOR`), so that IROA's watcher, its change feed and
its findings have something to show: power operations, renames, a new VM, a
deleted one, a snapshot, a resize. Each change is printed as it is made.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyVmomi import vim

from tests.peers import vsphere_ops as ops

OPERATOR = "demo.operator@vsphere.local"
"""Who the driver logs in as (the simulator takes any login): vCenter's events name them."""


@dataclass(frozen=True)
class Change:
    vm: str
    what: str


class Driver:
    """Changes one VM of the simulator at a time, chosen at random (seeded: each run of
    the demo makes the same changes in the same order)."""

    def __init__(self, si: vim.ServiceInstance, seed: int = 7) -> None:
        self.si = si
        self.random = random.Random(seed)
        self.created = 0

    def run(self, every_s: float, stop: threading.Event, say: Callable[[str], None]) -> None:
        """Make a change every ``every_s`` seconds until ``stop`` is set."""
        while not stop.wait(every_s):
            try:
                change = self.step()
            except Exception as exc:  # a refused operation is part of a vCenter's life
                say(f"{_now()}  the driver's change failed: {type(exc).__name__}: {exc}")
                continue
            say(f"{_now()}  {OPERATOR} {change.what} {change.vm}")

    def step(self) -> Change:
        """Make one change and say what it was."""
        vms = ops.retrieve(self.si, vim.VirtualMachine, ["runtime.powerState"])
        states = {str(vm["name"]): vm["runtime.powerState"] for vm in vms}
        on = sorted(name for name, state in states.items() if state == "poweredOn")
        off = sorted(name for name, state in states.items() if state == "poweredOff")
        action = self.random.choices(
            ("power off", "power on", "rename", "snapshot", "resize", "create", "delete"),
            weights=(4, 4, 2, 2, 2, 1, 1),
        )[0]
        if action == "power off" and on:
            name = self.random.choice(on)
            ops.power_off(self.si, name)
            return Change(name, "powered off")
        if action == "power on" and off:
            name = self.random.choice(off)
            ops.power_on(self.si, name)
            return Change(name, "powered on")
        if action == "rename" and on:
            name = self.random.choice(on)
            new = f"{name.split('-renamed')[0]}-renamed-{self.random.randrange(100, 999)}"
            ops.rename_vm(self.si, name, new)
            return Change(new, f"renamed {name} to")
        if action == "snapshot" and on:
            name = self.random.choice(on)
            ops.create_snapshot(self.si, name, f"demo-{_now().replace(':', '')}")
            return Change(name, "took a snapshot of")
        if action == "resize" and off:
            name = self.random.choice(off)
            ops.reconfigure_vm(self.si, name, num_cpu=self.random.choice((2, 4, 8)))
            return Change(name, "changed the vCPUs of")
        if action == "create" and on:
            self.created += 1
            name = f"demo-new-{self.created:03d}"
            ops.create_vm(self.si, name, like=self.random.choice(on))
            return Change(name, "created")
        if action == "delete" and off:
            name = self.random.choice(off)
            ops.destroy_vm(self.si, name)
            return Change(name, "deleted")
        name = self.random.choice(on or off)  # nothing of that kind to change: a power cycle
        if name in on:
            ops.power_off(self.si, name)
            return Change(name, "powered off")
        ops.power_on(self.si, name)
        return Change(name, "powered on")


def _now() -> str:
    return datetime.now().strftime("%H:%M:%S")
