# pyVmomi's generated data object constructors carry no annotations.
# mypy: disable-error-code="no-untyped-call"
"""PropertyCollector mechanics: list objects through a ContainerView, read them in bounded pages.

Never attribute access on managed objects: each attribute is a round trip,
and vcsim drops the connection when one is unset.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import ManagedObject

from iroa.connectors.vcenter.decoder import Kept, LeanDecoder
from iroa.connectors.vcenter.wire import SentCall

PC = vmodl.query.PropertyCollector
_NotFound = vmodl.fault.ManagedObjectNotFound

Props = Mapping[str, object]
"""The properties of one object as the PropertyCollector returned them: ``{path: value}``."""


class PropertyCollectorLike(Protocol):
    """The PropertyCollector calls paging needs; tests pass a stand-in."""

    def RetrievePropertiesEx(
        self, specSet: list[PC.FilterSpec], options: PC.RetrieveOptions
    ) -> PC.RetrieveResult | None: ...

    def ContinueRetrievePropertiesEx(self, token: str) -> PC.RetrieveResult: ...

    def CancelRetrievePropertiesEx(self, token: str) -> None: ...


Batch = list[tuple[ManagedObject, dict[str, object]]]
"""Objects with their properties, as one request returned them."""


def retrieve_pages(
    collector: PropertyCollectorLike,
    spec: PC.FilterSpec,
    page_size: int,
    decoder: LeanDecoder | None = None,
    kept: Kept | None = None,
    sent: SentCall | None = None,
) -> Iterator[Batch]:
    """Yield the result of ``spec`` page by page, following continuation tokens to the end;
    objects deleted meanwhile are left out. With a ``decoder``, answers are decoded by it,
    not by pyVmomi, each property to the fields ``kept`` names for it (see
    :data:`~iroa.connectors.vcenter.properties.KEPT`); ``sent`` is the first request, if
    :func:`send_first` sent it already."""

    def read(method: str, *args: object) -> tuple[Batch, str | None]:
        nonlocal sent
        if decoder is not None and sent is not None:
            call, sent = sent, None
            return decoder.read_page(call, kept or {})
        if decoder is not None:
            return decoder.retrieve(collector, method, args, kept or {})
        result = getattr(collector, method)(*args)
        if result is None:
            return [], None
        batch = [
            (content.obj, {prop.name: prop.val for prop in content.propSet})
            for content in result.objects
            if not _is_deleted(content)
        ]
        return batch, result.token

    page, token = read("RetrievePropertiesEx", *_first_request(spec, page_size))
    try:
        while True:
            if page:
                yield page
            if not token:
                return
            page, token = read("ContinueRetrievePropertiesEx", token)
    finally:
        # A consumer that stops early must not leave a result set open on the server.
        if token:
            collector.CancelRetrievePropertiesEx(token)


def _first_request(spec: PC.FilterSpec, page_size: int) -> tuple[object, ...]:
    return [spec], PC.RetrieveOptions(maxObjects=page_size)


def send_first(
    collector: PropertyCollectorLike, spec: PC.FilterSpec, page_size: int, decoder: LeanDecoder
) -> SentCall:
    """Send the first request of :func:`retrieve_pages` now, to be read later."""
    return decoder.send(collector, "RetrievePropertiesEx", _first_request(spec, page_size))


def list_objects(content: vim.ServiceInstanceContent, vim_type: type) -> list[ManagedObject]:
    """Return every object of ``vim_type`` (subtypes included) below the root folder."""
    if content.viewManager is None:
        raise vmodl.fault.NotSupported(msg="this endpoint has no ViewManager")
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim_type], True)
    try:
        spec = PC.FilterSpec(
            objectSet=[PC.ObjectSpec(obj=view, skip=False)],
            propSet=[PC.PropertySpec(type=vim.view.ContainerView, pathSet=["view"])],
        )
        objects: list[ManagedObject] = []
        for page in retrieve_pages(content.propertyCollector, spec, page_size=1):
            for _, props in page:
                listed = props.get("view")
                if isinstance(listed, list):
                    objects.extend(listed)
        return objects
    finally:
        view.Destroy()


def retrieve_batches(
    collector: PropertyCollectorLike,
    objects: Sequence[ManagedObject],
    vim_type: type,
    paths: Sequence[str],
    batch_size: int,
    *,
    prefetch: bool = True,
    decoder: LeanDecoder | None = None,
    kept: Kept | None = None,
) -> Iterator[Batch]:
    """Yield ``(object, {path: value})`` for ``objects``, ``batch_size`` objects per request.

    Explicit object lists bound the size of each response even where the
    server ignores ``maxObjects`` (vcsim answers everything in one page).
    Objects deleted since they were listed are skipped. With ``prefetch``, the
    next batch is read while the caller works on the current one, and (with a
    ``decoder``) the one after it is asked for before that read, so the server's
    time to answer overlaps with ours; at most two batches are held.
    """
    specs = [
        PC.FilterSpec(
            objectSet=[
                PC.ObjectSpec(obj=obj, skip=False) for obj in objects[start : start + batch_size]
            ],
            propSet=[PC.PropertySpec(type=vim_type, pathSet=list(paths))],
            reportMissingObjectsInResults=True,
        )
        for start in range(0, len(objects), batch_size)
    ]

    def fetch(spec: PC.FilterSpec, sent: SentCall | None = None) -> Batch:
        pages = retrieve_pages(collector, spec, batch_size, decoder, kept, sent)
        return [item for page in pages for item in page]

    if not prefetch or len(specs) < 2:
        for spec in specs:
            yield fetch(spec)
        return

    def send(spec: PC.FilterSpec) -> SentCall | None:
        return send_first(collector, spec, batch_size, decoder) if decoder is not None else None

    # Leaving the pool waits for an outstanding request, also when the caller stops early.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vcenter-prefetch") as pool:
        pending = pool.submit(fetch, specs[0], send(specs[0]))
        upcoming: SentCall | None = None
        try:
            for spec in specs[1:]:
                # Asked for before the answer in hand is read: the server prepares the
                # next batch meanwhile (vcsim, for one, writes an answer only once whole).
                upcoming = send(spec)
                batch = pending.result()
                pending, upcoming = pool.submit(fetch, spec, upcoming), None
                yield batch
                del batch  # let the caller's batch go before the next one arrives
            yield pending.result()
        finally:
            if upcoming is not None:
                upcoming.discard()


def _is_deleted(content: PC.ObjectContent) -> bool:
    return any(isinstance(missing.fault, _NotFound) for missing in content.missingSet)


def moref_id(obj: object) -> str | None:
    """The managed object id (``vm-42``) of a managed object reference, else None."""
    if isinstance(obj, ManagedObject):
        value = getattr(obj, "_moId", None)  # pyVmomi's documented public id attribute
        return value if isinstance(value, str) else None
    return None


def moref_type(obj: object) -> str | None:
    """The vSphere type name (``ClusterComputeResource``) of a managed object reference."""
    return type_name(type(obj)) if isinstance(obj, ManagedObject) else None


def type_name(vim_type: type) -> str:
    """The vSphere name of a pyVmomi type (``DistributedVirtualPortgroup``)."""
    name = getattr(vim_type, "_wsdlName", None)
    return name if isinstance(name, str) else vim_type.__name__.rsplit(".", 1)[-1]
