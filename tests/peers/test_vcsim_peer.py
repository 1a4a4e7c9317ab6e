"""Checks of the vcsim peer itself, so a broken peer is not mistaken for a broken IROA."""

from __future__ import annotations

import socket
import ssl
from typing import Any

import pytest
from pyVmomi import vim

from tests.peers import vsphere_ops as ops
from tests.peers.plugin import StartVcsim
from tests.peers.vcsim import Topology


def vm_props(si: vim.ServiceInstance, name: str, *paths: str) -> dict[str, Any]:
    matches = [o for o in ops.retrieve(si, vim.VirtualMachine, paths) if o["name"] == name]
    assert len(matches) == 1
    return matches[0]


def test_serves_plain_http(vcsim: StartVcsim) -> None:
    server = vcsim()
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.sdk_url == f"{server.url}/sdk"
    assert server.ca_file is None
    si = ops.connect(server)
    assert si.content.about.apiType == "VirtualCenter"


def test_https_is_trusted_only_with_the_generated_ca(vcsim: StartVcsim) -> None:
    server = vcsim(tls=True)
    assert server.url.startswith("https://127.0.0.1:")
    with pytest.raises(ssl.SSLCertVerificationError):
        ops.connect(server, ssl_context=ssl.create_default_context())
    si = ops.connect(server)  # trusts server.ca_file
    assert si.content.about.apiType == "VirtualCenter"


def test_https_refuses_an_address_missing_from_the_certificate(vcsim: StartVcsim) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        ops.connect(vcsim(tls=True, host="127.0.0.2"))
    ops.connect(vcsim(tls=True, host="127.0.0.2", cert_names=("127.0.0.2",)))


def test_wrong_password_is_invalid_login(vcsim: StartVcsim) -> None:
    server = vcsim(username="auditor", password="right")
    with pytest.raises(vim.fault.InvalidLogin):
        ops.connect(server, password="wrong")
    ops.connect(server)


def test_topology_counts(vcsim: StartVcsim) -> None:
    topology = Topology(
        datacenters=2, clusters=2, hosts_per_cluster=3, standalone_hosts=1, vms_per_host=3
    )
    si = ops.connect(vcsim(topology))
    assert topology.vm_count == 2 * (2 + 1) * 3
    assert len(ops.list_vm_names(si)) == topology.vm_count
    assert len(ops.retrieve(si, vim.HostSystem)) == topology.host_count == 2 * (2 * 3 + 1)
    assert "DC1_C1_RP0_VM2" in ops.list_vm_names(si)
    assert "DC1_H0_VM0" in ops.list_vm_names(si)


def test_vm_operations(vcsim: StartVcsim) -> None:
    si = ops.connect(vcsim())
    vm = "DC0_H0_VM0"

    ops.power_off(si, vm)
    assert vm_props(si, vm, "runtime.powerState")["runtime.powerState"] == "poweredOff"
    ops.power_on(si, vm)
    assert vm_props(si, vm, "runtime.powerState")["runtime.powerState"] == "poweredOn"

    ops.rename_vm(si, vm, "web01")
    assert vm not in ops.list_vm_names(si)
    ops.reconfigure_vm(si, "web01", num_cpu=4, memory_mib=8192)
    ops.set_guest_info(si, "web01", ip="10.1.2.3", hostname="web01.example.test")
    ops.create_snapshot(si, "web01", "before-upgrade")
    ops.set_custom_value(si, "web01", "owner", "team-a")
    props = vm_props(
        si,
        "web01",
        "config.hardware.numCPU",
        "config.hardware.memoryMB",
        "guest.ipAddress",
        "guest.hostName",
        "snapshot",
        "customValue",
        "availableField",
    )
    assert props["config.hardware.numCPU"] == 4
    assert props["config.hardware.memoryMB"] == 8192
    assert props["guest.ipAddress"] == "10.1.2.3"
    assert props["guest.hostName"] == "web01.example.test"
    assert [s.name for s in props["snapshot"].rootSnapshotList] == ["before-upgrade"]
    (field,) = props["availableField"]
    assert (field.name, [(v.key, v.value) for v in props["customValue"]]) == (
        "owner",
        [(field.key, "team-a")],
    )

    ops.destroy_vm(si, "web01")
    assert "web01" not in ops.list_vm_names(si)


@pytest.mark.parametrize("host", ["DC0_H0", "DC0_C0_H0"])  # standalone, in a cluster
def test_remove_host_takes_its_vms_along(vcsim: StartVcsim, host: str) -> None:
    si = ops.connect(vcsim())
    ref = ops.find_host(si, host)
    vms = ops.retrieve(si, vim.VirtualMachine, ["runtime.host"])
    on_host = {o["name"] for o in vms if o["runtime.host"] == ref}
    if host == "DC0_H0":
        assert on_host == {"DC0_H0_VM0", "DC0_H0_VM1"}
    before = set(ops.list_vm_names(si))

    ops.remove_host(si, host)

    assert host not in {o["name"] for o in ops.retrieve(si, vim.HostSystem)}
    assert host not in {o["name"] for o in ops.retrieve(si, vim.ComputeResource)}
    assert set(ops.list_vm_names(si)) == before - on_host


def test_kill_then_restart_on_the_same_port(vcsim: StartVcsim) -> None:
    server = vcsim(tls=True)
    port, ca = server.port, server.ca_file.read_bytes() if server.ca_file else b""
    ops.connect(server)
    server.kill()
    assert not server.is_running()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, port), timeout=5).close()

    server.start()
    assert server.port == port
    assert server.ca_file is not None and server.ca_file.read_bytes() == ca
    si = ops.connect(server)
    assert si.content.about.instanceUuid == server.instance_uuid


def test_each_simulator_is_a_distinct_vcenter(vcsim: StartVcsim) -> None:
    uuids = {ops.connect(vcsim()).content.about.instanceUuid for _ in range(2)}
    assert len(uuids) == 2
