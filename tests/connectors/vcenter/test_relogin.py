"""A session the server ends mid-read is logged into again, and the read resumes at its batch."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pyVmomi import vim

from iroa.connectors.base import NullProgress
from iroa.connectors.vcenter.client import Endpoint, Session
from iroa.connectors.vcenter.collector import Collection
from tests.connectors.vcenter.test_retrieval import PagingCollector

REFS = [f"vm-{n}" for n in range(7)]


class ExpiringCollector(PagingCollector):
    """Refuses the request for one batch ``refusals`` times, as after a session timeout."""

    def __init__(self, refuse_at: str, refusals: int) -> None:
        super().__init__({ref: f"name-{ref}" for ref in REFS})
        self.refuse_at = refuse_at
        self.refusals = refusals

    def RetrievePropertiesEx(self, specSet: Any, options: Any) -> Any:
        first = specSet[0].objectSet[0].obj._moId
        if first == self.refuse_at and self.refusals > 0:
            self.refusals -= 1
            raise vim.fault.NotAuthenticated()
        return super().RetrievePropertiesEx(specSet, options)


def collection(pc: ExpiringCollector, relogins: list[int]) -> Collection:
    content = SimpleNamespace(propertyCollector=pc)
    session = Session(
        Endpoint("https", "vc.example.com", 443, "/sdk"),
        content,  # type: ignore[arg-type]
        (8, 0),
        lambda: relogins.append(1),
    )
    return Collection(session, NullProgress(), batch_size=3)


def read(coll: Collection) -> list[str]:
    objects = [vim.VirtualMachine(ref) for ref in REFS]
    return [
        str(props["name"]) for _, props in coll._read(objects, vim.VirtualMachine, paths=("name",))
    ]


def test_an_expired_session_is_renewed_and_the_batch_retried() -> None:
    pc = ExpiringCollector(refuse_at="vm-3", refusals=1)
    relogins: list[int] = []
    assert read(collection(pc, relogins)) == [f"name-{ref}" for ref in REFS]
    assert relogins == [1]
    requested = [refs for call, refs in pc.calls if call == "RetrievePropertiesEx"]
    assert requested == [["vm-0", "vm-1", "vm-2"], ["vm-3", "vm-4", "vm-5"], ["vm-6"]]


def test_a_session_refused_again_right_after_logging_in_fails_the_read() -> None:
    pc = ExpiringCollector(refuse_at="vm-3", refusals=2)
    relogins: list[int] = []
    with pytest.raises(vim.fault.NotAuthenticated):
        read(collection(pc, relogins))
    assert relogins == [1]
