"""Sync jobs (what and when) and the runs they queue; the worker executes queued runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import queue
from app.connections.schemas import OBJECTS
from app.exceptions import NotFound
from app.models import CrmConnection, SyncJob, SyncRun
from app.sync import repository
from app.sync.schedule import next_run
from app.sync.schemas import SyncJobCreate, SyncJobUpdate


def create_job(
    session: Session, *, connection: CrmConnection, body: SyncJobCreate, now: datetime
) -> SyncJob:
    job = SyncJob(
        workspace_id=connection.workspace_id,
        connection_id=connection.id,
        objects=body.objects,
        cron=body.cron,
        time_zone=body.time_zone,
        enabled=body.enabled,
        reconcile_every=body.reconcile_every,
        next_run_at=next_run(body.cron, body.time_zone, now) if body.enabled else None,
        created_at=now,
    )
    session.add(job)
    session.flush()
    return job


def update_job(session: Session, *, job: SyncJob, body: SyncJobUpdate, now: datetime) -> SyncJob:
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(job, name, value)
    job.next_run_at = next_run(job.cron, job.time_zone, now) if job.enabled else None
    session.flush()
    return job


def get_job(session: Session, *, workspace_id: int, job_id: int) -> SyncJob:
    job = session.scalar(
        select(SyncJob).where(SyncJob.workspace_id == workspace_id, SyncJob.id == job_id)
    )
    if job is None:
        raise NotFound(f"sync job {job_id} not found")
    return job


def jobs_of(session: Session, *, workspace_id: int, connection_id: int) -> Sequence[SyncJob]:
    return session.scalars(
        select(SyncJob)
        .where(SyncJob.workspace_id == workspace_id, SyncJob.connection_id == connection_id)
        .order_by(SyncJob.id)
    ).all()


def queue_run(
    session: Session,
    *,
    connection: CrmConnection,
    job: SyncJob | None,
    full_resync: bool,
    now: datetime,
) -> SyncRun:
    earlier = (
        session.scalar(select(func.count()).where(SyncRun.job_id == job.id)) if job else 0
    ) or 0
    reconcile = job is None or earlier % job.reconcile_every == 0
    run = SyncRun(
        workspace_id=connection.workspace_id,
        connection_id=connection.id,
        job_id=job.id if job else None,
        objects=list(job.objects) if job else list(OBJECTS),
        status="queued",
        full_resync=full_resync,
        reconcile=reconcile,
        counts={},
        cursors={},
        created_at=now,
    )
    session.add(run)
    session.flush()
    return run


def queue_due_jobs(session: Session, *, now: datetime) -> list[SyncRun]:
    """Queue a run for every enabled job whose time has come, and move its schedule on."""
    queued = []
    for job in repository.due_jobs(session, now):
        connection = session.get_one(CrmConnection, job.connection_id)
        queued.append(
            queue_run(session, connection=connection, job=job, full_resync=False, now=now)
        )
        job.next_run_at = next_run(job.cron, job.time_zone, now)
    session.flush()
    return queued


def get_run(session: Session, *, workspace_id: int, run_id: int) -> SyncRun:
    run = session.scalar(
        select(SyncRun).where(SyncRun.workspace_id == workspace_id, SyncRun.id == run_id)
    )
    if run is None:
        raise NotFound(f"sync run {run_id} not found")
    return run


def cancel_run(session: Session, *, run: SyncRun, now: datetime) -> SyncRun:
    queue.cancel(session, SyncRun, job_id=run.id, now=now)
    session.refresh(run)
    return run


def runs_of(
    session: Session, *, workspace_id: int, connection_id: int | None, limit: int
) -> Sequence[SyncRun]:
    query = select(SyncRun).where(SyncRun.workspace_id == workspace_id)
    if connection_id is not None:
        query = query.where(SyncRun.connection_id == connection_id)
    return session.scalars(query.order_by(SyncRun.id.desc()).limit(limit)).all()
