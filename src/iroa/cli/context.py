"""What every command needs: settings, the database and the secret box, opened on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import typer

from iroa.config import Settings
from iroa.crypto import SecretBox, load_secret_key
from iroa.db.engine import Database
from iroa.db.schema import ensure_schema
from iroa.sync.policy import SyncPolicy
from iroa.sync.service import SyncDeps


@dataclass
class CliContext:
    settings: Settings
    _db: Database | None = field(default=None, init=False)

    @property
    def db(self) -> Database:
        """The database, its schema created if it is empty."""
        if self._db is None:
            self._db = Database(self.settings.resolved_database_url)
            ensure_schema(self._db)
        return self._db

    @cached_property
    def box(self) -> SecretBox:
        return SecretBox(load_secret_key(self.settings))

    @cached_property
    def sync(self) -> SyncDeps:
        """What a sync started from the command line runs with."""
        return SyncDeps(
            self.db,
            self.box,
            SyncPolicy.from_settings(self.settings),
            lean_decoding=self.settings.vcenter_decoder == "lean",
            search_datastores=self.settings.vcenter_search_datastores,
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()


def get_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj
