"""Streamed calls: a WaitForUpdatesEx answer read for its version alone, faults raised as pyVmomi
raises them."""

from __future__ import annotations

from io import BytesIO

import pytest
from pyVmomi import vim, vmodl

from iroa.connectors.vcenter.client import open_session
from iroa.connectors.vcenter.watch import VCenterWatch
from iroa.connectors.vcenter.wire import invoke_streamed, read_update_version
from tests.connectors.vcenter.support import options_for
from tests.peers.vcsim import Topology

PC = vmodl.query.PropertyCollector


def answer(returnval: str) -> BytesIO:
    return BytesIO(
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        b'<soapenv:Body><WaitForUpdatesExResponse xmlns="urn:vim25">'
        + returnval.encode()
        + b"</WaitForUpdatesExResponse></soapenv:Body></soapenv:Envelope>"
    )


HOST_UPDATE = (
    "<objectSet><kind>enter</kind><obj type='HostSystem'>host-1</obj>"
    "<changeSet><name>summary.config.product</name><op>assign</op>"
    "<val xsi:type='AboutInfo'><name>VMware ESXi</name><version>8.0.2</version></val>"
    "</changeSet></objectSet>"
)


def test_the_version_of_a_full_answer_and_none_of_its_updates() -> None:
    stream = answer(
        "<returnval><version>7</version><filterSet><filter type='PropertyFilter'>f-1</filter>"
        + HOST_UPDATE * 3
        + "</filterSet></returnval>"
    )

    assert read_update_version(stream) == ("7", False)


def test_a_truncated_answer_says_so() -> None:
    stream = answer(
        "<returnval><version>8_1</version><filterSet>"
        + HOST_UPDATE
        + "</filterSet><truncated>true</truncated></returnval>"
    )

    assert read_update_version(stream) == ("8_1", True)


def test_a_wait_that_timed_out_has_no_version() -> None:
    assert read_update_version(answer("")) == (None, False)


TOPOLOGY = Topology(datacenters=1, clusters=1, hosts_per_cluster=1, vms_per_host=3)


def test_a_drained_filter_has_nothing_pending(vcsim) -> None:
    server = vcsim(TOPOLOGY)
    with VCenterWatch(options_for(server)) as watch:
        session = watch._current()
        collector = watch._create_filter(session)

        version = watch._drain(collector, "")

        pending = collector.WaitForUpdatesEx(version, PC.WaitOptions(maxWaitSeconds=0))
        assert pending is None


def test_a_fault_is_raised_as_pyvmomi_raises_it(vcsim) -> None:
    server = vcsim(TOPOLOGY)
    with open_session(options_for(server)) as session:
        collector = session.content.propertyCollector.CreatePropertyCollector()
        session.content.sessionManager.Logout()

        with pytest.raises(vim.fault.NotAuthenticated):
            invoke_streamed(
                collector,
                "WaitForUpdatesEx",
                ("", PC.WaitOptions(maxWaitSeconds=0)),
                read_update_version,
            )
