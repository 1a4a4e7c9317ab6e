"""Create vSphere tags on a running vcsim through its REST tagging API, as an operator would."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from tests.peers.vcsim import VcsimServer

CIS = "/rest/com/vmware/cis"


class Tagging:
    """A logged-in REST session to ``server``'s tagging API."""

    def __init__(self, server: VcsimServer) -> None:
        verify: Any = True
        if server.ca_file:
            verify = ssl.create_default_context(cafile=str(server.ca_file))
        self._http = httpx.Client(base_url=server.url, verify=verify, timeout=10)
        answer = self._http.post(f"{CIS}/session", auth=(server.username, server.password))
        answer.raise_for_status()
        self._http.headers["vmware-api-session-id"] = answer.json()["value"]
        self._categories: dict[str, str] = {}

    def close(self) -> None:
        self._http.delete(f"{CIS}/session")
        self._http.close()

    def __enter__(self) -> Tagging:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def category(self, name: str, cardinality: str = "SINGLE") -> str:
        """The id of category ``name``, created on first use."""
        if name not in self._categories:
            spec = {
                "name": name,
                "description": "",
                "cardinality": cardinality,
                "associable_types": [],
            }
            self._categories[name] = self._value(
                "POST", "/tagging/category", json={"create_spec": spec}
            )
        return self._categories[name]

    def tag(self, category: str, name: str, cardinality: str = "SINGLE") -> str:
        """Create tag ``name`` in ``category`` (created too if new); its id."""
        spec = {
            "name": name,
            "description": "",
            "category_id": self.category(category, cardinality),
        }
        return str(self._value("POST", "/tagging/tag", json={"create_spec": spec}))

    def attach(self, tag_id: str, object_type: str, object_id: str) -> None:
        self._value(
            "POST",
            f"/tagging/tag-association/id:{tag_id}",
            params={"~action": "attach"},
            json={"object_id": {"type": object_type, "id": object_id}},
        )

    def detach(self, tag_id: str, object_type: str, object_id: str) -> None:
        self._value(
            "POST",
            f"/tagging/tag-association/id:{tag_id}",
            params={"~action": "detach"},
            json={"object_id": {"type": object_type, "id": object_id}},
        )

    def rename(self, tag_id: str, name: str) -> None:
        self._value("PATCH", f"/tagging/tag/id:{tag_id}", json={"update_spec": {"name": name}})

    def _value(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self._http.request(method, CIS + path, **kwargs)
        answer.raise_for_status()
        return answer.json().get("value") if answer.content else None
