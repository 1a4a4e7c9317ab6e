"""Every table, imported in one place so metadata and migrations see all of them."""

from iroa.db.base import Base
from iroa.integrations.models import Integration
from iroa.inventory import models as inventory_models
from iroa.sync.models import Change, Summary, SyncRun

__all__ = ["Base", "Change", "Integration", "Summary", "SyncRun", "inventory_models"]
