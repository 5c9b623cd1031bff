"""Frozen runs: the figure of record of one model for a period, read by reports asking for it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.exceptions import Conflict, InvalidInput
from app.models import AttributionRun
from app.runs.schemas import FreezeRequest


def freeze(
    session: Session, *, run: AttributionRun, body: FreezeRequest, now: datetime
) -> AttributionRun:
    if run.status != "succeeded":
        raise Conflict(
            f"attribution run {run.id} is {run.status}: only finished runs can be frozen"
        )
    if body.period_to < body.period_from:
        raise InvalidInput.at(("body", "to"), "must not be before 'from'")
    overlapping = frozen_covering(
        session,
        workspace_id=run.workspace_id,
        model=run.model,
        period=(body.period_from, body.period_to),
        overlap=True,
    )
    if overlapping is not None and overlapping.id != run.id:
        raise Conflict(
            f"run {overlapping.id} is already the figure of record of {run.model} for "
            f"{overlapping.frozen_from} to {overlapping.frozen_to}"
        )
    run.frozen_from, run.frozen_to = body.period_from, body.period_to
    run.frozen_at, run.frozen_note = now, body.note
    session.flush()
    return run


def unfreeze(session: Session, *, run: AttributionRun) -> AttributionRun:
    run.frozen_from = run.frozen_to = run.frozen_at = None
    run.frozen_note = None
    session.flush()
    return run


def frozen_covering(
    session: Session,
    *,
    workspace_id: int,
    model: str,
    period: tuple[date, date],
    overlap: bool = False,
) -> AttributionRun | None:
    """The frozen run of the model covering the whole period (or, with ``overlap``, touching it)."""
    start, end = period
    query = select(AttributionRun).where(
        AttributionRun.workspace_id == workspace_id,
        AttributionRun.model == model,
        AttributionRun.frozen_from.is_not(None),
    )
    if overlap:
        query = query.where(AttributionRun.frozen_from <= end, AttributionRun.frozen_to >= start)
    else:
        query = query.where(AttributionRun.frozen_from <= start, AttributionRun.frozen_to >= end)
    return session.scalars(query.order_by(AttributionRun.id.desc()).limit(1)).first()
