"""The work queue the worker drains: runs waiting in status ``queued``, claimed one at a time."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import AttributionRun, ImportJob, SyncRun

Queued = TypeVar("Queued", AttributionRun, SyncRun, ImportJob)


def claim_oldest(session: Session, model: type[Queued]) -> Queued | None:
    """Mark the oldest queued row as running. The update is conditional on the status, so two
    workers (processes or machines on one PostgreSQL) never claim the same run."""
    for run_id in session.scalars(
        select(model.id).where(model.status == "queued").order_by(model.id).limit(5)
    ):
        claimed = session.execute(
            update(model)
            .where(model.id == run_id, model.status == "queued")
            .values(status="running")
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            return session.get(model, run_id)
    return None
