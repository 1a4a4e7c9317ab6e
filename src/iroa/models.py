"""Every table, imported in one place so metadata and migrations see all of them."""

from iroa.audit.models import AuditEntry
from iroa.auth.models import ApiToken, LoginThrottle, User
from iroa.db.base import Base
from iroa.findings.models import Finding
from iroa.history.models import Change, ChangePrune, Summary
from iroa.integrations.models import Integration, Watcher
from iroa.inventory import models as inventory_models
from iroa.monitoring.models import MetricValue, ZabbixHostRow, ZabbixLink, ZabbixProblemRow
from iroa.sync.models import SyncRun

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "Change",
    "ChangePrune",
    "Finding",
    "Integration",
    "LoginThrottle",
    "MetricValue",
    "Summary",
    "SyncRun",
    "User",
    "Watcher",
    "ZabbixHostRow",
    "ZabbixLink",
    "ZabbixProblemRow",
    "inventory_models",
]
