"""The mapping of vCenter events to records, on real pyVmomi event objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pyVmomi import vim

from iroa.connectors.base import EventCursor, EventsUnavailableError
from iroa.connectors.vcenter.client import open_session
from iroa.connectors.vcenter.events import event_record, read_events
from tests.connectors.vcenter.support import options_for
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology

WHEN = datetime(2026, 12, 4, 3, 12, tzinfo=UTC)


def _vm_arg(moid: str, name: str) -> vim.event.VmEventArgument:
    return vim.event.VmEventArgument(vm=vim.VirtualMachine(moid), name=name)


def test_power_off_event_maps_user_object_and_type() -> None:
    event = vim.event.VmPoweredOffEvent(
        key=42,
        chainId=41,
        createdTime=WHEN,
        userName="VSPHERE.LOCAL\\alice",
        vm=_vm_arg("vm-17", "db-07"),
        host=vim.event.HostEventArgument(host=vim.HostSystem("host-9"), name="esx-1"),
        fullFormattedMessage="db-07 on esx-1 is powered off",
    )
    record = event_record(event)
    assert record.key == 42
    assert record.chain_id == 41
    assert record.created_at == WHEN
    assert record.event_type == "VmPoweredOffEvent"
    assert record.user_name == "VSPHERE.LOCAL\\alice"
    assert (record.object_type, record.object_external_id, record.object_name) == (
        "VirtualMachine",
        "vm-17",
        "db-07",
    )
    assert record.message == "db-07 on esx-1 is powered off"


def test_host_event_without_vm_is_about_the_host() -> None:
    event = vim.event.EnteredMaintenanceModeEvent(
        key=7,
        createdTime=WHEN,
        host=vim.event.HostEventArgument(host=vim.HostSystem("host-9"), name="esx-1"),
    )
    record = event_record(event)
    assert (record.object_type, record.object_external_id) == ("HostSystem", "host-9")
    assert record.user_name is None


def test_extended_event_keeps_its_type_id() -> None:
    event = vim.event.EventEx(
        key=8, createdTime=WHEN, eventTypeId="com.vmware.vc.custom.Unknown", userName="bob"
    )
    record = event_record(event)
    assert record.event_type == "com.vmware.vc.custom.Unknown"
    assert record.object_type is None


def test_naive_time_is_taken_as_utc() -> None:
    event = vim.event.VmRemovedEvent(
        key=9, createdTime=WHEN.replace(tzinfo=None), vm=_vm_arg("vm-1", "a")
    )
    assert event_record(event).created_at == WHEN


def test_event_without_time_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"without key or createdTime: vim\.event\.VmRemovedEvent"):
        event_record(vim.event.VmRemovedEvent(key=10))


def test_power_off_and_destroy_on_vcsim_are_read_with_the_user_and_resume_after_a_key(
    vcsim: Any,
) -> None:
    server = vcsim(Topology())
    si = ops.connect(server)
    vm = ops.list_vm_names(si)[0]
    ops.power_off(si, vm)
    moid = ops.find_vm(si, vm)._moId
    ops.destroy_vm(si, vm)
    content = si.RetrieveContent()
    now = datetime.now(UTC)
    first = read_events(content, None, now)
    mine = [(r.event_type, r.user_name) for r in first if r.object_external_id == moid]
    assert ("VmPoweredOffEvent", server.username) in mine
    assert ("VmRemovedEvent", server.username) in mine
    keys = [r.key for r in first]
    assert keys == sorted(set(keys))
    middle = first[len(first) // 2]
    cursor = EventCursor(middle.key, middle.created_at)
    assert [r.key for r in read_events(content, cursor, now)] == [k for k in keys if k > middle.key]


def test_both_decoders_read_the_same_events(vcsim: Any) -> None:
    server = vcsim(Topology())
    si = ops.connect(server)
    vm = ops.list_vm_names(si)[0]
    ops.power_off(si, vm)
    ops.power_on(si, vm)
    now = datetime.now(UTC)
    with open_session(options_for(server, lean_decoding=True)) as session:
        assert session.decoder is not None
        pyvmomi = read_events(session.content, None, now)
        lean = read_events(session.content, None, now, decoder=session.decoder)
    assert "VmPoweredOnEvent" in {r.event_type for r in lean}
    assert lean == pyvmomi


class _Refusing:
    """An EventManager whose collector creation vCenter refuses for lack of a privilege."""

    def CreateCollectorForEvents(self, filter: object) -> None:
        raise vim.fault.NoPermission(privilegeId="System.View")


def test_a_refused_events_read_is_one_clear_line() -> None:
    content = vim.ServiceInstanceContent()
    object.__setattr__(content, "eventManager", _Refusing())
    object.__setattr__(content, "rootFolder", vim.Folder("group-d1"))
    with pytest.raises(EventsUnavailableError) as caught:
        read_events(content, None, datetime.now(UTC))
    assert str(caught.value) == "vCenter events not read: permission System.View missing"
