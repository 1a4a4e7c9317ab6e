"""Change a running vcsim from tests, the way an operator would change a vCenter.

Objects are found and read through the PropertyCollector only: this vcsim
version drops the connection when pyVmomi's attribute access fetches an unset
property (e.g. `vm.snapshot` on a VM without snapshots).
"""

# pyVmomi's generated data-object constructors and SmartConnect carry no annotations.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import os
import ssl
import time
from pathlib import Path
from typing import Any, TypeVar, cast

from pyVim.connect import SmartConnect
from pyVmomi import vim, vmodl

from tests.peers.vcsim import VcsimServer

PC = vmodl.query.PropertyCollector
T = TypeVar("T")


def connect(
    server: VcsimServer,
    *,
    username: str | None = None,
    password: str | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> vim.ServiceInstance:
    """Log in to `server`; over https the generated CA is trusted unless a context is given."""
    if ssl_context is None:
        # Always pass a context: without one pyVmomi skips certificate checks for 127.0.0.1.
        cafile = str(server.ca_file) if server.ca_file else None
        ssl_context = ssl.create_default_context(cafile=cafile)
    si = SmartConnect(
        protocol=server.scheme,
        host=server.host,
        port=server.port,
        user=server.username if username is None else username,
        pwd=server.password if password is None else password,
        sslContext=ssl_context,
    )
    return cast(vim.ServiceInstance, si)


def retrieve(
    si: vim.ServiceInstance, vimtype: type, paths: list[str] | tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Properties of every object of `vimtype`; unset properties are absent.

    Each dict holds "obj" (the managed object), "name" and the requested paths.
    Names are not unique in general (every cluster has a pool named "Resources").
    """
    content = si.RetrieveContent()
    assert content.viewManager is not None
    view = content.viewManager.CreateContainerView(content.rootFolder, [vimtype], True)
    try:
        spec = PC.FilterSpec(
            objectSet=[
                PC.ObjectSpec(
                    obj=view,
                    skip=True,
                    selectSet=[PC.TraversalSpec(path="view", skip=False, type=view.__class__)],
                )
            ],
            propSet=[PC.PropertySpec(type=vimtype, pathSet=["name", *paths])],
        )
        collector = content.propertyCollector
        objects: list[Any] = []
        result = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions())
        while result is not None:
            objects += result.objects
            token = result.token
            result = collector.ContinueRetrievePropertiesEx(token) if token else None
    finally:
        view.Destroy()
    return [{"obj": oc.obj, **{p.name: p.val for p in oc.propSet}} for oc in objects]


def properties(si: vim.ServiceInstance, obj: Any, paths: list[str]) -> dict[str, Any]:
    """Properties of one managed object; unset properties are absent."""
    spec = PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=obj)],
        propSet=[PC.PropertySpec(type=obj.__class__, pathSet=paths)],
    )
    collector = si.RetrieveContent().propertyCollector
    result = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions())
    return {p.name: p.val for oc in (result.objects if result else []) for p in oc.propSet}


def datastore_file(si: vim.ServiceInstance, datastore: Any, path: str) -> Path:
    """Where a file of a vcsim datastore (a directory on this machine) is."""
    return Path(properties(si, datastore, ["summary.url"])["summary.url"]) / path


def age_file(si: vim.ServiceInstance, datastore: Any, path: str, seconds: float = 3600) -> None:
    """Make a file of a vcsim datastore look last written ``seconds`` ago."""
    then = time.time() - seconds
    os.utime(datastore_file(si, datastore, path), (then, then))


def _find(si: vim.ServiceInstance, vimtype: type[T], name: str) -> T:
    matches = [o["obj"] for o in retrieve(si, vimtype) if o["name"] == name]
    if len(matches) != 1:
        raise LookupError(f"{len(matches)} objects of type {vimtype.__name__} named {name!r}")
    return cast(T, matches[0])


def find_vm(si: vim.ServiceInstance, name: str) -> vim.VirtualMachine:
    return _find(si, vim.VirtualMachine, name)


def find_host(si: vim.ServiceInstance, name: str) -> vim.HostSystem:
    return _find(si, vim.HostSystem, name)


def list_vm_names(si: vim.ServiceInstance) -> list[str]:
    return sorted(o["name"] for o in retrieve(si, vim.VirtualMachine))


def wait_for_task(task: vim.Task, timeout: float = 60.0) -> Any:
    """Return the task's result; raise its fault (a vmodl.MethodFault) if it failed."""
    deadline = time.monotonic() + timeout
    while True:
        info = task.info  # always set on a task, so attribute access is safe here
        if info.state == vim.TaskInfo.State.success:
            return info.result
        if info.state == vim.TaskInfo.State.error:
            raise cast(BaseException, info.error)  # pyVmomi faults are exceptions
        if time.monotonic() > deadline:
            raise TimeoutError(f"task {info.descriptionId} still {info.state} after {timeout} s")
        time.sleep(0.05)


def power_off(si: vim.ServiceInstance, vm_name: str) -> None:
    wait_for_task(find_vm(si, vm_name).PowerOffVM_Task())


def power_on(si: vim.ServiceInstance, vm_name: str) -> None:
    wait_for_task(find_vm(si, vm_name).PowerOnVM_Task())


def rename_vm(si: vim.ServiceInstance, old: str, new: str) -> None:
    wait_for_task(find_vm(si, old).Rename_Task(newName=new))


def _reconfigure(si: vim.ServiceInstance, vm_name: str, spec: vim.vm.ConfigSpec) -> None:
    wait_for_task(find_vm(si, vm_name).ReconfigVM_Task(spec=spec))


def reconfigure_vm(
    si: vim.ServiceInstance, name: str, num_cpu: int | None = None, memory_mib: int | None = None
) -> None:
    _reconfigure(si, name, vim.vm.ConfigSpec(numCPUs=num_cpu, memoryMB=memory_mib))


def set_pool_cpu_limit(si: vim.ServiceInstance, pool_id: str, limit_mhz: int) -> None:
    """Limit a resource pool's CPU (by its managed object id), its other settings kept."""
    pool = vim.ResourcePool(pool_id, si._stub)
    config = pool.config
    config.cpuAllocation.limit = limit_mhz
    spec = vim.ResourceConfigSpec(
        cpuAllocation=config.cpuAllocation, memoryAllocation=config.memoryAllocation
    )
    pool.UpdateConfig(config=spec)


def add_usb_device(si: vim.ServiceInstance, vm_name: str, device_name: str) -> None:
    """Give a VM a USB 2 controller with one host USB device on it."""
    device = vim.vm.device
    controller = device.VirtualUSBController(key=-70, busNumber=0, ehciEnabled=True)
    usb = device.VirtualUSB(
        key=-71,
        controllerKey=-70,
        backing=device.VirtualUSB.USBBackingInfo(deviceName=device_name),
        connected=True,
    )
    add = device.VirtualDeviceSpec.Operation.add
    changes = [device.VirtualDeviceSpec(operation=add, device=d) for d in (controller, usb)]
    _reconfigure(si, vm_name, vim.vm.ConfigSpec(deviceChange=changes))


def insert_iso(
    si: vim.ServiceInstance, vm_name: str, iso_path: str, *, connected: bool = False
) -> None:
    """Back a VM's first CD/DVD drive with an ISO file, connected at power on (and now,
    with ``connected``)."""
    device = vim.vm.device
    cdrom = next(
        d for d in find_vm(si, vm_name).config.hardware.device if isinstance(d, device.VirtualCdrom)
    )
    cdrom.backing = device.VirtualCdrom.IsoBackingInfo(fileName=iso_path)
    cdrom.connectable = device.VirtualDevice.ConnectInfo(
        startConnected=True, connected=connected, allowGuestControl=True
    )
    edit = device.VirtualDeviceSpec.Operation.edit
    spec = vim.vm.ConfigSpec(deviceChange=[device.VirtualDeviceSpec(operation=edit, device=cdrom)])
    _reconfigure(si, vm_name, spec)


def set_guest_info(
    si: vim.ServiceInstance,
    vm_name: str,
    ip: str | None = None,
    hostname: str | None = None,
    full_name: str | None = None,
    state: str | None = None,
) -> None:
    """Fill guest.ipAddress / guest.hostName / guest.guestFullName / guest.guestState, which
    vcsim never reports on its own."""
    # vcsim turns extraConfig keys prefixed with SET. into property assignments.
    values = {
        "SET.guest.ipAddress": ip,
        "SET.guest.hostName": hostname,
        "SET.guest.guestFullName": full_name,
        "SET.guest.guestState": state,
    }
    options = [vim.option.OptionValue(key=k, value=v) for k, v in values.items() if v is not None]
    _reconfigure(si, vm_name, vim.vm.ConfigSpec(extraConfig=options))


def create_snapshot(si: vim.ServiceInstance, vm_name: str, snap_name: str) -> None:
    task = find_vm(si, vm_name).CreateSnapshot_Task(
        name=snap_name, description="", memory=False, quiesce=False
    )
    wait_for_task(task)


def _destroy_vm(si: vim.ServiceInstance, vm: vim.VirtualMachine) -> None:
    state = properties(si, vm, ["runtime.powerState"])["runtime.powerState"]
    if state != vim.VirtualMachine.PowerState.poweredOff:
        wait_for_task(vm.PowerOffVM_Task())
    wait_for_task(vm.Destroy_Task())


def destroy_vm(si: vim.ServiceInstance, name: str) -> None:
    """Delete a VM, powering it off first as vCenter requires."""
    _destroy_vm(si, find_vm(si, name))


def remove_host(si: vim.ServiceInstance, host_name: str) -> None:
    """Take a host out of the inventory together with the VMs registered on it."""
    host = find_host(si, host_name)
    props = properties(si, host, ["vm", "parent"])
    # vcsim refuses (ResourceInUse) to destroy a host that still has VMs, and
    # its RelocateVM_Task does not move them off the host.
    for vm in props.get("vm", []):
        _destroy_vm(si, vm)
    parent = props["parent"]
    if isinstance(parent, vim.ClusterComputeResource):
        # Unlike vCenter, vcsim leaves a dangling reference in the cluster's `host` list.
        wait_for_task(host.Destroy_Task())
        return
    # vcsim lacks ComputeResource.Destroy_Task, vCenter's way to remove a standalone
    # host; destroying a folder holding the compute resource takes out the
    # resource, its host and its root pool.
    scratch = properties(si, parent, ["parent"])["parent"].CreateFolder(f"iroa-remove-{host_name}")
    wait_for_task(scratch.MoveIntoFolder_Task([parent]))
    wait_for_task(scratch.Destroy_Task())


def set_custom_value(si: vim.ServiceInstance, vm_name: str, key: str, value: str) -> None:
    """Set a custom attribute on a VM, defining the attribute on first use.

    vcsim appends on every SetField, so setting a key twice leaves both values in
    `customValue` (last one wins); vCenter replaces the value.
    """
    manager = si.RetrieveContent().customFieldsManager
    assert manager is not None
    defined = properties(si, manager, ["field"]).get("field", [])
    field = next((f for f in defined if f.name == key), None)
    if field is None:
        field = manager.AddCustomFieldDef(name=key, moType=vim.VirtualMachine)
    manager.SetField(entity=find_vm(si, vm_name), key=field.key, value=value)


def suspend(si: vim.ServiceInstance, vm_name: str) -> None:
    wait_for_task(find_vm(si, vm_name).SuspendVM_Task())


def remove_snapshots(si: vim.ServiceInstance, vm_name: str) -> None:
    wait_for_task(find_vm(si, vm_name).RemoveAllSnapshots_Task())


def enter_maintenance(si: vim.ServiceInstance, host_name: str) -> None:
    wait_for_task(find_host(si, host_name).EnterMaintenanceMode_Task(timeout=0))


def relocate_vm(si: vim.ServiceInstance, vm_name: str, host_name: str) -> None:
    """Move a VM to another host (of the same cluster: its pool stays)."""
    spec = vim.vm.RelocateSpec(host=find_host(si, host_name))
    wait_for_task(find_vm(si, vm_name).RelocateVM_Task(spec=spec))


def move_vm_to_pool(si: vim.ServiceInstance, vm_name: str, pool_name: str) -> None:
    """Move a VM into another resource pool (of its own cluster)."""
    pool = _find(si, vim.ResourcePool, pool_name)
    wait_for_task(find_vm(si, vm_name).RelocateVM_Task(spec=vim.vm.RelocateSpec(pool=pool)))


def create_vm(si: vim.ServiceInstance, name: str, like: str) -> None:
    """A new VM in the folder, pool and host of VM ``like``, on its datastore."""
    vm = find_vm(si, like)
    props = properties(si, vm, ["parent", "resourcePool", "runtime.host", "datastore"])
    datastore = properties(si, props["datastore"][0], ["name"])["name"]
    config = vim.vm.ConfigSpec(
        name=name,
        guestId="otherGuest",
        numCPUs=1,
        memoryMB=64,
        files=vim.vm.FileInfo(vmPathName=f"[{datastore}]"),
    )
    task = props["parent"].CreateVM_Task(
        config=config, pool=props["resourcePool"], host=props["runtime.host"]
    )
    wait_for_task(task)
