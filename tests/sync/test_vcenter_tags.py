"""vSphere tags end to end: simulator → sync → database → API, dashboard, CLI and workbook
(SQLite and PostgreSQL); a vCenter whose tagging API fails keeps the stored tags."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest
from sqlalchemy import select

from iroa.exports.xlsx import write_xlsx
from iroa.integrations.service import IntegrationInput, add_integration
from iroa.inventory.models import Tag
from iroa.inventory.queries import list_objects
from iroa.paging import InvalidQueryError
from iroa.sync.engine import run_sync
from tests.api.fixtures import Api
from tests.peers.vcsim import Topology, VcsimServer
from tests.peers.vsphere_tags import Tagging
from tests.sync.test_vcenter_sync import connector_for
from tests.web.support import log_in

TOPOLOGY = Topology(
    datacenters=1,
    clusters=1,
    hosts_per_cluster=1,
    standalone_hosts=1,
    vms_per_host=2,
    datastores=1,
    portgroups=1,
)
TAGGED_VM = "DC0_H0_VM0"
OTHER_VM = "DC0_H0_VM1"


def moref(api: Api, plural: str, name: str) -> str:
    (found,) = [o for o in list_objects(api.db, plural) if o["name"] == name]
    return str(found["external_id"])


def tagged(api: Api, server: VcsimServer, integration_id: int) -> dict[str, str]:
    """Sync once, tag a few objects, sync again; the tag ids by name."""
    assert run_sync(api.db, integration_id, connector_for(server)).succeeded
    vm, other = moref(api, "vms", TAGGED_VM), moref(api, "vms", OTHER_VM)
    host = moref(api, "hosts", "DC0_H0")
    with Tagging(server) as tagging:
        ids = {
            "Production": tagging.tag("Environment", "Production"),
            "team-a": tagging.tag("Owner", "team-a", cardinality="MULTIPLE"),
            "team-b": tagging.tag("Owner", "team-b", cardinality="MULTIPLE"),
        }
        tagging.attach(ids["Production"], "VirtualMachine", vm)
        tagging.attach(ids["team-a"], "VirtualMachine", vm)
        tagging.attach(ids["team-b"], "VirtualMachine", vm)
        tagging.attach(ids["team-b"], "VirtualMachine", other)
        tagging.attach(ids["Production"], "HostSystem", host)
    result = run_sync(api.db, integration_id, connector_for(server))
    assert result.succeeded and result.counts["tags"]["added"] == 5
    return ids


def stored(api: Api) -> set[tuple[str, str, str, str | None]]:
    with api.db.session() as session:
        rows = session.execute(
            select(Tag.object_type, Tag.object_external_id, Tag.key, Tag.value).where(
                Tag.kind == "vsphere_tag", Tag.removed_at.is_(None)
            )
        ).all()
    return {tuple(row) for row in rows}  # type: ignore[misc]


@pytest.fixture
def server(vcsim: Any) -> VcsimServer:
    return vcsim(TOPOLOGY)  # type: ignore[no-any-return]


def test_tags_are_stored_filtered_shown_and_exported(
    api: Api, server: VcsimServer, tmp_path: Path
) -> None:
    integration_id = add_integration(
        api.db, api.app.state.runtime.box, IntegrationInput("vcenter", "vc", server.url)
    ).id
    tagged(api, server, integration_id)
    vm, other = moref(api, "vms", TAGGED_VM), moref(api, "vms", OTHER_VM)
    assert stored(api) == {
        ("vm", vm, "Environment", "Production"),
        ("vm", vm, "Owner", "team-a"),
        ("vm", vm, "Owner", "team-b"),
        ("vm", other, "Owner", "team-b"),
        ("host", moref(api, "hosts", "DC0_H0"), "Environment", "Production"),
    }

    def names(path: str, tag: str) -> list[str]:
        response = api.client.get(path, params={"tag": tag}, headers=api.headers("viewer"))
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    assert names("/api/v1/vms", "Owner:team-b") == [TAGGED_VM, OTHER_VM]
    assert names("/api/v1/vms", "Environment:Production") == [TAGGED_VM]
    assert names("/api/v1/vms", "Environment:Test") == []
    assert names("/api/v1/hosts", "Environment:Production") == ["DC0_H0"]
    assert names("/api/v1/clusters", "Environment:Production") == []
    bad = api.client.get("/api/v1/vms", params={"tag": "Production"}, headers=api.headers("viewer"))
    assert bad.status_code == 422
    assert "tag must be Category:Name" in bad.json()["detail"]

    # The CLI's list takes the same filter.
    assert [o["name"] for o in list_objects(api.db, "vms", tag="Owner:team-a")] == [TAGGED_VM]
    with pytest.raises(InvalidQueryError, match="tag must be Category:Name"):
        list_objects(api.db, "vms", tag=":team-a")

    log_in(api.client, "viewer")
    page = api.client.get("/vms", params={"tag": "Owner:team-b"})
    assert page.status_code == 200
    assert "Tagged <strong>Owner:team-b</strong>" in page.text
    assert 'name="tag" type="text" value="Owner:team-b"' in page.text
    assert f">{TAGGED_VM}<" in page.text and f">{OTHER_VM}<" in page.text
    assert "DC0_C0_RP0_VM0" not in page.text
    refused = api.client.get("/vms", params={"tag": "nocolon"})
    assert refused.status_code == 400 and "tag must be Category:Name" in refused.text
    vm_id = api.client.get(
        "/api/v1/vms", params={"q": TAGGED_VM}, headers=api.headers("viewer")
    ).json()["items"][0]["id"]
    detail = api.client.get(f"/vms/{vm_id}").text
    assert "<td>vSphere tag</td><td>Owner</td>" in detail
    assert f'href="/vms?{quote("tag")}=Owner%3Ateam-a">team-a</a>' in detail
    tags = api.client.get(f"/api/v1/vms/{vm_id}", headers=api.headers("viewer")).json()["tags"]
    assert {"kind": "vsphere_tag", "key": "Owner", "value": "team-b"} in tags

    path = tmp_path / "inventory.xlsx"
    write_xlsx(api.db, path)
    workbook = openpyxl.load_workbook(path, read_only=True)
    header, *rows = list(workbook["vInfo"].iter_rows(values_only=True))
    by_vm = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert (by_vm[TAGGED_VM]["Environment"], by_vm[TAGGED_VM]["Owner"]) == (
        "Production",
        "team-a, team-b",
    )
    assert (by_vm[OTHER_VM]["Environment"], by_vm[OTHER_VM]["Owner"]) == (None, "team-b")
    host_header = next(workbook["vHost"].iter_rows(values_only=True))
    assert "Environment" in host_header and "Owner" not in host_header
    workbook.close()


def test_changes_follow_the_tags_and_a_failing_api_keeps_them(
    api: Api, server: VcsimServer, vcsim: Any
) -> None:
    integration_id = add_integration(
        api.db, api.app.state.runtime.box, IntegrationInput("vcenter", "vc", server.url)
    ).id
    ids = tagged(api, server, integration_id)
    vm = moref(api, "vms", TAGGED_VM)
    with Tagging(server) as tagging:
        tagging.detach(ids["team-a"], "VirtualMachine", vm)
        tagging.rename(ids["Production"], "Prod")
    result = run_sync(api.db, integration_id, connector_for(server))
    assert result.succeeded
    # The rename modifies the tag of the VM and of the host; the detach removes one.
    assert result.counts["tags"] == {"added": 0, "modified": 2, "removed": 1}
    before = stored(api)
    assert ("vm", vm, "Environment", "Prod") in before

    # The same vCenter, now without the tagging API: one warning, everything else synced.
    server.stop()
    no_api = vcsim(dataclasses.replace(TOPOLOGY, rest_api=False), port=server.port)
    result = run_sync(api.db, integration_id, connector_for(no_api))
    assert result.succeeded, result.error
    assert result.counts["tags"]["removed"] == 0
    assert stored(api) == before
    run = api.client.get(f"/api/v1/syncs/{result.run_id}", headers=api.headers("viewer")).json()
    assert run["warnings"] == [
        {
            "type": "tag",
            "id": "vsphere_tag",
            "reason": f"vSphere tags not read: 127.0.0.1:{server.port} has no tagging API "
            "(HTTP 404 for /api/session and /rest/com/vmware/cis/session)",
        }
    ]
    assert len(list_objects(api.db, "vms")) == TOPOLOGY.vm_count
