"""Queued imports, executed by `commattr worker` under a claim (app/queue.py), on a connection of
their own.

The staging tables live on that connection; the rows read so far are committed after every batch
(only the job's progress and the temporary tables change before the final statement), so
`GET /v1/imports/{id}` shows the progress while the file is read. Every batch renews the claim and
learns whether the import was cancelled or its worker is stopping. The rows are stored in one
final transaction whose last statement is the claim's fence: a worker killed at any point leaves
none of them (its temporary tables die with its connection), and the worker that takes the import
over reads its file again from the first byte, so what is stored equals an undisturbed import's."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app import queue
from app.config import Settings
from app.imports import repository, service
from app.imports.reading import FileError
from app.models import ImportJob, Workspace
from app.queue import JobControl, progress

log = logging.getLogger(__name__)

PHASE = "reading"


def execute_claimed(
    factory: sessionmaker[Session], *, control: JobControl, settings: Settings
) -> ImportJob:
    """The worker's import: read, check and store the claimed import's file; answers the job as
    stored (``succeeded``, or ``failed`` with its rejections). Raises JobStopped when it is no
    longer this claim's, and whatever else went wrong (the worker retries it)."""
    engine = factory.kw["bind"]
    assert isinstance(engine, Engine)
    with engine.connect() as connection:
        session = Session(bind=connection, expire_on_commit=False, autoflush=False)
        try:
            with repository.staging(session):
                session.commit()  # the staging tables outlive a failure, for its rejections
                job = _run(session, control=control, settings=settings)
            session.commit()
            return job
        finally:
            session.close()


def _run(session: Session, *, control: JobControl, settings: Settings) -> ImportJob:
    job = session.get_one(ImportJob, control.claim.job_id)
    workspace = session.get_one(Workspace, job.workspace_id)
    _start_over(job)

    def checkpoint(rows: int) -> None:
        control.stop_if_asked()
        control.record(session, progress(PHASE, rows, None))
        session.commit()

    try:
        service.execute(
            session,
            workspace=workspace,
            job=job,
            file=service.ChunkReader(session, job.id),
            settings=settings,
            now=control.clock(),
            checkpoint=checkpoint,
        )
    except (service.ImportRejected, FileError) as error:
        return _fail(session, control=control, message=str(error))
    repository.drop_chunks(session, job.id)
    _end(session, control=control, job=job)
    return job


def _start_over(job: ImportJob) -> None:
    """A job taken over from a dead worker counts from zero again (nothing of its rows was kept)."""
    job.rows_read = job.stored = job.duplicates = job.rejected = 0
    job.suppressed = job.members_created = 0
    job.error = None


def _fail(session: Session, *, control: JobControl, message: str) -> ImportJob:
    """Nothing of the rows is kept; the job records why, with the rejected rows."""
    session.rollback()
    job = session.get_one(ImportJob, control.claim.job_id)
    job.rejected = repository.rejected_rows(session)
    repository.keep_rejections(session, job.id)
    repository.drop_chunks(session, job.id)
    job.status = "failed"
    job.error = message[:2000]
    _end(session, control=control, job=job)
    return job


def _end(session: Session, *, control: JobControl, job: ImportJob) -> None:
    """Commit the import's outcome, only while the job is still this claim's: the fence is the
    last statement, and holds the job's row until the commit."""
    job.finished_at = control.clock()
    session.flush()
    control.fence(session)
    session.commit()


def cancel(session: Session, *, job: ImportJob, now: datetime) -> ImportJob:
    queue.cancel(session, ImportJob, job_id=job.id, now=now)
    session.refresh(job)
    return job
