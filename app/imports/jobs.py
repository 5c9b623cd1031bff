"""Queued imports, executed by `commattr worker` on a connection of their own.

The staging tables live on that connection; the rows read so far are committed after every batch
(only the job's progress and the temporary tables change before the final statement), so
`GET /v1/imports/{id}` shows the progress while the file is read."""

from __future__ import annotations

import logging

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Settings
from app.db import transaction
from app.imports import repository, service
from app.imports.reading import FileError
from app.models import ImportJob, Workspace
from app.queue import claim_oldest

log = logging.getLogger(__name__)


def import_next(factory: sessionmaker[Session], *, settings: Settings, clock: Clock) -> int | None:
    """Claim and execute one queued import; answer its id, or None when none is queued."""
    with transaction(factory) as session:
        claimed = claim_oldest(session, ImportJob)
        if claimed is None:
            return None
        claimed.started_at = clock()
        import_id = claimed.id
    engine = factory.kw["bind"]
    assert isinstance(engine, Engine)
    execute_queued(engine, import_id=import_id, settings=settings, clock=clock)
    return import_id


def execute_queued(engine: Engine, *, import_id: int, settings: Settings, clock: Clock) -> None:
    with engine.connect() as connection:
        session = Session(bind=connection, expire_on_commit=False, autoflush=False)
        try:
            with repository.staging(session):
                session.commit()  # the staging tables outlive a failure, for its rejections
                _run(session, import_id=import_id, settings=settings, clock=clock)
            session.commit()
        finally:
            session.close()


def _run(session: Session, *, import_id: int, settings: Settings, clock: Clock) -> None:
    job = session.get_one(ImportJob, import_id)
    workspace = session.get_one(Workspace, job.workspace_id)
    try:
        service.execute(
            session,
            workspace=workspace,
            job=job,
            file=service.ChunkReader(session, import_id),
            settings=settings,
            now=clock(),
            checkpoint=lambda _rows: session.commit(),
        )
        repository.drop_chunks(session, import_id)
        session.commit()
    except (service.ImportRejected, FileError) as error:
        _fail(session, import_id, str(error), clock, keep_rejections=True)
    except Exception as error:  # a failed import is recorded; the worker goes on with the next
        log.exception("import %s failed", import_id)
        _fail(session, import_id, f"{type(error).__name__}: {error}", clock, keep_rejections=False)


def _fail(
    session: Session, import_id: int, message: str, clock: Clock, *, keep_rejections: bool
) -> None:
    """Nothing of the rows is kept; the job records why, with the rejected rows when known."""
    session.rollback()
    job = session.get_one(ImportJob, import_id)
    if keep_rejections:
        job.rejected = repository.rejected_rows(session)
        repository.keep_rejections(session, import_id)
    job.status = "failed"
    job.error = message[:2000]
    job.finished_at = clock()
    repository.drop_chunks(session, import_id)
    session.commit()
