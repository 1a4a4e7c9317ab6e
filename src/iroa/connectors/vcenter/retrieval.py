# pyVmomi's generated data object constructors carry no annotations.
# mypy: disable-error-code="no-untyped-call"
"""PropertyCollector mechanics: list objects through a ContainerView, read them in bounded pages.

Never attribute access on managed objects: each attribute is a round trip,
and vcsim drops the connection when one is unset.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from pyVmomi import vim, vmodl
from pyVmomi.VmomiSupport import ManagedObject

PC = vmodl.query.PropertyCollector

Props = Mapping[str, object]
"""The properties of one object as the PropertyCollector returned them: ``{path: value}``."""


class PropertyCollectorLike(Protocol):
    """The two PropertyCollector calls paging needs; a stand-in in tests."""

    def RetrievePropertiesEx(
        self, specSet: list[PC.FilterSpec], options: PC.RetrieveOptions
    ) -> PC.RetrieveResult | None: ...

    def ContinueRetrievePropertiesEx(self, token: str) -> PC.RetrieveResult: ...

    def CancelRetrievePropertiesEx(self, token: str) -> None: ...


def retrieve_pages(
    collector: PropertyCollectorLike, spec: PC.FilterSpec, page_size: int
) -> Iterator[list[PC.ObjectContent]]:
    """Yield the result of ``spec`` page by page, following continuation tokens to the end."""
    result = collector.RetrievePropertiesEx([spec], PC.RetrieveOptions(maxObjects=page_size))
    token: str | None = None
    try:
        while result is not None:
            token = result.token
            yield list(result.objects)
            if not token:
                return
            result = collector.ContinueRetrievePropertiesEx(token)
        token = None
    finally:
        # A consumer that stops early must not leave a result set open on the server.
        if token:
            collector.CancelRetrievePropertiesEx(token)


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
            for item in page:
                for prop in item.propSet:
                    if prop.name == "view" and isinstance(prop.val, list):
                        objects.extend(prop.val)
        return objects
    finally:
        view.Destroy()


def retrieve_batches(
    collector: PropertyCollectorLike,
    objects: Sequence[ManagedObject],
    vim_type: type,
    paths: Sequence[str],
    batch_size: int,
) -> Iterator[list[tuple[ManagedObject, dict[str, object]]]]:
    """Yield ``(object, {path: value})`` for ``objects``, ``batch_size`` objects per request.

    Explicit object lists bound the size of each response even where the
    server ignores ``maxObjects`` (vcsim answers everything in one page).
    Objects deleted since they were listed are skipped.
    """
    for start in range(0, len(objects), batch_size):
        spec = PC.FilterSpec(
            objectSet=[
                PC.ObjectSpec(obj=obj, skip=False) for obj in objects[start : start + batch_size]
            ],
            propSet=[PC.PropertySpec(type=vim_type, pathSet=list(paths))],
            reportMissingObjectsInResults=True,
        )
        batch: list[tuple[ManagedObject, dict[str, object]]] = []
        for page in retrieve_pages(collector, spec, batch_size):
            batch.extend(
                (content.obj, {prop.name: prop.val for prop in content.propSet})
                for content in page
                if not _is_deleted(content)
            )
        yield batch


def _is_deleted(content: PC.ObjectContent) -> bool:
    return any(
        isinstance(missing.fault, vmodl.fault.ManagedObjectNotFound)
        for missing in content.missingSet
    )


def moref_id(obj: object) -> str | None:
    """The managed object id (``vm-42``) of a managed object reference, else None."""
    if isinstance(obj, ManagedObject):
        value = getattr(obj, "_moId", None)  # pyVmomi's documented public id attribute
        return value if isinstance(value, str) else None
    return None


def moref_type(obj: object) -> str | None:
    """The vSphere type name (``ClusterComputeResource``) of a managed object reference."""
    if isinstance(obj, ManagedObject):
        name = getattr(type(obj), "_wsdlName", None)
        return name if isinstance(name, str) else None
    return None
