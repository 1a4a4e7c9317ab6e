"""Per-run KPIs of one integration, computed from the inventory just written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, insert, select

from iroa.history.models import Summary
from iroa.inventory.models import Cluster, Datacenter, Datastore, Host, Network, Vm


def write_summary(conn: Connection, integration_id: int, run_id: int, taken_at: datetime) -> None:
    """Record the integration's KPIs as they stand in this transaction.

    Overcommit ratios use powered-on VMs against the hosts' physical cores and memory.
    """

    def present(model: Any) -> ColumnElement[bool]:
        return (model.integration_id == integration_id) & model.removed_at.is_(None)  # type: ignore[no-any-return]

    def count(model: Any) -> int:
        return int(conn.execute(select(func.count()).where(present(model))).scalar_one())

    is_vm = Vm.is_template.is_(False)
    on = is_vm & (Vm.power_state == "on")
    vm_row = conn.execute(
        select(
            func.count().filter(is_vm),
            func.count().filter(on),
            func.count().filter(is_vm & (Vm.power_state == "off")),
            func.count().filter(is_vm & (Vm.power_state == "suspended")),
            func.count().filter(Vm.is_template.is_(True)),
            func.coalesce(func.sum(case((is_vm, Vm.num_cpu))), 0),
            func.coalesce(func.sum(case((on, Vm.num_cpu))), 0),
            func.coalesce(func.sum(case((is_vm, Vm.memory_mib))), 0),
            func.coalesce(func.sum(case((on, Vm.memory_mib))), 0),
            func.coalesce(func.sum(Vm.provisioned_bytes), 0),
        ).where(present(Vm))
    ).one()
    host_row = conn.execute(
        select(
            func.coalesce(func.sum(Host.cpu_cores), 0),
            func.coalesce(func.sum(Host.cpu_threads), 0),
            func.coalesce(func.sum(Host.memory_mib), 0),
        ).where(present(Host))
    ).one()
    ds_row = conn.execute(
        select(
            func.coalesce(func.sum(Datastore.capacity_bytes), 0),
            func.coalesce(func.sum(Datastore.free_bytes), 0),
        ).where(present(Datastore))
    ).one()
    vms, vms_on, vms_off, vms_suspended, templates, vcpus, vcpus_on, mem, mem_on, prov = vm_row
    cores, threads, host_mem = host_row
    capacity, free = ds_row
    conn.execute(
        insert(Summary).values(
            sync_run_id=run_id,
            integration_id=integration_id,
            taken_at=taken_at,
            datacenters=count(Datacenter),
            clusters=count(Cluster),
            hosts=count(Host),
            datastores=count(Datastore),
            networks=count(Network),
            vms=vms,
            vms_on=vms_on,
            vms_off=vms_off,
            vms_suspended=vms_suspended,
            templates=templates,
            vcpus=vcpus,
            vcpus_on=vcpus_on,
            vm_memory_mib=mem,
            vm_memory_on_mib=mem_on,
            host_cpu_cores=cores,
            host_cpu_threads=threads,
            host_memory_mib=host_mem,
            storage_capacity_bytes=capacity,
            storage_free_bytes=free,
            storage_used_bytes=int(capacity or 0) - int(free or 0),
            vm_provisioned_bytes=prov,
            vcpu_per_core=round(vcpus_on / cores, 3) if cores else None,
            memory_overcommit=round(mem_on / host_mem, 3) if host_mem else None,
        )
    )
