"""Integrations: CRUD (admins), connection tests and syncs (operators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Response, status

from iroa.api.schemas import (
    CheckResult,
    Id,
    IntegrationCreate,
    IntegrationList,
    IntegrationOut,
    IntegrationPatch,
    MonitoringSettingsIn,
    Problem,
    SyncRequest,
    SyncRunOut,
)
from iroa.connectors.base import ConnectorError
from iroa.connectors.registry import check_connection
from iroa.crypto import SecretBox
from iroa.http.deps import DB, Admin, AppRuntime, AppSettings, Operator, Viewer
from iroa.integrations import service
from iroa.integrations.models import Integration, Watcher
from iroa.integrations.watchers import watchers_by_integration
from iroa.sync import forget
from iroa.sync.background import start_integration_sync
from iroa.sync.history import get_run
from iroa.vocabulary import Trigger

router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"model": Problem}}


async def get_box(runtime: AppRuntime) -> SecretBox:
    return runtime.box


Box = Annotated[SecretBox, Depends(get_box)]


def _out(integration: Integration, watchers: dict[int, Watcher]) -> IntegrationOut:
    watcher = watchers.get(integration.id)
    return IntegrationOut.model_validate(service.integration_as_dict(integration, watcher))


def _settings(settings: MonitoringSettingsIn | None) -> dict[str, Any] | None:
    return settings.model_dump(exclude_none=True) if settings is not None else None


@router.get("", response_model=IntegrationList)
def list_integrations(_: Viewer, db: DB) -> IntegrationList:
    """Every integration; secrets show only as ``has_secret``."""
    watchers = watchers_by_integration(db)
    return IntegrationList(items=[_out(i, watchers) for i in service.list_integrations(db)])


@router.post(
    "",
    response_model=IntegrationOut,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"model": Problem}},
)
def create_integration(
    body: IntegrationCreate, admin: Admin, db: DB, box: Box, settings: AppSettings
) -> IntegrationOut:
    """Add an integration; its password is stored encrypted and never returned."""
    data = service.IntegrationInput(
        **body.model_dump(exclude={"monitoring"}), monitoring=_settings(body.monitoring)
    )
    min_interval_s = settings.min_sync_interval_s
    added = service.add_integration(db, box, data, admin.actor, min_interval_s=min_interval_s)
    return _out(added, {})


@router.get("/{integration_id}", response_model=IntegrationOut, responses=NOT_FOUND)
def get_integration(integration_id: Id, _: Viewer, db: DB) -> IntegrationOut:
    return IntegrationOut.model_validate(service.integration_view(db, integration_id))


@router.patch("/{integration_id}", response_model=IntegrationOut, responses=NOT_FOUND)
def update_integration(
    integration_id: Id,
    body: IntegrationPatch,
    admin: Admin,
    db: DB,
    box: Box,
    settings: AppSettings,
) -> IntegrationOut:
    """Change an integration; without ``password`` the stored secret is kept."""
    given = body.model_dump(exclude_unset=True, exclude={"monitoring"})
    if body.monitoring is not None:
        given["monitoring"] = _settings(body.monitoring)
    changes = service.IntegrationUpdate(**given)
    min_interval_s = settings.min_sync_interval_s
    updated = service.update_integration(
        db, box, integration_id, changes, admin.actor, min_interval_s=min_interval_s
    )
    return _out(updated, watchers_by_integration(db))


@router.delete("/{integration_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_integration(integration_id: Id, admin: Admin, db: DB) -> Response:
    """Delete an integration with its inventory and history (the audit log keeps its name)."""
    forget.delete_integration(db, integration_id, admin.actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{integration_id}/test", response_model=CheckResult, responses=NOT_FOUND)
def test_integration(integration_id: Id, _: Operator, db: DB, box: Box) -> CheckResult:
    """Connect and log in; ``ok`` false with the connector's clear error if that fails."""
    integration = service.get_integration_by_id(db, integration_id)
    try:
        info = check_connection(integration.kind, service.connection_options(integration, box))
    except (ConnectorError, ValueError) as exc:
        return CheckResult(ok=False, error=str(exc))
    return CheckResult(
        ok=True,
        name=info.name,
        product=info.product,
        version=info.version,
        build=info.build,
        object_counts=dict(info.object_counts or {}),
    )


@router.post(
    "/{integration_id}/sync",
    response_model=SyncRunOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, 409: {"model": Problem}, 422: {"model": Problem}},
)
def start_sync(
    integration_id: Id,
    user: Operator,
    db: DB,
    runtime: AppRuntime,
    body: Annotated[SyncRequest | None, Body()] = None,
) -> SyncRunOut:
    """Start a sync in the background; follow it at ``/api/v1/syncs/{id}/events``."""
    force = body.force if body is not None else False
    if force and not user.has_role("admin"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins can force a sync")
    run_id = start_integration_sync(
        runtime.sync,
        runtime.broker,
        integration_id,
        user.actor,
        trigger=Trigger.API,
        force=force,
        queue=runtime.queue,
    )
    run = get_run(db, run_id)
    if run is None:
        raise service.IntegrationNotFoundError(f"no integration with id {integration_id}")
    return SyncRunOut.model_validate(run)
