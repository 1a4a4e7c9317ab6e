"""Helpers for the tests that talk to a simulator."""

from __future__ import annotations

from collections import Counter
from typing import Any

from iroa.connectors.base import ConnectionOptions
from tests.peers import vsphere_ops
from tests.peers.vcsim import VcsimServer


class RecordingProgress:
    """Progress that remembers each phase with its total, and how much of it was done."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, int | None]] = []
        self.done: Counter[str] = Counter()

    def start(self, phase: str, total: int | None = None) -> None:
        self.phases.append((phase, total))

    def advance(self, done: int = 1) -> None:
        self.done[self.phases[-1][0]] += done


def options_for(server: VcsimServer, **overrides: Any) -> ConnectionOptions:
    values = {"url": server.url, "username": server.username, "password": server.password}
    values.update(overrides)
    return ConnectionOptions(**values)


def session_count(si: Any) -> int:
    manager = si.RetrieveContent().sessionManager
    return len(vsphere_ops.properties(si, manager, ["sessionList"]).get("sessionList", []))
