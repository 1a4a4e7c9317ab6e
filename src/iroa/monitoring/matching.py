"""Pure matching of monitoring records to inventory objects (no database, no I/O).

Names, hostnames and DNS names compare case-insensitively, first in full, then
by their first label (``web01.example.com`` matches ``web01``); IPs compare
exactly; BIOS uuids case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from iroa.connectors.monitoring import ZabbixHost

ObjectRef = tuple[str, int]
"""``(object_type, object_id)``: ``("vm", 12)`` or ``("host", 3)``."""


@dataclass(frozen=True, slots=True)
class InventoryObject:
    object_type: str
    object_id: int
    name: str
    hostname: str | None = None
    ips: tuple[str, ...] = ()
    uuid: str | None = None


def _norm(text: str | None) -> str | None:
    text = (text or "").strip().rstrip(".").lower()
    return text or None


def _short(text: str) -> str | None:
    head = text.split(".", 1)[0]
    return head if head != text and not head.isdigit() else None


@dataclass
class _Keyed:
    full: dict[str, list[ObjectRef]] = field(default_factory=dict)
    short: dict[str, list[ObjectRef]] = field(default_factory=dict)

    def add(self, text: str | None, ref: ObjectRef, *, shorten: bool = True) -> None:
        key = _norm(text)
        if key is None:
            return
        refs = self.full.setdefault(key, [])
        if ref not in refs:
            refs.append(ref)
        short = _short(key) if shorten else None
        if short is not None:
            refs = self.short.setdefault(short, [])
            if ref not in refs:
                refs.append(ref)

    def find(self, text: str | None, *, shorten: bool = True) -> list[ObjectRef]:
        key = _norm(text)
        if key is None:
            return []
        if key in self.full:
            return self.full[key]
        if not shorten:
            return []
        if key in self.short:
            return self.short[key]
        short = _short(key)
        if short is not None:
            return self.full.get(short, []) or self.short.get(short, [])
        return []


@dataclass
class ObjectIndex:
    """Inventory objects by name, hostname (names too), IP and uuid."""

    names: _Keyed = field(default_factory=_Keyed)
    hostnames: _Keyed = field(default_factory=_Keyed)
    ips: _Keyed = field(default_factory=_Keyed)
    uuids: _Keyed = field(default_factory=_Keyed)

    @classmethod
    def of(cls, objects: Iterable[InventoryObject]) -> ObjectIndex:
        index = cls()
        for obj in objects:
            ref = (obj.object_type, obj.object_id)
            index.names.add(obj.name, ref)
            index.hostnames.add(obj.hostname or obj.name, ref)
            for ip in obj.ips:
                index.ips.add(ip, ref, shorten=False)
            if obj.object_type == "host":
                # Hosts are often registered by IP: their name is the address.
                index.ips.add(obj.name, ref, shorten=False)
            index.uuids.add(obj.uuid, ref, shorten=False)
        return index

    def find(self, join: str, value: str) -> list[ObjectRef]:
        """Objects a Prometheus join label's value names (``join`` as in ``JOINS``)."""
        if join == "name":
            return self.names.find(value)
        if join == "hostname":
            return self.hostnames.find(value) or self.names.find(value)
        if join == "ip":
            return self.ips.find(value, shorten=False) or self.hostnames.find(value)
        if join == "uuid":
            return self.uuids.find(value, shorten=False)
        raise ValueError(f"unknown join {join!r}")

    def match_zabbix(
        self, host: ZabbixHost, order: Sequence[str]
    ) -> tuple[str, list[ObjectRef]] | None:
        """The first field (in ``order``) of a Zabbix host that names objects, and those objects."""
        for field_name in order:
            refs: list[ObjectRef] = []
            if field_name == "host":
                refs = self.names.find(host.host) or self.hostnames.find(host.host)
            elif field_name == "name":
                refs = self.names.find(host.name)
            elif field_name == "dns":
                for dns in host.dns:
                    refs = self.hostnames.find(dns) or self.names.find(dns)
                    if refs:
                        break
            elif field_name == "ip":
                for ip in host.ips:
                    refs = self.ips.find(ip, shorten=False)
                    if refs:
                        break
            if refs:
                return field_name, refs
        return None
