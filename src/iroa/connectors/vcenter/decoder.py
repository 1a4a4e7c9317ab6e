# pyVmomi's type registry carries no annotations.
# mypy: disable-error-code="no-untyped-call"
"""Lean decoding of the bulk PropertyCollector answers: XML to property values, nothing more.

pyVmomi decodes an answer element by element in Python, building every data
object with all its properties and checking each value it sets; for a VM's
``config.hardware.device`` that is most of a full read. This decoder parses an
answer with lxml (C) one ``objects`` element at a time, and builds only what
IROA's mapping reads (:data:`~iroa.connectors.vcenter.properties.KEPT`): the
fields it keeps of each property, into pyVmomi's own classes (so the one
mapping serves both decoders, and ``isinstance`` works), without the checks.
A field it does not keep has the value pyVmomi gives a field the server did
not send.

Values keep their types exactly as pyVmomi decodes them: ``xsi:type`` chooses
the class of polymorphic values (device kinds, backings, snapshot trees),
arrays are typed lists, enumerations and managed object references are
pyVmomi's. An element the schema does not know is skipped. The differential
test (``tests/connectors/vcenter/test_decoder.py``) holds both decoders equal,
record by record.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from io import BufferedIOBase
from typing import Any, Final, cast

from lxml import etree
from pyVmomi import Iso8601, vim, vmodl
from pyVmomi.VmomiSupport import (
    F_OPTIONAL,
    XMLNS_VMODL_BASE,
    XMLNS_XSD,
    XMLNS_XSI,
    DataObject,
    Enum,
    GetWsdlType,
    GuessWsdlType,
    ManagedMethod,
    ManagedObject,
    PropertyPath,
    binary,
    byte,
    double,
    long,
    short,
)

from iroa.connectors.vcenter.wire import (
    VIM25,
    SentCall,
    invoke_streamed,
    read_answer,
    send_call,
)

Kept = Mapping[str, Any]
"""The fields of a value to decode, each with the fields of its own value (None: all of it)."""

Props = dict[str, object]

_XSI_TYPE: Final = f"{{{XMLNS_XSI}}}type"
_NS: Final = f"{{{VIM25}}}"
_OBJECTS: Final = f"{_NS}objects"
_TOKEN: Final = f"{_NS}token"
_RETURNVAL: Final = f"{_NS}returnval"
_PROP_SET: Final = f"{_NS}propSet"
_PROPSET_CHILDREN: Final = etree.XPath("v:propSet/*", namespaces={"v": VIM25})
_NAME: Final = f"{_NS}name"
_VAL: Final = f"{_NS}val"
_OBJ: Final = f"{_NS}obj"
_MISSING_SET: Final = f"{_NS}missingSet"
_NS_LENGTH: Final = len(_NS)
_DYNAMIC: Final = (ManagedMethod, PropertyPath, type)
_UNKNOWN: Final = object()
_Decode = Callable[[etree._Element, "Kept | None"], object]
_NotFound = vmodl.fault.ManagedObjectNotFound
_UpdateSet = vmodl.query.PropertyCollector.UpdateSet
_Event = vim.event.Event
_UPDATE_NAMES: Final = {
    "version": None,
    "truncated": None,
    "filterSet": {"objectSet": {"obj": None, "kind": None, "changeSet": {"name": None}}},
}


class DecodeError(ValueError):
    """An answer this decoder cannot read: not XML, or a value not of its declared type."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    tag: str
    type: Any
    is_list: bool
    text: Callable[[str], object] | None
    """How to decode the field from its text alone: for a field of a scalar type, which a
    subtype cannot change."""


@dataclass(frozen=True, slots=True)
class _Shape:
    """What building one data object class takes: its fields and their unset values."""

    fields: Mapping[str, _Field]
    defaults: Mapping[str, object]
    lists: tuple[tuple[str, type], ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    """How :meth:`LeanDecoder.read_fields` reads some fields of one data object class."""

    slots: Mapping[str, tuple[int, _Field | None]]
    """By child tag: where its value goes, and how to decode it (None: the element)."""
    defaults: tuple[object, ...]
    lists: tuple[tuple[int, type], ...]


class LeanDecoder:
    """Decodes values of one session's answers (its stub goes into the references it makes)."""

    def __init__(self, stub: object = None) -> None:
        self._stub = stub
        self._types: dict[tuple[str, str], type | None] = {}
        self._shapes: dict[type, _Shape] = {}
        self._refs: dict[str, type] = {}
        self._decoders: dict[type, _Decode] = {}
        self._by_type: dict[tuple[str | None, Any], _Decode] = {}
        self._fields: dict[tuple[type, str], tuple[_Field | None, object]] = {}
        self._by_qualified: dict[str, type | None] = {}
        self._kept_tags: dict[int, tuple[Kept, tuple[str, ...]]] = {}
        self._scalar: dict[str | None, Callable[[str], object] | None] = {}
        self._plans: dict[tuple[type, tuple[str, ...], frozenset[str]], _Plan] = {}

    def retrieve(
        self, collector: object, method: str, args: Sequence[object], kept: Kept
    ) -> tuple[list[tuple[ManagedObject, Props]], str | None]:
        """Call ``RetrievePropertiesEx`` or ``ContinueRetrievePropertiesEx`` on ``collector``
        and decode its answer as :meth:`page` does."""
        if not isinstance(collector, ManagedObject):
            raise TypeError("lean decoding reads from the PropertyCollector of a session")
        return invoke_streamed(collector, method, args, lambda stream: self.page(stream, kept))

    def send(self, collector: object, method: str, args: Sequence[object]) -> SentCall:
        """Send ``RetrievePropertiesEx`` to ``collector`` without reading its answer yet
        (see :func:`~iroa.connectors.vcenter.wire.send_call`): :meth:`read_page` reads it."""
        if not isinstance(collector, ManagedObject):
            raise TypeError("lean decoding reads from the PropertyCollector of a session")
        return send_call(collector, method, args)

    def read_page(
        self, call: SentCall, kept: Kept
    ) -> tuple[list[tuple[ManagedObject, Props]], str | None]:
        """The answer of a call :meth:`send` sent, decoded as :meth:`page` does."""
        return read_answer(call, lambda stream: self.page(stream, kept))

    def page(
        self, stream: BufferedIOBase, kept: Kept
    ) -> tuple[list[tuple[ManagedObject, Props]], str | None]:
        """A ``RetrievePropertiesEx``/``ContinueRetrievePropertiesEx`` answer: each object
        with ``{path: value}`` of the paths in ``kept``, deleted objects left out, and the
        continuation token."""
        objects: list[tuple[ManagedObject, Props]] = []
        token: str | None = None
        try:
            for element in _returnval_children(stream, (_OBJECTS, _TOKEN)):
                if element.tag == _TOKEN:
                    token = element.text or None
                else:
                    found = self._object(element, kept)
                    if found is not None:
                        objects.append(found)
        except etree.XMLSyntaxError as exc:
            raise DecodeError(f"the answer is not well-formed XML: {exc}") from exc
        return objects, token

    def wait_for_updates(
        self, collector: object, version: str, options: vmodl.query.PropertyCollector.WaitOptions
    ) -> vmodl.query.PropertyCollector.UpdateSet | None:
        """``WaitForUpdatesEx`` on ``collector``: which objects entered, changed or left, with
        the names of their changed properties (not their values: a watcher reads a changed
        object again)."""
        if not isinstance(collector, ManagedObject):
            raise TypeError("lean decoding reads from the PropertyCollector of a session")
        return invoke_streamed(collector, "WaitForUpdatesEx", (version, options), self.update_set)

    def update_set(self, stream: BufferedIOBase) -> vmodl.query.PropertyCollector.UpdateSet | None:
        """A ``WaitForUpdatesEx`` answer (see :meth:`wait_for_updates`); None if the wait
        ended with nothing to report."""
        try:
            for _, element in etree.iterparse(stream, tag=_RETURNVAL, huge_tree=True):
                update_set: Any = self.value(element, _UpdateSet, _UPDATE_NAMES)
                return update_set  # type: ignore[no-any-return]
        except etree.XMLSyntaxError as exc:
            raise DecodeError(f"the answer is not well-formed XML: {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise DecodeError(f"an update set: {exc}") from exc
        return None

    def read_next_events(self, collector: object, max_count: int) -> list[Any]:
        """``ReadNextEvents`` on an EventHistoryCollector: its next events, each whole."""
        if not isinstance(collector, ManagedObject):
            raise TypeError("lean decoding reads from the collectors of a session")
        return invoke_streamed(collector, "ReadNext", (max_count,), self.events)

    def events(self, stream: BufferedIOBase) -> list[Any]:
        """A ``ReadNextEvents`` answer: the events, as pyVmomi would decode them."""
        events: list[Any] = []
        try:
            for _, element in etree.iterparse(stream, tag=_RETURNVAL, huge_tree=True):
                events.append(self.value(element, _Event))
                element.clear()
        except etree.XMLSyntaxError as exc:
            raise DecodeError(f"the answer is not well-formed XML: {exc}") from exc
        except (ValueError, TypeError) as exc:
            raise DecodeError(f"an event: {exc}") from exc
        return events

    def field(self, element: etree._Element, cls: Any, name: str) -> Any:
        """One field of the data object of class ``cls`` that ``element`` holds, as pyVmomi
        would have it: the value sent, else the value pyVmomi gives a field not sent; None
        if ``cls`` has no such field. No object is built for it (:meth:`read_fields` reads
        several of one object in one pass)."""
        info, default = self._field_info(cls, name)
        if info is None:
            return None
        if info.is_list:
            return self._items(element.iterchildren(info.tag), info)
        return self._field_value(next(element.iterchildren(info.tag), None), info, default)

    def read_fields(
        self,
        element: etree._Element,
        cls: Any,
        names: tuple[str, ...],
        raw: frozenset[str] = frozenset(),
    ) -> list[Any]:
        """The fields ``names`` of the data object of class ``cls`` that ``element`` holds,
        in that order, each as :meth:`field` reads it, in one pass over its children (a
        device has about ten); of the fields in ``raw``, their element (None: not sent),
        for reading fields of their own values."""
        plan = self._plans.get((cls, names, raw))
        if plan is None:
            plan = self._plans[cls, names, raw] = self._plan(cls, names, raw)
        values: list[Any] = list(plan.defaults)
        for index, list_type in plan.lists:
            values[index] = list_type()
        slots = plan.slots
        for child in element:
            slot = slots.get(child.tag)
            if slot is None:
                continue
            index, info = slot
            if info is None:
                values[index] = child
            elif info.text is not None:
                value = info.text(child.text or "")
                if info.is_list:
                    values[index].append(value)
                else:
                    values[index] = value
            elif info.is_list:
                values[index].append(self.value(child, info.type.Item))
            else:
                values[index] = self.value(child, info.type)
        return values

    def _plan(self, cls: Any, names: tuple[str, ...], raw: frozenset[str]) -> _Plan:
        slots: dict[str, tuple[int, _Field | None]] = {}
        defaults: list[object] = []
        lists: list[tuple[int, type]] = []
        for index, name in enumerate(names):
            info, default = self._field_info(cls, name)
            defaults.append(None if name in raw else default)
            if info is None:
                continue
            slots[info.tag] = (index, None if name in raw else info)
            if info.is_list and name not in raw:
                lists.append((index, info.type))
        return _Plan(slots, tuple(defaults), tuple(lists))

    def _field_info(self, cls: Any, name: str) -> tuple[_Field | None, object]:
        # Looked up once per class and name: a VM's devices are ~50 fields.
        found = self._fields.get((cls, name))
        if found is None:
            shape = self._shape(cls)
            found = self._fields[cls, name] = (shape.fields.get(name), shape.defaults.get(name))
        return found

    def _field_value(self, child: etree._Element | None, info: _Field, default: object) -> Any:
        if child is None:
            return default
        if info.text is not None:
            return info.text(child.text or "")
        return self.value(child, info.type)

    def _items(self, children: Iterable[etree._Element], info: _Field) -> list[Any]:
        """An array field's items, sent as one element each."""
        text, item = info.text, info.type.Item
        return info.type(  # type: ignore[no-any-return]
            text(child.text or "") if text is not None else self.value(child, item)
            for child in children
        )

    def class_of(self, element: etree._Element, declared: type) -> Any:
        """The class of the value ``element`` holds: its ``xsi:type``, else ``declared``."""
        qualified = element.get(_XSI_TYPE)
        if not qualified:
            return declared
        found = self._by_qualified.get(qualified, _UNKNOWN)
        if found is _UNKNOWN:
            found = self._qualified(qualified, element)
        return found if found is not None else declared

    def _object(self, element: etree._Element, kept: Kept) -> tuple[ManagedObject, Props] | None:
        # An object's ~40 properties, paired in C: libxml2 returns each propSet's <name>
        # and <val> in one list, where a Python loop over the propSets took twice as long.
        items = cast(list[etree._Element], _PROPSET_CHILDREN(element))
        first = element[0] if len(element) else None
        if (
            first is None
            or first.tag != _OBJ
            or len(items) != 2 * (len(element) - 1)
            or not all(item.tag == _NAME for item in items[::2])
        ):
            return self._object_in_any_order(element, kept)
        obj = self._ref(first)
        props: Props = {}
        scalar = self._scalar
        pairs = iter(items)
        for name_element, val in zip(pairs, pairs, strict=True):
            name = name_element.text
            if name is None:
                continue
            spec = kept.get(name)
            try:
                if spec is None:
                    # Most properties are one scalar: decoded by its xsi:type alone.
                    qualified = val.get(_XSI_TYPE)
                    if qualified in scalar:
                        decode_text = scalar[qualified]
                    else:
                        decode_text = self._scalar_of(qualified, val)
                    if decode_text is not None:
                        props[name] = decode_text(val.text or "")
                        continue
                props[name] = spec(self, val) if callable(spec) else self.value(val, object, spec)
            except (ValueError, TypeError) as exc:
                raise DecodeError(f"{name} of {obj!r}: {exc}") from exc
        return obj, props

    def _object_in_any_order(
        self, element: etree._Element, kept: Kept
    ) -> tuple[ManagedObject, Props] | None:
        """:meth:`_object` for an object element not laid out as servers lay them out
        (``obj`` first, then ``propSet`` elements of a name and a value): or one with a
        ``missingSet``."""
        obj: ManagedObject | None = None
        props: Props = {}
        for child in element:
            tag = child.tag
            if tag == _OBJ:
                obj = self._ref(child)
            elif tag == _PROP_SET:
                name, val = child.findtext(_NAME), child.find(_VAL)
                if name is not None and val is not None:
                    spec = kept.get(name)
                    try:
                        props[name] = (
                            spec(self, val) if callable(spec) else self.value(val, object, spec)
                        )
                    except (ValueError, TypeError) as exc:
                        raise DecodeError(f"{name} of {obj!r}: {exc}") from exc
            elif tag == _MISSING_SET and self._is_not_found(child):
                return None
        return None if obj is None else (obj, props)

    def _scalar_of(
        self, qualified: str | None, element: etree._Element
    ) -> Callable[[str], object] | None:
        """How to decode a property value whose ``xsi:type`` is ``qualified`` from its text
        alone, as :meth:`value` would: None if it is not of a scalar type or enumeration."""
        cls = self._class(element, qualified, object)
        decode_text: Callable[[str], object] | None = _TEXT.get(cls)
        if decode_text is None and isinstance(cls, type) and issubclass(cls, Enum):
            # A value newer than pyVmomi's enumeration stays a plain string.
            decode_text = functools.partial(_enum_value, cls)
        self._scalar[qualified] = decode_text
        return decode_text

    def _is_not_found(self, missing: etree._Element) -> bool:
        fault = missing.find(f"{_NS}fault/{_NS}fault")
        return fault is not None and issubclass(self.class_of(fault, object), _NotFound)

    def value(self, element: etree._Element, declared: Any, kept: Kept | None = None) -> object:
        """One element as pyVmomi would decode it where the schema says ``declared``."""
        # Looked up once per xsi:type and declared type: a full read decodes ~40 values a VM.
        key = (element.get(_XSI_TYPE), declared)
        decode = self._by_type.get(key)
        if decode is None:
            decode = self._by_type[key] = self._decode(self._class(element, *key))
        return decode(element, kept)

    def _class(self, element: etree._Element, qualified: str | None, declared: Any) -> Any:
        """The class of a value whose ``xsi:type`` is ``qualified`` where the schema says
        ``declared``."""
        if qualified and declared not in _DYNAMIC:
            found = self._qualified(qualified, element)
            if found is not None and not (issubclass(found, list) and issubclass(declared, list)):
                return found
        elif not qualified and issubclass(declared, list):
            return declared.Item
        return declared

    def _decode(self, cls: type) -> _Decode:
        """How to decode an element of class ``cls`` (its ``xsi:type`` already applied)."""
        decode = self._decoders.get(cls)
        if decode is None:
            decode = self._decoders[cls] = self._decode_for(cls)
        return decode

    def _decode_for(self, cls: Any) -> _Decode:
        if issubclass(cls, list):
            item = cls.Item
            return lambda element, kept: cls(self.value(c, item, kept) for c in element)
        if issubclass(cls, DataObject):
            return lambda element, kept: self._data(element, cls, kept)
        if issubclass(cls, ManagedObject):
            return lambda element, _: self._ref(element)
        if cls is str:
            return lambda element, _: element.text or ""
        if cls is bool:
            return lambda element, _: _boolean(element.text or "")
        if cls is type:
            return lambda element, _: self._named_type(element.text) if element.text else None
        if cls is binary:
            return lambda element, _: binary(base64.b64decode(element.text or ""))
        if issubclass(cls, Enum):
            # A value newer than pyVmomi's enumeration stays a plain string.
            return lambda element, _: getattr(cls, element.text or "", element.text or "")
        if cls is datetime:
            return lambda element, _: _datetime(element.text or "")
        return lambda element, _: cls(element.text or "")

    def _data(self, element: etree._Element, cls: Any, kept: Kept | None) -> object:
        shape = self._shape(cls)
        obj = cls.__new__(cls)
        values = obj.__dict__
        values.update(shape.defaults)
        for name, list_type in shape.lists:
            values[name] = list_type()
        fields = shape.fields
        # lxml picks the kept fields out in C: the others are never looked at.
        children = element.iterchildren(*self._tags(kept)) if kept is not None else element
        for child in children:
            tag = child.tag
            if not isinstance(tag, str) or not tag.startswith(_NS):
                continue  # a comment, or an element of another namespace
            name = tag[_NS_LENGTH:]
            field = fields.get(name)
            if field is None:
                continue  # a field of a newer API than pyVmomi's
            if field.text is not None:
                value = field.text(child.text or "")
            else:
                value = self.value(child, field.type, None if kept is None else kept[name])
            if field.is_list and not isinstance(value, list):
                values[name].append(value)
            else:
                values[name] = value
        if isinstance(obj, vmodl.LocalizedMethodFault):
            fault = obj.fault
            if fault is not None:
                fault.msg = obj.localizedMessage
            return fault
        return obj

    def _tags(self, kept: Kept) -> tuple[str, ...]:
        """The qualified tags of the fields ``kept`` names (``kept`` is held with them, so
        its id is not reused while cached)."""
        found = self._kept_tags.get(id(kept))
        if found is None:
            found = self._kept_tags[id(kept)] = (kept, tuple(f"{_NS}{name}" for name in kept))
        return found[1]

    def _ref(self, element: etree._Element) -> ManagedObject:
        type_name = element.get("type") or "ManagedObject"
        cls = self._refs.get(type_name)
        if cls is None:
            cls = self._refs[type_name] = self._named_type(type_name) or ManagedObject
        return cls(element.text or "", self._stub, element.get("serverGuid"))  # type: ignore[no-any-return]

    def _qualified(self, qualified: str, element: etree._Element) -> type | None:
        """The class an ``xsi:type`` value names; its prefix is resolved where first seen
        (a server binds a prefix to one namespace throughout)."""
        found = self._by_qualified.get(qualified, _UNKNOWN)
        if found is _UNKNOWN:
            prefix, _, name = qualified.rpartition(":")
            namespace = (element.nsmap.get(prefix) if prefix else None) or (
                XMLNS_XSD if prefix == "xsd" else VIM25
            )
            found = self._by_qualified[qualified] = self._lookup(namespace, name)
        return found  # type: ignore[return-value]

    def _named_type(self, qualified: str) -> type | None:
        return self._lookup(VIM25, qualified.rpartition(":")[2])

    def _lookup(self, namespace: str, name: str) -> type | None:
        key = (namespace, name)
        if key not in self._types:
            found: type | None = None
            # As pyVmomi looks a type up: ``ArrayOfManagedObjectReference`` is its
            # ``ArrayOfManagedObject``, a type of another namespace is guessed from its name.
            names = [name[: -len("Reference")]] if name.endswith("ManagedObjectReference") else []
            for lookup in (
                lambda: GetWsdlType(namespace, name),
                *(lambda n=n: GetWsdlType(XMLNS_VMODL_BASE, n) for n in names),
                lambda: GuessWsdlType(name),
            ):
                try:
                    found = lookup()
                    break
                except KeyError:
                    continue
            self._types[key] = found
        return self._types[key]

    def _shape(self, cls: type) -> _Shape:
        shape = self._shapes.get(cls)
        if shape is None:
            shape = self._shapes[cls] = _shape_of(cls)
        return shape


def _enum_value(cls: type, text: str) -> object:
    return getattr(cls, text, text)


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true"):
        return True
    if lowered in ("0", "false"):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def _datetime(text: str) -> datetime:
    # The standard library's parser (C) reads what servers send, the same instant as
    # pyVmomi's (its UTC is datetime's own) in a thirtieth of the time: a full read parses
    # ~4 per VM. pyVmomi's reads the rest.
    with suppress(ValueError):
        return datetime.fromisoformat(text)
    parsed = Iso8601.ParseISO8601(text)
    if parsed is None:
        raise ValueError(f"not a date and time: {text!r}")
    return parsed  # type: ignore[no-any-return]


_TEXT: Final[Mapping[type, Callable[[str], object]]] = {
    str: str,
    bool: _boolean,
    int: int,
    long: long,
    short: short,
    byte: byte,
    float: float,
    double: double,
    datetime: _datetime,
}
"""Scalar types decoded from an element's text, as pyVmomi decodes them."""


def _shape_of(cls: Any) -> _Shape:
    """The fields of a data object class and the values pyVmomi gives those not sent."""
    fields: dict[str, _Field] = {}
    defaults: dict[str, object] = {}
    lists: list[tuple[str, type]] = []
    for info in cls._GetPropertyList():
        is_list = issubclass(info.type, list)
        item = info.type.Item if is_list else info.type
        fields[info.name] = _Field(
            info.name, f"{_NS}{info.name}", info.type, is_list, _TEXT.get(item)
        )
        if is_list:
            lists.append((info.name, info.type))
        else:
            defaults[info.name] = _unset(info)
    return _Shape(fields, defaults, tuple(lists))


def _unset(info: Any) -> object:
    """What pyVmomi's constructor sets a field to (``DataObject.__init__``)."""
    kind = info.type
    if info.flags & F_OPTIONAL:
        return None
    if kind is bool:
        return False
    if issubclass(kind, Enum):
        return None
    if issubclass(kind, str):
        return ""
    if issubclass(kind, int | float):
        return kind(0)
    return None


def _returnval_children(stream: BufferedIOBase, tags: tuple[str, ...]) -> Iterator[etree._Element]:
    """The children of an answer's ``returnval`` with one of ``tags``, each dropped once
    the caller is done with it (at most one in memory)."""
    for _, element in etree.iterparse(stream, events=("end",), tag=tags, huge_tree=True):
        parent = element.getparent()
        if parent is None or parent.tag != _RETURNVAL:
            continue
        yield element
        element.clear()
        while element.getprevious() is not None:
            del parent[0]
