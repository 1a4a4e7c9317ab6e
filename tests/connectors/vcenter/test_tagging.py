"""vSphere tags against the simulator's REST tagging API: what is attached is collected, in
bulk; a vCenter without the API or a refusing one costs one warning, never the sync."""

from __future__ import annotations

import dataclasses
import json
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest

from iroa.connectors.base import ConnectionOptions, NullProgress, SkippedObject, TagRecord
from iroa.connectors.vcenter import VCenterConnector
from iroa.connectors.vcenter.client import build_ssl_context, parse_url
from iroa.connectors.vcenter.tagging import (
    API,
    REST,
    TAG_KIND,
    Dialect,
    TaggingUnavailableError,
    TagName,
    TagReader,
    open_tagging,
)
from tests.connectors.vcenter.support import options_for
from tests.peers.loopback import loopback_server
from tests.peers.vcsim import Topology
from tests.peers.vsphere_tags import Tagging

TOPOLOGY = Topology(
    datacenters=1,
    clusters=1,
    hosts_per_cluster=1,
    standalone_hosts=1,
    vms_per_host=2,
    datastores=1,
    portgroups=1,
)


def collect(
    server: Any, **options: Any
) -> tuple[dict[str, dict[str, str]], list[TagRecord], list[SkippedObject]]:
    """Ids of every object by type and name; the tag records; the warnings."""
    snapshot = VCenterConnector(options_for(server, **options)).collect(NullProgress())
    ids: dict[str, dict[str, str]] = {}
    tags: list[TagRecord] = []
    try:
        for part in snapshot.parts():
            for plural in ("datacenters", "clusters", "hosts", "datastores", "networks", "vms"):
                rows = part[plural]
                for row in rows.rows:
                    record = dict(zip(rows.fields, row, strict=True))
                    ids.setdefault(plural, {})[record["name"]] = record["external_id"]
            rows = part["tags"]
            tags.extend(TagRecord(*row) for row in rows.rows)
        return ids, tags, list(snapshot.warnings)
    finally:
        snapshot.close()


def vsphere_tags(tags: list[TagRecord]) -> set[tuple[str, str, str, str | None]]:
    return {
        (t.object_type, t.object_external_id, t.key, t.value) for t in tags if t.kind == TAG_KIND
    }


def test_tags_of_every_object_type_are_collected(vcsim: Any) -> None:
    server = vcsim(TOPOLOGY)
    ids, tags, warnings = collect(server)
    assert vsphere_tags(tags) == set() and warnings == []
    vm, other_vm = ids["vms"]["DC0_H0_VM0"], ids["vms"]["DC0_H0_VM1"]
    host, cluster = ids["hosts"]["DC0_H0"], ids["clusters"]["DC0_C0"]
    datastore, network = ids["datastores"]["LocalDS_0"], ids["networks"]["DC0_DVPG0"]
    datacenter = ids["datacenters"]["DC0"]
    with Tagging(server) as tagging:
        prod = tagging.tag("Environment", "Production")
        tagging.tag("Environment", "Test")  # attached to nothing
        team_a = tagging.tag("Owner", "team-a", cardinality="MULTIPLE")
        team_b = tagging.tag("Owner", "team-b", cardinality="MULTIPLE")
        for object_type, object_id in [
            ("VirtualMachine", vm),
            ("HostSystem", host),
            ("ClusterComputeResource", cluster),
            ("Datastore", datastore),
            ("DistributedVirtualPortgroup", network),
            ("Datacenter", datacenter),
        ]:
            tagging.attach(prod, object_type, object_id)
        tagging.attach(team_a, "VirtualMachine", vm)
        tagging.attach(team_b, "VirtualMachine", vm)
        tagging.attach(team_b, "VirtualMachine", other_vm)

    _, tags, warnings = collect(server)

    assert warnings == []
    assert vsphere_tags(tags) == {
        ("vm", vm, "Environment", "Production"),
        ("vm", vm, "Owner", "team-a"),
        ("vm", vm, "Owner", "team-b"),
        ("vm", other_vm, "Owner", "team-b"),
        ("host", host, "Environment", "Production"),
        ("cluster", cluster, "Environment", "Production"),
        ("datastore", datastore, "Environment", "Production"),
        ("network", network, "Environment", "Production"),
        ("datacenter", datacenter, "Environment", "Production"),
    }
    # Ids name the tag, not its text: a renamed tag is the same record, modified.
    own = sorted(t.external_id for t in tags if t.kind == TAG_KIND and t.object_external_id == vm)
    assert own == sorted(f"vm:{vm}:tag:{tag_id}" for tag_id in (prod, team_a, team_b))


def test_tags_are_read_over_https_with_the_integrations_ca_file(vcsim: Any) -> None:
    server = vcsim(TOPOLOGY, tls=True)
    ids, _, _ = collect(server, ca_file=str(server.ca_file))
    vm = ids["vms"]["DC0_H0_VM0"]
    with Tagging(server) as tagging:
        tagging.attach(tagging.tag("Backup", "daily"), "VirtualMachine", vm)

    _, tags, warnings = collect(server, ca_file=str(server.ca_file))

    assert warnings == []
    assert vsphere_tags(tags) == {("vm", vm, "Backup", "daily")}


def test_a_vcenter_without_the_tagging_api_gives_one_warning_and_the_inventory(
    vcsim: Any,
) -> None:
    server = vcsim(dataclasses.replace(TOPOLOGY, rest_api=False))

    ids, tags, warnings = collect(server)

    assert len(ids["vms"]) == TOPOLOGY.vm_count and len(ids["hosts"]) == TOPOLOGY.host_count
    assert vsphere_tags(tags) == set()
    assert warnings == [
        SkippedObject(
            "tag",
            TAG_KIND,
            f"vSphere tags not read: 127.0.0.1:{server.port} has no tagging API "
            "(HTTP 404 for /api/session and /rest/com/vmware/cis/session)",
        )
    ]


LOGGED_OUT: list[str | None] = []


class Refusing(BaseHTTPRequestHandler):
    """A REST API that lets the user log in and then refuses to list anything."""

    status = 403
    body = b'{"type": "com.vmware.vapi.std.errors.unauthorized"}'

    def do_POST(self) -> None:
        if self.path.startswith("/api/"):  # a vCenter older than 7.0
            self._answer(404, b"")
        else:
            self._answer(200, b'{"value": "session-1"}')

    def do_GET(self) -> None:
        self._answer(self.status, self.body)

    def do_DELETE(self) -> None:
        LOGGED_OUT.append(self.headers.get("vmware-api-session-id"))
        self._answer(200, b"")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


class RefusingLogin(Refusing):
    def do_POST(self) -> None:
        self._answer(401, b"")


class Garbled(Refusing):
    status = 200
    body = b"<html>not the vAPI</html>"


class Unwrapped(Refusing):
    status = 200
    body = b'["urn:vmomi:InventoryServiceCategory:1:GLOBAL"]'


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (Refusing, "refused to list tags (HTTP 403): the user needs read access"),
        (RefusingLogin, "refused the REST API login of user 'reader' (HTTP 401)"),
        (Garbled, "sent an unexpected tagging answer"),
        (Unwrapped, "sent an unexpected tagging answer"),
    ],
)
def test_a_failing_tagging_api_is_one_line(handler: Any, expected: str) -> None:
    LOGGED_OUT.clear()
    with loopback_server(handler) as url:
        options = ConnectionOptions(url=url, username="reader", password="s3cret-pass")
        with open_tagging(options, parse_url(url), build_ssl_context(options)) as tagging:
            assert isinstance(tagging, TaggingUnavailableError)
            message = str(tagging)
    assert message.startswith(f"127.0.0.1:{parse_url(url).port} ")
    assert expected in message and "\n" not in message and "s3cret" not in message
    # A session it opened is closed again.
    assert ([] if handler is RefusingLogin else ["session-1"]) == LOGGED_OUT


class Racing(Refusing):
    """A tagging API (``/rest`` or, on 7.0 and later, ``/api``) where a category and a tag
    vanish between their list and their read."""

    dialect: ClassVar[Dialect] = REST

    def answers(self) -> dict[str, Any]:
        base, prefix = self.dialect.tagging, self.dialect.id_prefix
        return {
            f"{base}/category": ["c-1", "c-gone"],
            f"{base}/category/{prefix}c-1": {"id": "c-1", "name": "Env"},
            f"{base}/tag": ["t-1", "t-gone"],
            f"{base}/tag/{prefix}t-1": {"name": "prod", "category_id": "c-1"},
        }

    def do_GET(self) -> None:
        answer = self.answers().get(self.path)
        if answer is None:
            self._answer(404, b"")
        else:
            self._json(answer)

    def do_POST(self) -> None:
        attached = f"{self.dialect.tagging}/tag-association?{self.dialect.action}="
        if self.path == self.dialect.session:
            self._json("session-1")
        elif self.path != f"{attached}list-attached-tags-on-objects":
            self._answer(404, b"")
        else:
            asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self._json(
                [
                    {"object_id": o, "tag_ids": ["t-1", "t-gone"] if o["id"] == "vm-1" else None}
                    for o in asked["object_ids"]
                ]
            )

    def do_DELETE(self) -> None:
        if self.path == self.dialect.session:
            super().do_DELETE()
        else:
            self._answer(404, b"")

    def _json(self, value: Any) -> None:
        self._answer(200, json.dumps({"value": value} if self.dialect.wrapped else value).encode())


class RacingApi(Racing):
    dialect = API


@pytest.mark.parametrize("handler", [Racing, RacingApi])
def test_tags_deleted_while_they_are_read_are_left_out(handler: Any) -> None:
    LOGGED_OUT.clear()
    with loopback_server(handler) as url:
        options = ConnectionOptions(url=url, username="reader", password="s3cret-pass")
        with open_tagging(options, parse_url(url), build_ssl_context(options)) as tagging:
            assert isinstance(tagging, TagReader)
            assert tagging.dialect == handler.dialect
            attached = tagging.attached([("VirtualMachine", "vm-1"), ("VirtualMachine", "vm-2")])
    assert attached == {"vm-1": [TagName("t-1", "Env", "prod")]}
    assert LOGGED_OUT == ["session-1"]
