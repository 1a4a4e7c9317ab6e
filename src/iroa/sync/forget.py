"""Deleting an integration with everything IROA holds of it: inventory, history, runs.

The tables that grow with the VMs have no foreign keys (see
:mod:`iroa.inventory.models`): their rows are deleted here, in the transaction
that deletes the integration's own row, whose keys delete the rest.
"""

from __future__ import annotations

from sqlalchemy import Table, delete
from sqlalchemy.orm import Session

# The tables that may have no key to their integration are defined in these two modules:
# importing them puts the tables in Base.metadata.
import iroa.history.models
import iroa.inventory.models  # noqa: F401
from iroa.audit.service import CLI_ACTOR, Actor
from iroa.db.base import Base
from iroa.db.engine import Database
from iroa.integrations.models import Integration
from iroa.integrations.service import delete_record, integration_to_delete


def unkeyed_tables() -> list[Table]:
    """The tables with rows of an integration and no foreign key to delete them with it."""
    return [
        table
        for table in Base.metadata.sorted_tables
        if "integration_id" in table.c and not table.c.integration_id.foreign_keys
    ]


def remove_integration(db: Database, name: str, actor: Actor = CLI_ACTOR) -> None:
    """Delete the integration named ``name`` with its inventory and history."""
    with db.write_session() as session:
        _delete(session, integration_to_delete(session, name=name), actor)


def delete_integration(db: Database, integration_id: int, actor: Actor = CLI_ACTOR) -> None:
    """Delete an integration, by id, with its inventory and history."""
    with db.write_session() as session:
        _delete(session, integration_to_delete(session, integration_id=integration_id), actor)


def _delete(session: Session, integration: Integration, actor: Actor) -> None:
    for table in unkeyed_tables():
        session.execute(delete(table).where(table.c.integration_id == integration.id))
    delete_record(session, integration, actor)
