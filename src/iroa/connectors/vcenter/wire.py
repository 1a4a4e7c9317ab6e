# pyVmomi's SOAP adapter carries no annotations.
# mypy: disable-error-code="no-untyped-call"
"""Calling a vSphere method and reading its answer as a stream, not through pyVmomi's decoder.

pyVmomi decodes a whole response into objects before it returns. For the
answers that can hold a whole inventory, IROA sends the request as pyVmomi
would (same serializer, session cookie and connection pool) and parses the
answer while it arrives, keeping only what it needs. A fault is still decoded
by pyVmomi and raised as pyVmomi raises it, so every caller's error handling
stays the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.client import HTTPConnection, HTTPException
from io import BufferedIOBase
from typing import Any, Final, TypeVar

from lxml import etree
from pyVmomi.SoapAdapter import SoapResponseDeserializer, SoapStubAdapter
from pyVmomi.VmomiSupport import ManagedObject

VIM25: Final = "urn:vim25"
_T = TypeVar("_T")

_OK: Final = 200
_FAULT: Final = 500


@dataclass(frozen=True, slots=True)
class SentCall:
    """A call whose request is sent and whose answer is not read yet (:func:`send_call`)."""

    stub: SoapStubAdapter
    info: Any
    method: str
    conn: HTTPConnection

    def discard(self) -> None:
        """Drop the call unread: its connection is closed, not reused."""
        self.conn.close()


def invoke_streamed(
    mo: ManagedObject, method: str, args: Sequence[object], read: Callable[[BufferedIOBase], _T]
) -> _T:
    """Call ``mo.method(*args)`` on its session; ``read`` parses the answer from the stream.

    A SOAP fault is raised as pyVmomi raises it (``vim.fault.NotAuthenticated``,
    ``vmodl.fault.InvalidArgument`` …); a transport error drops the pooled
    connections, as pyVmomi does.
    """
    return read_answer(send_call(mo, method, args), read)


def send_call(mo: ManagedObject, method: str, args: Sequence[object]) -> SentCall:
    """Send the request of ``mo.method(*args)`` on a connection of its own, without waiting
    for the answer: the server prepares it while the caller does something else. Read it
    with :func:`read_answer` (or :meth:`SentCall.discard` it)."""
    stub = mo._stub
    if not isinstance(stub, SoapStubAdapter):
        raise TypeError(f"{type(stub).__name__} cannot stream: a SoapStubAdapter is needed")
    info = type(mo)._GetMethodInfo(method)
    headers = {
        "Cookie": stub.cookie,
        "SOAPAction": stub.versionId,
        "Content-Type": "text/xml; charset=UTF-8",
        **(stub._customHeaders or {}),
    }
    body = stub.SerializeRequest(mo, info, list(args))
    conn = stub.GetConnection()
    try:
        conn.request("POST", stub.path, body, headers)
    except BaseException:
        conn.close()
        stub.DropConnections()  # the server may be sick: as pyVmomi does
        raise
    return SentCall(stub, info, method, conn)


def read_answer(call: SentCall, read: Callable[[BufferedIOBase], _T]) -> _T:
    """The answer of a call :func:`send_call` sent, parsed from the stream by ``read``."""
    stub, conn = call.stub, call.conn
    try:
        response = conn.getresponse()
        if response.status == _OK:
            result = read(response)
            response.read()  # the rest, if ``read`` stopped early: the connection is reused
        elif response.status == _FAULT:
            fault = SoapResponseDeserializer(stub).Deserialize(response, call.info.result)
            response.read()
        else:
            raise HTTPException(f"{response.status} {response.reason}")
    except BaseException:
        conn.close()
        stub.DropConnections()  # the server may be sick: as pyVmomi does
        raise
    stub.ReturnConnection(conn)
    if response.status == _FAULT:
        if isinstance(fault, BaseException):
            raise fault
        raise HTTPException(f"{call.method}: the server answered 500 without a fault")
    return result


def read_result(call: SentCall) -> Any:
    """What a call :func:`send_call` sent returns, decoded by pyVmomi."""
    deserializer = SoapResponseDeserializer(call.stub)
    return read_answer(call, lambda stream: deserializer.Deserialize(stream, call.info.result))


def _tag(name: str) -> str:
    return f"{{{VIM25}}}{name}"


_RETURNVAL: Final = _tag("returnval")
_VERSION: Final = _tag("version")
_TRUNCATED: Final = _tag("truncated")
_OBJECT_SET: Final = _tag("objectSet")


def read_update_version(stream: BufferedIOBase) -> tuple[str | None, bool]:
    """The ``version`` and ``truncated`` of a ``WaitForUpdatesEx`` answer, its updates skipped.

    ``(None, False)`` when the wait timed out with no update set. Each object
    update is dropped as soon as it has been parsed, so a first answer that
    holds a whole inventory costs no more memory than one object.
    """
    version: str | None = None
    truncated = False
    tags = (_OBJECT_SET, _VERSION, _TRUNCATED)
    for _, element in etree.iterparse(stream, events=("end",), tag=tags, huge_tree=True):
        parent = element.getparent()
        if parent is None:
            continue
        if parent.tag == _RETURNVAL:
            if element.tag == _VERSION:
                version = element.text or ""
            elif element.tag == _TRUNCATED:
                truncated = (element.text or "").strip() == "true"
        elif element.tag == _OBJECT_SET:
            element.clear()
            while element.getprevious() is not None:
                del parent[0]
    return version, truncated
