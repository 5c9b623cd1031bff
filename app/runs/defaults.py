"""Default runs: the models a workspace keeps fresh after every sync, and pruning what they supersede."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import AttributionRun, DefaultRun, Workspace
from app.runs.schemas import RunCreate
from app.runs.service import queue_run


def set_defaults(
    session: Session, *, workspace_id: int, runs: list[RunCreate], now: datetime
) -> list[RunCreate]:
    session.execute(delete(DefaultRun).where(DefaultRun.workspace_id == workspace_id))
    for request in runs:
        session.add(
            DefaultRun(workspace_id=workspace_id, request=request.model_dump(), created_at=now)
        )
    session.flush()
    return runs


def defaults_of(session: Session, workspace_id: int) -> list[RunCreate]:
    rows: Sequence[DefaultRun] = session.scalars(
        select(DefaultRun).where(DefaultRun.workspace_id == workspace_id).order_by(DefaultRun.id)
    ).all()
    return [RunCreate.model_validate(row.request) for row in rows]


def queue_defaults(
    session: Session, *, workspace: Workspace, now: datetime
) -> list[AttributionRun]:
    """Queue every default run of the workspace for the worker."""
    queued = []
    for request in defaults_of(session, workspace.id):
        run = queue_run(session, workspace=workspace, request=request, now=now)
        run.is_default = True
        queued.append(run)
    session.flush()
    return queued


def prune_superseded(
    session: Session, *, run: AttributionRun, retention: timedelta, now: datetime
) -> int:
    """Delete older default runs of the same request that are not frozen and ended before the
    retention; frozen runs and ad-hoc runs are kept."""
    older = session.scalars(
        select(AttributionRun).where(
            AttributionRun.workspace_id == run.workspace_id,
            AttributionRun.model == run.model,
            AttributionRun.is_default.is_(True),
            AttributionRun.frozen_from.is_(None),
            AttributionRun.id < run.id,
            AttributionRun.finished_at < now - retention,
        )
    ).all()
    doomed = [old for old in older if old.parameters == run.parameters]
    for old in doomed:
        session.delete(old)
    session.flush()
    return len(doomed)
