"""Workspaces: creation with a first admin key, and their settings."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.auth.service import SCOPES, mint_key
from app.catalog.service import create_default_catalog
from app.exceptions import NotFound
from app.models import Workspace
from app.workspaces.schemas import WorkspaceSettingsUpdate


@dataclass(frozen=True)
class NewWorkspace:
    workspace: Workspace
    api_key: str


def create_workspace(
    session: Session,
    *,
    name: str,
    now: datetime,
    free_mail_domains: list[str],
    settings: WorkspaceSettingsUpdate | None = None,
) -> NewWorkspace:
    workspace = Workspace(
        name=name,
        reporting_currency="USD",
        time_zone="UTC",
        fiscal_year_start_month=1,
        staff_domains=[],
        free_mail_domains=sorted(free_mail_domains),
        duplicate_window_minutes=60,
        default_lookback_days=365,
        default_scope="contact_roles_then_account",
        default_half_life_days=7.0,
        created_at=now,
        privacy_salt=secrets.token_hex(32),
    )
    session.add(workspace)
    session.flush()
    create_default_catalog(session, workspace_id=workspace.id)
    if settings is not None:
        update_settings(workspace, settings)
    key = mint_key(
        session, workspace_id=workspace.id, name="first key", scopes=list(SCOPES), now=now
    )
    return NewWorkspace(workspace=workspace, api_key=key)


def get_workspace(session: Session, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("workspace not found")
    return workspace


def update_settings(workspace: Workspace, update: WorkspaceSettingsUpdate) -> Workspace:
    for field, value in update.model_dump(exclude_none=True).items():
        setattr(workspace, field, value)
    return workspace
