"""`commattr worker`: executes queued attribution runs (sync jobs join it with the CRM connectors)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.config import Settings
from app.db import transaction
from app.models import AttributionRun, Workspace
from app.runs import repository, service

log = logging.getLogger(__name__)


def run_next(factory: sessionmaker[Session], *, settings: Settings, clock: Clock) -> int | None:
    """Claim and execute one queued run; answer its id, or None when the queue is empty."""
    with transaction(factory) as session:
        claimed = repository.claim_queued_run(session)
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
    except Exception as error:  # a failed run is recorded, and the worker goes on with the next
        log.exception("attribution run %s failed", run_id)
        with transaction(factory) as session:
            run = session.get_one(AttributionRun, run_id)
            run.status = "failed"
            run.error = f"{type(error).__name__}: {error}"[:2000]
            run.finished_at = clock()
    return run_id


def drain(factory: sessionmaker[Session], *, settings: Settings, clock: Clock) -> list[int]:
    """Execute queued runs until none is left."""
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
