"""`commattr worker`: queues due sync jobs, then executes queued sync runs and attribution runs."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Settings
from app.db import transaction
from app.imports.jobs import import_next
from app.models import AttributionRun, CrmConnection, SyncRun, Workspace
from app.queue import claim_oldest
from app.runs import service
from app.runs.defaults import prune_superseded, queue_defaults
from app.sync.factory import build_connector, field_mapping
from app.sync.jobs import queue_due_jobs
from app.sync.service import execute_sync, write_back_rotated_tokens
from connectors.retry import RetryPolicy

log = logging.getLogger(__name__)


def run_next(factory: sessionmaker[Session], *, settings: Settings, clock: Clock) -> int | None:
    """Claim and execute one queued run; answer its id, or None when the queue is empty."""
    with transaction(factory) as session:
        claimed = claim_oldest(session, AttributionRun)
        if claimed is None:
            return None
        run_id = claimed.id
    try:
        with transaction(factory) as session:
            run = session.get_one(AttributionRun, run_id)
            workspace = session.get_one(Workspace, run.workspace_id)
            service.execute_run(
                session, workspace=workspace, run=run, now=clock(), settings=settings
            )
            if run.is_default:
                prune_superseded(
                    session,
                    run=run,
                    retention=timedelta(days=settings.run_retention_days),
                    now=clock(),
                )
    except Exception as error:  # a failed run is recorded, and the worker goes on with the next
        log.exception("attribution run %s failed", run_id)
        with transaction(factory) as session:
            run = session.get_one(AttributionRun, run_id)
            run.status = "failed"
            run.error = f"{type(error).__name__}: {error}"[:2000]
            run.finished_at = clock()
    return run_id


def sync_next(
    factory: sessionmaker[Session], *, settings: Settings, clock: Clock, retry: RetryPolicy
) -> int | None:
    """Claim and execute one queued sync run; answer its id, or None when none is queued."""
    with transaction(factory) as session:
        claimed = claim_oldest(session, SyncRun)
        if claimed is None:
            return None
        run_id = claimed.id
        connection = session.get_one(CrmConnection, claimed.connection_id)
        connector = build_connector(connection, settings, retry)
        write_back_rotated_tokens(
            connector, factory, connection_id=connection.id, settings=settings, clock=clock
        )
        mapping = field_mapping(connection)
    execute_sync(
        factory,
        run_id=run_id,
        connector=connector,
        mapping=mapping,
        now=clock(),
        lease=timedelta(seconds=settings.sync_lease_seconds),
        clock=clock,
    )
    with transaction(factory) as session:
        finished = session.get_one(SyncRun, run_id)
        if _changed_records(finished):
            workspace = session.get_one(Workspace, finished.workspace_id)
            queue_defaults(session, workspace=workspace, now=clock())
    return run_id


def _changed_records(run: SyncRun) -> bool:
    """A sync that created, updated or deleted anything refreshes the default runs."""
    return any(
        counts.get(change, 0)
        for counts in run.counts.values()
        for change in ("created", "updated", "deleted")
    )


def drain(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    clock: Clock,
    retry: RetryPolicy | None = None,
) -> list[int]:
    """Queue due sync jobs, then execute queued sync runs, imports and attribution runs until none
    is left.

    Answers the ids of the attribution runs it executed."""
    retry = retry or RetryPolicy()
    with transaction(factory) as session:
        queue_due_jobs(session, now=clock())
    while sync_next(factory, settings=settings, clock=clock, retry=retry) is not None:
        pass
    while import_next(factory, settings=settings, clock=clock) is not None:
        pass
    done: list[int] = []
    while (run_id := run_next(factory, settings=settings, clock=clock)) is not None:
        done.append(run_id)
    return done


def serve_forever(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    clock: Clock,
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    while True:
        if not drain(factory, settings=settings, clock=clock):
            sleep(poll_seconds)
