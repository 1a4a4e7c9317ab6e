"""vSphere tags: categories, tags and their attachments, read from vCenter's REST API.

Tags live in the vAPI, not in the SOAP PropertyCollector: under ``/api/cis/...``
on vCenter 7.0 and later, under ``/rest/com/vmware/cis/...`` on 6.5 and later
(the first is tried first; a 404 for its login moves on to the second). One
REST session per read, opened with the integration's login and TLS settings;
the catalog (categories, then tags) is read once, and attachments in bulk
(``list-attached-tags-on-objects``) a batch of objects at a time, so the calls
grow with the tags and batches, never one per object.

A vCenter without the tagging API, or a user without the permission to read
it, is no reason to fail a sync: :func:`open_tagging` then gives the one-line
reason instead of a reader, and the collector keeps the stored tags.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import httpx

from iroa.connectors.base import ConnectionOptions, TagRecord
from iroa.connectors.values import Endpoint
from iroa.redaction import clean_message

log = logging.getLogger(__name__)

TAG_KIND: Final = "vsphere_tag"
"""The ``kind`` of a tag record holding a vSphere tag: key = category, value = tag name."""

SESSION_HEADER: Final = "vmware-api-session-id"
ATTACHED_BATCH: Final = 1_000
"""Objects per ``list-attached-tags-on-objects`` call."""


@dataclass(frozen=True, slots=True)
class Dialect:
    """Where one generation of the vAPI answers, and how it writes its answers."""

    session: str
    tagging: str
    action: str
    """The query parameter naming an action (``~action`` on ``/rest``)."""
    id_prefix: str
    """Before an id in a path (``id:`` on ``/rest``)."""
    wrapped: bool
    """Answers come as ``{"value": …}`` (``/rest``) rather than bare (``/api``)."""


API: Final = Dialect("/api/session", "/api/cis/tagging", "action", "", wrapped=False)
REST: Final = Dialect(
    "/rest/com/vmware/cis/session", "/rest/com/vmware/cis/tagging", "~action", "id:", wrapped=True
)
DIALECTS: Final = (API, REST)


class TaggingUnavailableError(Exception):
    """The tagging API cannot be read; the message is one secret-free line."""


@dataclass(frozen=True, slots=True)
class TagName:
    """A tag as objects carry it: its id, its category's name and its own."""

    id: str
    category: str
    name: str


class TagReader:
    """Reads the tag catalog and the tags attached to objects over one REST session."""

    def __init__(
        self, http: httpx.Client, endpoint: Endpoint, user: str | None, password: str | None
    ) -> None:
        self.dialect = REST
        self._http = http
        self._endpoint = endpoint
        self._user = user or ""
        self._password = password
        self.names: dict[str, TagName] = {}
        """Every tag by its id, filled by :meth:`read_catalog`."""

    def read_catalog(self) -> None:
        """Read every category, then every tag, by id."""
        categories: dict[str, str] = {}
        # One deleted between its list and its own read is gone (HTTP 404): left out.
        base, prefix = self.dialect.tagging, self.dialect.id_prefix
        for category_id in self._ids(self.call("GET", f"{base}/category"), "category"):
            category = self.call("GET", f"{base}/category/{prefix}{category_id}", gone_ok=True)
            if category is not None:
                categories[category_id] = _text(category, "name", "category")
        for tag_id in self._ids(self.call("GET", f"{base}/tag"), "tag"):
            tag = self.call("GET", f"{base}/tag/{prefix}{tag_id}", gone_ok=True)
            if tag is None:
                continue
            category_id = _text(tag, "category_id", "tag")
            category = categories.get(category_id)
            if category is None:  # created between the two lists
                continue
            self.names[tag_id] = TagName(tag_id, category, _text(tag, "name", "tag"))

    def attached(self, objects: Sequence[tuple[str, str]]) -> dict[str, list[TagName]]:
        """The tags attached to each of ``objects`` (type name, moref id), by moref id."""
        found: dict[str, list[TagName]] = {}
        for start in range(0, len(objects), ATTACHED_BATCH):
            batch = objects[start : start + ATTACHED_BATCH]
            body = {"object_ids": [{"type": kind, "id": ref} for kind, ref in batch]}
            answer = self.call(
                "POST",
                f"{self.dialect.tagging}/tag-association",
                params={self.dialect.action: "list-attached-tags-on-objects"},
                json=body,
            )
            if answer is not None and not isinstance(answer, list):
                raise self.unexpected("attachments")
            for item in answer or ():
                object_id = item.get("object_id") if isinstance(item, dict) else None
                ref = object_id.get("id") if isinstance(object_id, dict) else None
                tag_ids = (item.get("tag_ids") or []) if isinstance(item, dict) else None
                if not isinstance(ref, str) or not isinstance(tag_ids, list):
                    raise self.unexpected("attachments")
                names = [self.names[t] for t in tag_ids if isinstance(t, str) and t in self.names]
                if names:
                    found.setdefault(ref, []).extend(names)
        return found

    def _ids(self, answer: Any, what: str) -> list[str]:
        if answer is None:  # an empty list, as some servers write it
            return []
        if not isinstance(answer, list) or not all(isinstance(i, str) for i in answer):
            raise self.unexpected(f"{what} list")
        return list(answer)

    def call(self, method: str, path: str, *, gone_ok: bool = False, **kwargs: Any) -> Any:
        """One call; its answer's ``value`` (None for HTTP 404 if ``gone_ok``). Every failure
        becomes a one-line error."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise TaggingUnavailableError(f"{self._endpoint} did not answer in time") from None
        except httpx.HTTPError as exc:
            reason = clean_message(f"{type(exc).__name__}: {exc}", self._password)
            raise TaggingUnavailableError(f"cannot reach {self._endpoint}: {reason}") from None
        status = response.status_code
        if status == 401 and path == self.dialect.session:
            raise TaggingUnavailableError(
                f"{self._endpoint} refused the REST API login of user {self._user!r} (HTTP 401)"
            )
        if status in (401, 403):
            raise TaggingUnavailableError(
                f"{self._endpoint} refused to list tags (HTTP {status}): "
                "the user needs read access to the tagging API"
            )
        if status == 404 and gone_ok:
            return None
        if status == 404:
            raise TaggingUnavailableError(
                f"{self._endpoint} has no tagging API (HTTP 404 for {path})"
            )
        if status != 200:
            raise TaggingUnavailableError(f"{self._endpoint} answered HTTP {status} for tags")
        try:
            document = response.json()
        except ValueError:
            raise self.unexpected("answer") from None
        if not self.dialect.wrapped:
            return document
        if not isinstance(document, dict) or "value" not in document:
            raise self.unexpected("answer")
        return document["value"]

    def unexpected(self, what: str) -> TaggingUnavailableError:
        return TaggingUnavailableError(f"{self._endpoint} sent an unexpected tagging {what}")


@contextmanager
def open_tagging(
    options: ConnectionOptions, endpoint: Endpoint, verify: ssl.SSLContext
) -> Iterator[TagReader | TaggingUnavailableError]:
    """Log in to the REST API, read the catalog and yield a reader (or why there is none);
    always log out. ``verify`` is the TLS context the SOAP session uses."""
    base_url = f"{endpoint.scheme}://{endpoint}"
    with httpx.Client(
        base_url=base_url,
        verify=verify,
        timeout=httpx.Timeout(options.read_timeout_s, connect=options.connect_timeout_s),
        headers={"Accept": "application/json"},
        trust_env=False,  # as the SOAP session: no proxy from the environment
    ) as http:
        reader = TagReader(http, endpoint, options.username, options.password)
        session_id: str | None = None
        try:
            login = httpx.BasicAuth(options.username or "", options.password or "")
            for reader.dialect in DIALECTS:
                answer = reader.call("POST", reader.dialect.session, auth=login, gone_ok=True)
                if answer is not None:
                    break
            else:
                raise TaggingUnavailableError(
                    f"{endpoint} has no tagging API (HTTP 404 for {API.session} and {REST.session})"
                )
            if not isinstance(answer, str) or not answer:
                raise reader.unexpected("session")
            session_id = answer
            http.headers[SESSION_HEADER] = session_id
            http.cookies.clear()
            reader.read_catalog()
        except TaggingUnavailableError as exc:
            log.warning("vSphere tags not read: %s", exc)
            yield exc
        else:
            yield reader
        finally:
            if session_id is not None:
                try:
                    http.request("DELETE", reader.dialect.session)
                except httpx.HTTPError as exc:  # best effort, as the SOAP logout
                    log.debug("vCenter REST logout failed: %s", type(exc).__name__)


def tag_records(object_type: str, object_id: str, names: Sequence[TagName]) -> list[TagRecord]:
    """The vSphere tags of one object as tag records (several per category may be)."""
    return [
        TagRecord(
            external_id=f"{object_type}:{object_id}:tag:{name.id}",
            object_type=object_type,
            object_external_id=object_id,
            key=name.category,
            value=name.name,
            kind=TAG_KIND,
        )
        for name in sorted(set(names), key=lambda n: n.id)
    ]


def _text(document: Any, field: str, what: str) -> str:
    value = document.get(field) if isinstance(document, dict) else None
    if not isinstance(value, str):
        raise TaggingUnavailableError(f"vCenter sent a {what} without its {field}")
    return value
