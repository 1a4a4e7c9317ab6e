"""Property-based requests from the OpenAPI document: no server errors, no schema violations.

Run as an admin, a viewer and an anonymous caller; a few examples per operation
keep it well under a minute. Besides the cases the document describes, every
operation gets the same cases with each string replaced by control characters
(each of a list) or by a long string, and every operation with a body one body
over the size limit (413).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from iroa.config import Settings
from tests.api.fixtures import Api, start_api

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
EXAMPLES_PER_OPERATION = 3
MAX_BODY_BYTES = 256 * 1024
CONTROL_STRINGS = (
    "\x00",
    "name\x00with a NUL",
    "\x1b[31mred\x1b[0m",
    "line\r\nX-Injected: 1",
    "\x07\x08\x7f\x9b",
    "\u0085\u2028\u2029",
    "\u202egnp.exe",
)
LONG_STRING = "x" * 4096
# Streams follow a run until it ends; they are exercised in test_sync_api.
SKIPPED = {("GET", "/api/v1/syncs/{run_id}/events")}


@pytest.fixture
def settings_with_small_bodies(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=db_url, max_body_bytes=MAX_BODY_BYTES)


def test_api_conforms_to_its_openapi_document_for_admins(
    settings_with_small_bodies: Settings,
) -> None:
    """On SQLite and PostgreSQL: admins reach every operation, so every query runs."""
    with contextmanager(start_api)(settings_with_small_bodies) as api:
        check_conformance(api, "admin")


@pytest.mark.parametrize("role", ["viewer", None])
def test_api_conforms_to_its_openapi_document_for_others(tmp_path: Path, role: str | None) -> None:
    """On SQLite: what a viewer or an anonymous caller is allowed does not depend on the backend."""
    settings = Settings(data_dir=tmp_path / "data", max_body_bytes=MAX_BODY_BYTES)
    with contextmanager(start_api)(settings) as api:
        check_conformance(api, role)


def replace_strings(value: Any, new: str) -> Any:
    """``value`` with every string in it (keys aside) replaced by ``new``."""
    if isinstance(value, str):
        return new
    if isinstance(value, dict):
        return {key: replace_strings(item, new) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_strings(item, new) for item in value]
    return value


def with_strings(case: Any, new: str) -> Any:
    """The case with every string of its path, query and body replaced by ``new``."""
    case.path_parameters = replace_strings(case.path_parameters, new)
    case.query = replace_strings(case.query, new)
    if isinstance(case.body, dict | list | str):
        case.body = replace_strings(case.body, new)
    return case


def oversized(case: Any) -> Any:
    """The case with a JSON body one byte over the limit."""
    case.body = {"padding": "x" * MAX_BODY_BYTES}
    case.media_type = "application/json"
    return case


Check = Callable[..., None]
"""``check(kind, case, expect=None)``: send the case and note what is wrong with the answer."""


def check_conformance(api: Api, role: str | None) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.app)
    headers = api.headers(role)
    failures: list[str] = []
    operations = 0

    def check(kind: str, case: Any, expect: Callable[[Any], str | None] | None = None) -> None:
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
            problem = expect(response) if expect is not None else None
            if problem:
                raise AssertionError(problem)
        except Exception as exc:
            summary = " ".join(str(exc).split())[:600]
            failures.append(
                f"{kind}: {case.method} {case.formatted_path} {response.status_code}: {summary}"
            )

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1
        exercise(operation, check)
    assert operations >= 20
    assert failures == []


def exercise(operation: Any, check: Check) -> None:
    """Send an operation the documented cases, the same with control characters and with
    long strings, and, if it takes a body, one body over the limit."""
    strategy = operation.as_strategy()
    generated = settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    texts = itertools.cycle(CONTROL_STRINGS)

    @generated
    @given(case=strategy)
    def as_documented(case: Any) -> None:
        check("documented", case)

    @settings(generated, max_examples=len(CONTROL_STRINGS))
    @given(case=strategy)
    def with_control_characters(case: Any) -> None:
        text = next(texts)
        check(f"control characters {text!r}", with_strings(case, text))

    @generated
    @given(case=strategy)
    def with_long_strings(case: Any) -> None:
        check("long strings", with_strings(case, LONG_STRING))

    @settings(generated, max_examples=1)
    @given(case=strategy)
    def with_an_oversized_body(case: Any) -> None:
        check("oversized body", oversized(case), refused_unread)

    as_documented()
    with_control_characters()
    with_long_strings()
    if operation.body:
        with_an_oversized_body()


def refused_unread(response: Any) -> str | None:
    """None if the answer is the 413 of the body limit, else what is wrong."""
    if response.status_code != 413:
        return f"expected 413, got {response.status_code}"
    if "IROA_MAX_BODY_BYTES" not in response.json().get("detail", ""):
        return f"not the body limit's answer: {response.text[:200]}"
    return None
