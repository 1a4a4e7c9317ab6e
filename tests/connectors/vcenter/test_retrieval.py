"""Paging: vcsim never returns a continuation token, so a stand-in collector does here; batches
asked for ahead of their reading, against the simulator."""

from __future__ import annotations

from typing import Any

import pytest
from pyVmomi import vim, vmodl

from iroa.connectors.vcenter.client import open_session
from iroa.connectors.vcenter.properties import PROPERTIES, paths_for
from iroa.connectors.vcenter.retrieval import (
    list_objects,
    moref_id,
    moref_type,
    retrieve_batches,
    retrieve_pages,
    type_name,
)
from tests.connectors.vcenter.support import options_for
from tests.peers.vcsim import Topology

PC = vmodl.query.PropertyCollector


def content(ref: str, **props: object) -> PC.ObjectContent:
    return PC.ObjectContent(
        obj=vim.VirtualMachine(ref),
        propSet=[vmodl.DynamicProperty(name=name, val=val) for name, val in props.items()],
    )


class PagingCollector:
    """Answers with at most ``maxObjects`` objects per page and a token for the rest."""

    def __init__(self, names: dict[str, str], deleted: frozenset[str] = frozenset()) -> None:
        self.names = names
        self.deleted = deleted
        self.calls: list[tuple[str, object]] = []
        self._pending: dict[str, list[PC.ObjectContent]] = {}

    def RetrievePropertiesEx(self, specSet, options):
        (spec,) = specSet
        self.calls.append(("RetrievePropertiesEx", [moref_id(o.obj) for o in spec.objectSet]))
        assert spec.reportMissingObjectsInResults is True
        assert [p.pathSet for p in spec.propSet] == [["name"]]
        objects = []
        for object_spec in spec.objectSet:
            ref = moref_id(object_spec.obj)
            if ref in self.deleted:
                fault = vmodl.fault.ManagedObjectNotFound(obj=object_spec.obj)
                missing = PC.MissingProperty(path="", fault=fault)
                objects.append(PC.ObjectContent(obj=object_spec.obj, missingSet=[missing]))
            else:
                objects.append(content(ref, name=self.names[ref]))
        return self._page(objects, options.maxObjects)

    def ContinueRetrievePropertiesEx(self, token):
        self.calls.append(("ContinueRetrievePropertiesEx", token))
        return self._page(self._pending.pop(token), self.page_size)

    def CancelRetrievePropertiesEx(self, token):
        self.calls.append(("CancelRetrievePropertiesEx", token))
        self._pending.pop(token)

    def _page(self, objects, page_size):
        self.page_size = page_size
        head, rest = objects[:page_size], objects[page_size:]
        token = None
        if rest:
            token = f"token-{len(self.calls)}"
            self._pending[token] = rest
        return PC.RetrieveResult(objects=head, token=token)


def spec_for(refs: list[str]) -> PC.FilterSpec:
    return PC.FilterSpec(
        objectSet=[PC.ObjectSpec(obj=vim.VirtualMachine(ref)) for ref in refs],
        propSet=[PC.PropertySpec(type=vim.VirtualMachine, pathSet=["name"])],
        reportMissingObjectsInResults=True,
    )


def test_retrieve_pages_follows_continuation_tokens():
    names = {f"vm-{i}": f"web{i}" for i in range(7)}
    collector = PagingCollector(names)

    pages = list(retrieve_pages(collector, spec_for(list(names)), page_size=3))

    assert [[moref_id(obj) for obj, _ in page] for page in pages] == [
        ["vm-0", "vm-1", "vm-2"],
        ["vm-3", "vm-4", "vm-5"],
        ["vm-6"],
    ]
    assert [name for name, _ in collector.calls] == [
        "RetrievePropertiesEx",
        "ContinueRetrievePropertiesEx",
        "ContinueRetrievePropertiesEx",
    ]


def test_stopping_early_cancels_the_open_result_set():
    names = {f"vm-{i}": f"web{i}" for i in range(7)}
    collector = PagingCollector(names)
    pages = retrieve_pages(collector, spec_for(list(names)), page_size=3)

    next(pages)
    pages.close()

    assert collector.calls[-1] == ("CancelRetrievePropertiesEx", "token-1")
    assert collector._pending == {}


def test_a_server_answering_nothing_yields_nothing():
    class EmptyCollector(PagingCollector):
        def RetrievePropertiesEx(self, specSet, options):
            return None

    assert list(retrieve_pages(EmptyCollector({}), spec_for(["vm-0"]), page_size=3)) == []


def test_retrieve_batches_bounds_each_request_and_skips_deleted_objects():
    names = {f"vm-{i}": f"web{i}" for i in range(5)}
    collector = PagingCollector(names, deleted=frozenset({"vm-3"}))
    objects = [vim.VirtualMachine(ref) for ref in names]

    batches = list(retrieve_batches(collector, objects, vim.VirtualMachine, ["name"], 2))

    requested = [refs for name, refs in collector.calls if name == "RetrievePropertiesEx"]
    assert requested == [["vm-0", "vm-1"], ["vm-2", "vm-3"], ["vm-4"]]
    assert [[(moref_id(obj), props) for obj, props in batch] for batch in batches] == [
        [("vm-0", {"name": "web0"}), ("vm-1", {"name": "web1"})],
        [("vm-2", {"name": "web2"})],
        [("vm-4", {"name": "web4"})],
    ]


def test_a_batch_larger_than_a_server_page_is_still_read_completely():
    names = {f"vm-{i}": f"web{i}" for i in range(5)}

    class SmallPages(PagingCollector):
        def RetrievePropertiesEx(self, specSet, options):
            return super().RetrievePropertiesEx(specSet, PC.RetrieveOptions(maxObjects=2))

    collector = SmallPages(names)
    objects = [vim.VirtualMachine(ref) for ref in names]

    (batch,) = retrieve_batches(collector, objects, vim.VirtualMachine, ["name"], 10)

    assert [moref_id(obj) for obj, _ in batch] == list(names)
    assert sum(name == "ContinueRetrievePropertiesEx" for name, _ in collector.calls) == 2


def test_moref_helpers():
    cluster = vim.ClusterComputeResource("domain-c7")

    assert (moref_id(cluster), moref_type(cluster)) == ("domain-c7", "ClusterComputeResource")
    assert (moref_id("domain-c7"), moref_type(None)) == (None, None)


def test_paths_newer_than_the_server_are_left_out():
    assert "config.createDate" in paths_for("VirtualMachine", (8, 0, 3))
    assert "config.createDate" not in paths_for("VirtualMachine", (6, 5))
    assert paths_for("Folder", (6, 5)) == PROPERTIES["Folder"]


def test_every_collected_type_is_a_vsphere_type():
    for name in PROPERTIES:
        assert type_name(getattr(vim, name)) == name


def test_batches_are_the_same_with_and_without_prefetch():
    names = {f"vm-{i}": f"web{i}" for i in range(7)}
    objects = [vim.VirtualMachine(ref) for ref in names]

    def read(prefetch: bool):
        batches = retrieve_batches(
            PagingCollector(names), objects, vim.VirtualMachine, ["name"], 3, prefetch=prefetch
        )
        return [[(moref_id(obj), props) for obj, props in batch] for batch in batches]

    assert read(prefetch=True) == read(prefetch=False)


def test_prefetch_requests_the_next_batch_before_the_caller_is_done():
    names = {f"vm-{i}": f"web{i}" for i in range(6)}
    collector = PagingCollector(names)
    batches = retrieve_batches(
        collector, [vim.VirtualMachine(ref) for ref in names], vim.VirtualMachine, ["name"], 2
    )

    next(batches)
    batches.close()  # waits for the request already under way

    requested = [refs for name, refs in collector.calls if name == "RetrievePropertiesEx"]
    assert requested == [["vm-0", "vm-1"], ["vm-2", "vm-3"]]


def test_a_failing_prefetched_request_raises_in_the_caller():
    names = {f"vm-{i}": f"web{i}" for i in range(4)}

    class FailsOnSecondBatch(PagingCollector):
        def RetrievePropertiesEx(self, specSet, options):
            if len(self.calls) == 1:
                raise ConnectionResetError("peer went away")
            return super().RetrievePropertiesEx(specSet, options)

    objects = [vim.VirtualMachine(ref) for ref in names]
    batches = retrieve_batches(FailsOnSecondBatch(names), objects, vim.VirtualMachine, ["name"], 2)

    assert len(next(batches)) == 2
    with pytest.raises(ConnectionResetError):
        next(batches)


SIM = Topology(datacenters=1, clusters=1, hosts_per_cluster=2, vms_per_host=4)


def _vm_batches(session: Any, size: int = 3, collector: Any = None, **kwargs: Any) -> Any:
    return retrieve_batches(
        collector or session.content.propertyCollector,
        list_objects(session.content, vim.VirtualMachine),
        vim.VirtualMachine,
        ["name", "runtime.powerState"],
        size,
        decoder=session.decoder,
        kept={},
        **kwargs,
    )


def _named(batches: Any) -> list[list[tuple[str | None, object]]]:
    return [[(moref_id(obj), props["name"]) for obj, props in batch] for batch in batches]


def test_batches_asked_for_ahead_are_the_batches_read_one_by_one(vcsim) -> None:
    server = vcsim(SIM)
    with open_session(options_for(server)) as session:
        ahead = _named(_vm_batches(session))
        one_by_one = _named(_vm_batches(session, prefetch=False))

    assert ahead == one_by_one
    assert [len(batch) for batch in ahead] == [3, 3, 2]


def test_a_batch_asked_for_and_never_read_leaves_no_answer_behind(vcsim) -> None:
    server = vcsim(SIM)
    with open_session(options_for(server)) as session:
        batches = _vm_batches(session)
        next(batches)
        batches.close()  # the third batch was asked for: its connection is closed unread

        # Every pooled connection answers its own next request.
        assert len(_named(_vm_batches(session, prefetch=False))) == 3
        assert sum(map(len, _vm_batches(session))) == SIM.vm_count


def test_a_fault_ends_the_batches_and_drops_the_batch_asked_for(vcsim) -> None:
    server = vcsim(SIM)
    with open_session(options_for(server)) as session:
        # A collector of the session's own (vcsim lets anyone read through the default one).
        collector = session.content.propertyCollector.CreatePropertyCollector()
        batches = _vm_batches(session, size=1, collector=collector)
        next(batches)
        session.content.sessionManager.Logout()

        # The two batches under way when the session ended may still be answered.
        with pytest.raises(vmodl.fault.ManagedObjectNotFound):  # the collector went with it
            list(batches)
        session.relogin()
        assert sum(map(len, _vm_batches(session))) == SIM.vm_count
