"""Reading findings: a paged, filtered list, counts per severity, and an object's open ones.

Pages are keyset-paged like the inventory lists (same cursors): a page is one
``count(*)`` and one ``SELECT … ORDER BY key, id LIMIT n + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, func, or_, select
from sqlalchemy.orm import Session

from iroa.connectors.registry import INVENTORY_KINDS
from iroa.db.engine import Database
from iroa.errors import check_choice
from iroa.findings.catalog import RULES_BY_ID
from iroa.findings.models import OBJECT_TYPES, SEVERITIES, SEVERITY_LEVELS, Finding
from iroa.integrations.models import Integration
from iroa.inventory.details import read_object
from iroa.inventory.listing import MAX_SEARCH_LENGTH
from iroa.inventory.queries import jsonable_rows, object_type
from iroa.inventory.rows import Detail
from iroa.paging import (
    DEFAULT_LIMIT,
    InvalidQueryError,
    Page,
    check_limit,
    check_text,
    decode_cursor,
    encode_cursor,
    keyset_after,
    keyset_order,
    python_type,
)

TABLE: Table = Finding.__table__  # type: ignore[assignment]
STATUSES = ("open", "resolved", "all")
SORTS: dict[str, Column[Any]] = {
    "severity": TABLE.c.severity_level,
    "rule": TABLE.c.rule,
    "object_type": TABLE.c.object_type,
    "object_name": TABLE.c.object_name,
    "first_seen_at": TABLE.c.first_seen_at,
    "last_seen_at": TABLE.c.last_seen_at,
    "resolved_at": TABLE.c.resolved_at,
    "id": TABLE.c.id,
}
"""What a list can be sorted by; ``severity`` orders by level (critical is highest)."""
DEFAULT_SORT = "-severity"
FIELDS = (
    Finding.id,
    Finding.rule,
    Finding.severity,
    Finding.object_type,
    Finding.object_id,
    Finding.object_external_id,
    Finding.object_name,
    Integration.name.label("integration"),
    Integration.kind.label("platform"),
    Finding.message,
    Finding.first_seen_at,
    Finding.last_seen_at,
    Finding.resolved_at,
)


@dataclass(frozen=True)
class FindingParams:
    """What a caller may ask of the findings list; validated by :func:`list_findings`."""

    status: str = "open"
    severity: str | None = None
    rule: str | None = None
    object_type: str | None = None
    object_id: int | None = None
    integration: str | None = None
    platform: str | None = None
    q: str | None = None
    sort: str | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


def _choice(name: str, value: str | None, choices: tuple[str, ...] | list[str]) -> str | None:
    if value is not None:
        check_choice(name, value, choices, InvalidQueryError)
    return value


def _conditions(db: Database, params: FindingParams) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if _choice("status", params.status, STATUSES) == "open":
        conditions.append(Finding.resolved_at.is_(None))
    elif params.status == "resolved":
        conditions.append(Finding.resolved_at.is_not(None))
    if _choice("severity", params.severity, SEVERITIES) is not None:
        conditions.append(Finding.severity == params.severity)
    if _choice("rule", params.rule, list(RULES_BY_ID)) is not None:
        conditions.append(Finding.rule == params.rule)
    if _choice("object_type", params.object_type, OBJECT_TYPES) is not None:
        conditions.append(Finding.object_type == params.object_type)
    if params.object_id is not None:
        conditions.append(Finding.object_id == params.object_id)
    if params.integration is not None:
        check_text("integration", params.integration)
        conditions.append(
            Finding.integration_id.in_(
                select(Integration.id).where(Integration.name == params.integration)
            )
        )
    if _choice("platform", params.platform, INVENTORY_KINDS) is not None:
        conditions.append(
            Finding.integration_id.in_(
                select(Integration.id).where(Integration.kind == params.platform)
            )
        )
    q = (params.q or "").strip()
    if q:
        check_text("q", q)
        if len(q) > MAX_SEARCH_LENGTH:
            raise InvalidQueryError(f"q is longer than {MAX_SEARCH_LENGTH} characters")
        pattern = "%" + q.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        if db.is_sqlite:
            conditions.append(
                or_(
                    Finding.object_name.like(pattern, escape="/"),
                    Finding.message.like(pattern, escape="/"),
                )
            )
        else:
            conditions.append(
                or_(
                    Finding.object_name.ilike(pattern, escape="/"),
                    Finding.message.ilike(pattern, escape="/"),
                )
            )
    return conditions


def list_findings(db: Database, params: FindingParams) -> Page[dict[str, Any]]:
    """One page of findings (open ones unless asked otherwise), most severe first by default."""
    conditions = _conditions(db, params)
    sort = params.sort or DEFAULT_SORT
    descending = sort.startswith("-")
    key = SORTS.get(sort.removeprefix("-"))
    if key is None:
        raise InvalidQueryError(
            f"cannot sort findings by {sort!r}: choose one of {', '.join(SORTS)} "
            "(prefix - for descending)"
        )
    limit = check_limit(params.limit)
    table = TABLE
    stmt = (
        select(*FIELDS)
        .select_from(table)
        .outerjoin(Integration, Integration.id == Finding.integration_id)
        .where(*conditions)
    )
    cursor: dict[str, Any] = {}
    if params.cursor is not None:
        value, last_id = decode_cursor(params.cursor, sort, python_type(key))
        stmt = stmt.where(keyset_after(key, table.c.id, value is None, descending))
        cursor = {"after_value": value, "after_id": last_id}
    stmt = stmt.order_by(*keyset_order(key, table.c.id, descending)).limit(limit + 1)
    count = select(func.count()).select_from(table).where(*conditions)
    with db.engine.connect() as conn:
        total = int(conn.execute(count).scalar_one())
        rows = conn.execute(stmt, cursor).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        by_severity = key is SORTS["severity"]
        value = SEVERITY_LEVELS[last.severity] if by_severity else last._mapping[key.name]
        next_cursor = encode_cursor(sort, value, last.id)
    return Page(_with_titles(jsonable_rows(rows)), total, next_cursor)


def _with_titles(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in items:
        rule = RULES_BY_ID.get(item["rule"])
        item["rule_title"] = rule.title if rule else item["rule"]
        item["status"] = "open" if item["resolved_at"] is None else "resolved"
    return items


def count_open_findings(db: Database) -> dict[str, int]:
    """Open findings per severity, and their total."""
    stmt = (
        select(Finding.severity, func.count())
        .where(Finding.resolved_at.is_(None))
        .group_by(Finding.severity)
    )
    with db.session() as session:
        counts = dict.fromkeys(SEVERITIES, 0) | {s: int(n) for s, n in session.execute(stmt)}
    counts["total"] = sum(counts.values())
    return counts


def count_open_by_rule(db: Database) -> dict[str, dict[str, int]]:
    """Open findings per rule and severity."""
    stmt = (
        select(Finding.rule, Finding.severity, func.count())
        .where(Finding.resolved_at.is_(None))
        .group_by(Finding.rule, Finding.severity)
    )
    found: dict[str, dict[str, int]] = {}
    with db.session() as session:
        for rule, severity, n in session.execute(stmt):
            found.setdefault(rule, {})[severity] = int(n)
    return found


def open_findings_of(session: Session, object_type: str, object_id: int) -> list[dict[str, Any]]:
    """An object's open findings, most severe first."""
    stmt = (
        select(
            Finding.id,
            Finding.rule,
            Finding.severity,
            Finding.message,
            Finding.first_seen_at,
            Finding.last_seen_at,
        )
        .where(
            Finding.object_type == object_type,
            Finding.object_id == object_id,
            Finding.resolved_at.is_(None),
        )
        .order_by(Finding.severity_level.desc(), Finding.id)
    )
    return _with_titles(
        [dict(item, resolved_at=None) for item in jsonable_rows(session.execute(stmt))]
    )


def object_detail(db: Database, plural: str, object_id: int) -> Detail | None:
    """An inventory object's detail (:func:`~iroa.inventory.details.read_object`) with its open
    findings, read in one session; None if there is no such object."""
    with db.session() as session:
        detail = read_object(session, plural, object_id)
        kind = object_type(plural)
        if detail is not None and kind.name in OBJECT_TYPES:
            detail["findings"] = open_findings_of(session, kind.name, object_id)
    return detail
