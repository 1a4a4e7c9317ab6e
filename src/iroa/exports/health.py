"""vHealth: the health findings' rules, evaluated on the exported inventory.

The sheet and the findings (docs/findings.md) are one set of rules,
:data:`iroa.findings.catalog.RULES`, with the same ``IROA_FINDINGS_*``
thresholds (the export's :class:`~iroa.exports.columns.Scope` carries them):
for the same inventory, at the same moment, the sheet lists exactly the hits
the findings record, one row each. The rules are evaluated as of the export's
moment (``now``), so an export of the past shows the health of that time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from iroa.connectors.registry import INVENTORY_KINDS
from iroa.exports.columns import INTEGRATION, PLATFORM, Column, Scope, empty, key, vi_sdk_server
from iroa.findings.catalog import RULES
from iroa.findings.rules import Context, Hit, Rule
from iroa.integrations.models import Integration

ACTIVE_RULES: tuple[Rule, ...] = tuple(rule for rule in RULES if rule.active)


def integrations_in(conn: Connection, scope: Scope) -> list[Any]:
    """The inventory integrations an export covers, by name."""
    stmt = (
        select(
            Integration.id,
            Integration.name.label("integration"),
            Integration.kind.label("platform"),
            Integration.url.label("integration_url"),
        )
        .where(Integration.kind.in_(INVENTORY_KINDS))
        .order_by(Integration.name)
    )
    if scope.integration_id is not None:
        stmt = stmt.where(Integration.id == scope.integration_id)
    return list(conn.execute(stmt).all())


def health_hits(conn: Connection, integration: Any, scope: Scope, rule: Rule) -> list[Hit]:
    """One rule's hits on one integration, ordered by object name."""
    context = Context(integration.id, integration.platform, scope.now, scope.thresholds)
    return sorted(rule.evaluate(conn, context), key=lambda h: (h.name or "", h.object_id))


@dataclass(frozen=True)
class HealthSheet:
    """vHealth: one row per finding of the active rules; progress counts rules evaluated.

    RVTools' columns (``Name``, ``Message``, ``Message type`` — the rule's title —,
    ``VI SDK Server``, ``VI SDK UUID``), then IROA's ``Object type``, ``Severity``,
    ``Rule`` (its id in docs/findings.md), ``Platform`` and ``Integration``."""

    name: str = "vHealth"
    columns: tuple[Column, ...] = (
        Column("Name", key("name"), 30),
        Column("Message", key("message"), 70),
        Column("Message type", key("message_type"), 28),
        Column("VI SDK Server", key("vi_sdk_server"), 24),
        Column("VI SDK UUID", empty, 12),
        Column("Object type", key("object_type"), 10),
        Column("Severity", key("severity"), 9),
        Column("Rule", key("rule"), 26),
        PLATFORM,
        INTEGRATION,
    )

    def columns_for(self, conn: Connection, scope: Scope) -> tuple[Column, ...]:
        return self.columns

    def count(self, conn: Connection, scope: Scope) -> int:
        return len(integrations_in(conn, scope)) * len(ACTIVE_RULES)

    def chunks(
        self, conn: Connection, scope: Scope, chunk_size: int
    ) -> Iterator[tuple[list[list[Any]], int]]:
        for integration in integrations_in(conn, scope):
            server = vi_sdk_server(integration)
            for rule in ACTIVE_RULES:
                hits = health_hits(conn, integration, scope, rule)
                for start in range(0, max(len(hits), 1), chunk_size):
                    cells = [
                        _cells(rule, hit, server, integration)
                        for hit in hits[start : start + chunk_size]
                    ]
                    yield cells, 1 if start == 0 else 0


def _cells(rule: Rule, hit: Hit, server: str | None, integration: Any) -> list[Any]:
    return [
        hit.name,
        hit.message,
        rule.title,
        server,
        None,
        hit.object_type,
        hit.severity,
        rule.id,
        integration.platform,
        integration.integration,
    ]


VHEALTH = HealthSheet()
