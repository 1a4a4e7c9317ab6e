"""Orphaned disks: the datastore search against the simulator, and its rules on recorded
search results."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from pyVmomi import vim, vmodl
from pyVmomi.SoapAdapter import SoapResponseDeserializer, SoapStubAdapter

from iroa.connectors.base import (
    DiskScan,
    NullProgress,
    OrphanedDiskRecord,
    VmDiskRecord,
    VmRecord,
)
from iroa.connectors.vcenter import VCenterConnector
from iroa.connectors.vcenter.decoder import LeanDecoder
from iroa.connectors.vcenter.disks import (
    DiskSearch,
    FolderFiles,
    SearchTarget,
    _add_folder,
    finish_searches,
    folders_of,
    is_descriptor,
    read_search_answer,
    searchable,
    split_path,
)
from iroa.connectors.vcenter.layout import layout_files
from tests.connectors.vcenter.support import options_for
from tests.peers import vsphere_ops as ops
from tests.peers.vcsim import Topology

TOPOLOGY = Topology(clusters=1, hosts_per_cluster=2, standalone_hosts=0, vms_per_host=2)
_Browser: Any = vim.host.DatastoreBrowser


def test_paths_are_split_into_datastore_and_normalised_path() -> None:
    assert split_path("[ds1] vm1/vm1.vmdk") == ("ds1", "vm1/vm1.vmdk")
    assert split_path("[ds1]/vm1//vm1.vmdk") == ("ds1", "vm1/vm1.vmdk")  # as vcsim writes them
    assert split_path("[ds 1] vm1/") == ("ds 1", "vm1")
    assert split_path("[ds1]") == ("ds1", "")
    assert split_path("vm1/vm1.vmdk") is None
    assert split_path("[ds1 vm1.vmdk") is None


def test_only_descriptors_count_as_disks() -> None:
    assert is_descriptor("vm1.vmdk")
    assert is_descriptor("vm1_1.VMDK")
    assert is_descriptor("vm1-000001.vmdk")  # a snapshot's delta descriptor
    for extent in ("flat", "delta", "sesparse", "ctk", "rdm", "rdmp", "digest"):
        assert not is_descriptor(f"vm1-{extent}.vmdk"), extent
    assert not is_descriptor("vm1-digest-flat.vmdk")
    assert not is_descriptor("VM1-FLAT.VMDK")
    assert is_descriptor("backup-digest-server.vmdk")  # a VM named so


def test_vsan_vvol_and_inaccessible_datastores_are_not_searched() -> None:
    assert searchable("VMFS", True) and searchable("NFS41", True) and searchable("OTHER", None)
    assert searchable(None, True)
    assert not searchable("vsan", True)
    assert not searchable("vsanD", True)
    assert not searchable("PMEM", True)
    assert not searchable("VVOL", True)
    assert not searchable("VMFS", False)


def _file(name: str, size: int | None) -> Any:
    return _Browser.FileInfo(path=name, fileSize=size)


def searched(folders: dict[str, list[Any]]) -> DiskSearch:
    """A search of datastore ``ds1`` (``datastore-7``) that found these files, by folder."""
    search = DiskSearch()
    result = [
        _Browser.SearchResults(folderPath=path, file=files) for path, files in folders.items()
    ]
    for folder in folders_of(result):
        _add_folder(search, SearchTarget("datastore-7", "ds1"), folder)
    search.searched.add("datastore-7")
    return search


def test_a_descriptor_is_sized_with_its_extents_and_dot_folders_are_left_out() -> None:
    search = DiskSearch()
    ds = SearchTarget("datastore-7", "ds1")
    folder = _Browser.SearchResults(
        folderPath="[ds1] old-vm",
        file=[
            _file("old-vm.vmdk", 512),
            _file("old-vm-flat.vmdk", 10 << 30),
            _file("old-vm-ctk.vmdk", 1 << 20),
            _file("old-vm_1.vmdk", 512),
            _file("old-vm_1-rdmp.vmdk", 500 << 30),  # a raw mapping: the LUN's size
        ],
    )
    snapshot_dir = _Browser.SearchResults(
        folderPath="[ds1] .snapshot/hourly.0/old-vm", file=[_file("old-vm.vmdk", 512)]
    )
    root = _Browser.SearchResults(folderPath="[ds1]", file=[_file("loose.vmdk", None)])

    for found in folders_of([folder, snapshot_dir, root]):
        _add_folder(search, ds, found)

    assert list(search.scan().orphaned) == [
        OrphanedDiskRecord("datastore-7", "[ds1] loose.vmdk", None),
        OrphanedDiskRecord("datastore-7", "[ds1] old-vm/old-vm.vmdk", 512 + (10 << 30) + (1 << 20)),
        OrphanedDiskRecord("datastore-7", "[ds1] old-vm/old-vm_1.vmdk", 512),
    ]


def test_files_a_vm_uses_are_crossed_off_and_an_unknown_vm_reports_nothing() -> None:
    search = searched({"[ds1]/vm1": [_file("vm1.vmdk", 1), _file("old.vmdk", 2)]})

    search.cross_off(["[ds1] vm1/vm1.vmdk", None, "[ds2] vm1/old.vmdk"])
    assert search.scan() == DiskScan(
        frozenset({"datastore-7"}),
        (OrphanedDiskRecord("datastore-7", "[ds1] vm1/old.vmdk", 2),),
    )

    search.give_up("VM vm-9 could not be read")
    assert search.scan() == DiskScan()  # nothing searched: the stored files are kept


def test_a_disk_removed_from_its_vm_but_kept_on_the_datastore_is_orphaned(vcsim: Any) -> None:
    server = vcsim(TOPOLOGY)
    si = ops.connect(server)
    ops.create_snapshot(si, "DC0_C0_RP0_VM1", "before-patch")  # its layout names its disks
    vm = ops.find_vm(si, "DC0_C0_RP0_VM0")
    disk = next(d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk))
    path = disk.backing.fileName
    # "Remove from virtual machine" without "delete files from datastore".
    change = vim.vm.device.VirtualDeviceSpec(operation="remove", device=disk)
    ops.wait_for_task(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=[change])))

    def orphaned() -> list[tuple[str, str]]:
        snapshot = VCenterConnector(options_for(server)).collect(NullProgress())
        try:
            scan = snapshot.disk_scan
            datastores = {ds.external_id: ds.name for ds in snapshot.whole().datastores}
        finally:
            snapshot.close()
        assert scan is not None
        assert set(scan.datastores) == set(datastores)
        return [(datastores[r.datastore_external_id], r.path) for r in scan.orphaned]

    # Written moments ago (vcsim made it at start): it may be a disk a VM is being given.
    assert orphaned() == []
    ops.age_file(si, disk.backing.datastore, "DC0_C0_RP0_VM0/disk1.vmdk")
    assert orphaned() == [("LocalDS_0", "[LocalDS_0] DC0_C0_RP0_VM0/disk1.vmdk")]
    assert path == "[LocalDS_0] DC0_C0_RP0_VM0/disk1.vmdk"


def test_no_search_when_it_is_switched_off(vcsim: Any) -> None:
    server = vcsim(TOPOLOGY)

    snapshot = VCenterConnector(options_for(server, search_datastores=False)).collect(
        NullProgress()
    )
    snapshot.close()

    assert snapshot.disk_scan is None


def test_a_vm_showing_no_disk_claims_its_folder_or_stops_the_report() -> None:
    search = searched(
        {
            "[ds1] broken": [_file("broken.vmdk", 1), _file("broken_1.vmdk", 2)],
            "[ds1] old": [_file("old.vmdk", 3)],
        }
    )

    # Its configuration file is known: the disks beside it are taken as its own.
    search.read_vm(
        VmRecord(
            "vm-1", "broken", connection_state="inaccessible", config_path="[ds1] broken/broken.vmx"
        ),
        [],
    )
    assert [r.path for r in search.scan().orphaned] == ["[ds1] old/old.vmdk"]

    # Not even that: nothing can be told.
    search.read_vm(VmRecord("vm-2", "lost", connection_state="orphaned"), [])
    assert search.scan() == DiskScan()


def test_the_base_disks_under_a_delta_are_crossed_off_through_the_layout() -> None:
    search = searched(
        {"[ds1] app": [_file("app.vmdk", 1), _file("app-000001.vmdk", 1), _file("old.vmdk", 1)]}
    )
    # The running disk names the newest delta only; the layout lists the whole chain.
    search.read_vm(
        VmRecord("vm-1", "app"),
        [VmDiskRecord("d", "vm-1", "Hard disk 1", file_path="[ds1] app/app-000001.vmdk")],
    )
    layout = vim.vm.FileLayoutEx(
        file=[
            vim.vm.FileLayoutEx.FileInfo(key=0, name="[ds1] app/app.vmx", type="config"),
            vim.vm.FileLayoutEx.FileInfo(key=1, name="[ds1] app/app.vmdk", type="diskDescriptor"),
            vim.vm.FileLayoutEx.FileInfo(
                key=2, name="[ds1] app/app-000001.vmdk", type="diskDescriptor"
            ),
        ]
    )
    search.cross_off(layout_files(layout))

    assert [r.path for r in search.scan().orphaned] == ["[ds1] app/old.vmdk"]
    assert layout_files(None) == []


class _Task:
    """Stands for a search task whose properties the reader below cannot read."""

    def __init__(self) -> None:
        self.cancelled = False

    def CancelTask(self) -> None:
        self.cancelled = True


def test_tasks_that_cannot_be_read_end_the_search_not_the_read() -> None:
    search = DiskSearch()
    task = _Task()
    search.running["task-1"] = (SearchTarget("datastore-7", "ds1"), task)

    def refused(*_: Any) -> Any:
        raise vim.fault.NoPermission(privilegeId="System.Read")

    finish_searches(search, refused, refused)

    assert search.running == {} and task.cancelled
    assert search.scan() == DiskScan()  # nothing searched: the stored files are kept


SEARCH_ANSWER = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"
 xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body>
<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval>
<objects><obj type="Task">task-301</obj>
<propSet><name>info.result</name>
<val xsi:type="ArrayOfHostDatastoreBrowserSearchResults">
<HostDatastoreBrowserSearchResults xsi:type="HostDatastoreBrowserSearchResults">
<datastore type="Datastore">datastore-7</datastore>
<folderPath>[ds1] app-01</folderPath>
<file xsi:type="VmDiskFileInfo"><path>app-01.vmdk</path><fileSize>512</fileSize>
<diskType>VirtualDiskFlatVer2BackingInfo</diskType><capacityKb>10485760</capacityKb></file>
<file xsi:type="FileInfo"><path>app-01-flat.vmdk</path><fileSize>10737418240</fileSize>
<modification>2026-11-02T10:00:00Z</modification></file>
<file xsi:type="FileInfo"><path>app-01_1.vmdk</path></file>
</HostDatastoreBrowserSearchResults>
<HostDatastoreBrowserSearchResults xsi:type="HostDatastoreBrowserSearchResults">
<datastore type="Datastore">datastore-7</datastore>
<folderPath>[ds1] empty</folderPath>
</HostDatastoreBrowserSearchResults>
<HostDatastoreBrowserSearchResults xsi:type="HostDatastoreBrowserSearchResults">
<datastore type="Datastore">datastore-7</datastore>
</HostDatastoreBrowserSearchResults>
</val></propSet></objects>
</returnval></RetrievePropertiesExResponse>
</soapenv:Body></soapenv:Envelope>
"""
"""A search task's result as vCenter writes it: a disk's own file type, extents, a file
without a size, a folder without files, one without a path."""


def test_both_decoders_read_a_search_result_the_same() -> None:
    ours: list[FolderFiles] = []
    there = read_search_answer(LeanDecoder(), BytesIO(SEARCH_ANSWER.encode()), ours.append)
    stub = SoapStubAdapter(host="vc.example.com", version="vim.version.v7_0_3_0")
    info = vmodl.query.PropertyCollector._GetMethodInfo("RetrievePropertiesEx")
    answer = SoapResponseDeserializer(stub).Deserialize(
        BytesIO(SEARCH_ANSWER.encode()), info.result
    )
    theirs = answer.objects[0].propSet[0].val

    assert there
    assert (
        ours
        == folders_of(theirs)
        == [
            FolderFiles(
                "[ds1] app-01",
                [
                    ("app-01.vmdk", 512, None),
                    ("app-01-flat.vmdk", 10737418240, datetime(2026, 11, 2, 10, tzinfo=UTC)),
                    ("app-01_1.vmdk", None, None),
                ],
            ),
            FolderFiles("[ds1] empty", []),
            FolderFiles(None, []),
        ]
    )
    # A task gone since: nothing read, and not there.
    gone = SEARCH_ANSWER.replace(
        SEARCH_ANSWER[SEARCH_ANSWER.index("<propSet>") : SEARCH_ANSWER.index("</objects>")],
        "<missingSet><path></path><fault><fault xsi:type='ManagedObjectNotFound'>"
        "<obj type='Task'>task-301</obj></fault><localizedMessage/></fault></missingSet>",
    )
    assert not read_search_answer(LeanDecoder(), BytesIO(gone.encode()), ours.append)


def test_vms_read_before_the_files_are_known_are_crossed_off_when_they_are() -> None:
    claims = DiskSearch(known=False)
    claims.read_vm(
        VmRecord("vm-1", "app"),
        [VmDiskRecord("d", "vm-1", "Hard disk 1", file_path="[ds1] app/app.vmdk")],
    )
    claims.read_vm(
        VmRecord("vm-2", "lost", connection_state="inaccessible", config_path="[ds1] lost/l.vmx"),
        [],
    )
    assert claims.scan() == DiskScan()  # nothing is known yet

    claims.take_in(
        searched(
            {
                "[ds1] app": [_file("app.vmdk", 1), _file("old.vmdk", 2)],
                "[ds1] lost": [_file("lost.vmdk", 3)],
            }
        )
    )
    # A VM read from now on crosses its files off at once.
    claims.cross_off(["[ds1] app/old.vmdk"])
    assert claims.scan() == DiskScan(frozenset({"datastore-7"}), ())


def test_a_vm_not_known_before_the_files_come_in_still_stops_the_report() -> None:
    claims = DiskSearch(known=False)
    claims.give_up("VM vm-9 could not be read")
    claims.take_in(searched({"[ds1] old": [_file("old.vmdk", 3)]}))

    assert claims.scan() == DiskScan()


def test_descriptors_written_lately_are_left_for_a_later_read() -> None:
    since = datetime(2026, 12, 4, 9, tzinfo=UTC)
    search = DiskSearch(since=since)
    files = [
        ("old.vmdk", 1, since - timedelta(days=30)),
        ("new.vmdk", 2, since),  # a VM created while the VMs were read may use it
        ("new-flat.vmdk", 2, since),
        ("unknown.vmdk", 3, None),  # no time: it cannot be told
    ]
    _add_folder(search, SearchTarget("datastore-7", "ds1"), FolderFiles("[ds1] vm", files), since)

    assert list(search.found) == [("ds1", "vm/old.vmdk")]


def test_a_process_ending_mid_search_does_not_wait_for_it() -> None:
    # A search that never ends (its datastores never come): the process exits all the same.
    script = (
        "import threading\n"
        "from iroa.connectors.vcenter.disks import BackgroundSearch\n"
        "never = threading.Event()\n"
        "BackgroundSearch(lambda: never.wait() or [], None, None, None)\n"
        "print('left')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout == "left\n"
