"""`commattr worker`: queues due sync jobs, then executes queued sync runs, imports and attribution
runs.

Each job is claimed under a lease that a keeper thread renews while the job runs (app/queue.py).
Whatever goes wrong inside one job (a connection that cannot be built, a model that raises, the
database failing mid-write) is recorded on that job, with its attempt count, and the loop goes on
with the next: a job that failed ``job_max_attempts`` times in a row is marked failed, the others
wait a little and are tried again. A stopping worker (SIGTERM) claims nothing more and hands back
the job it holds at its next stage or page.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app import queue
from app.clock import Clock
from app.config import Settings
from app.db import transaction
from app.exceptions import AppError
from app.imports import jobs as import_jobs
from app.models import AttributionRun, CrmConnection, ImportJob, SyncRun, Workspace
from app.queue import Claim, JobControl, JobModel, JobStopped
from app.runs import service
from app.runs.defaults import prune_superseded, queue_defaults
from app.sync import repository as sync_repository
from app.sync.factory import build_connector, field_mapping
from app.sync.jobs import queue_due_jobs
from app.sync.service import execute_sync, write_back_rotated_tokens
from connectors.errors import FatalError
from connectors.retry import RetryPolicy

log = logging.getLogger(__name__)

MAX_RETRY_PAUSE = timedelta(minutes=10)


def worker_name() -> str:
    """Host, process and a random part: unique per worker process, readable in a job's row."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Outcome:
    """How one job ended, for the log."""

    status: str
    counts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Worker:
    factory: sessionmaker[Session]
    settings: Settings
    clock: Clock
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    name: str = field(default_factory=worker_name)
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.job_lease_seconds)

    def work_one(self, model: JobModel) -> Claim | None:
        """Claim one job of ``model`` and see it to its end; None when nothing is claimable."""
        if self.stopping.is_set():
            return None
        with transaction(self.factory) as session:
            claim = queue.claim_next(
                session,
                model,
                worker=self.name,
                now=self.clock(),
                lease=self.lease,
                max_attempts=self.settings.job_max_attempts,
            )
        if claim is not None:
            self._execute(claim)
        return claim

    def _execute(self, claim: Claim) -> None:
        started = time.monotonic()
        log.info("job started", extra=_fields(claim))
        control = JobControl(
            self.factory, claim, clock=self.clock, lease=self.lease, stopping=self.stopping
        )
        try:
            with self._lease_kept(control):
                outcome = EXECUTORS[claim.model](self, control)
        except JobStopped as stopped:
            self._stopped(claim, stopped.reason, started)
        except Exception as error:  # whatever it was, it is this job's failure, not the loop's
            self._failed(claim, error, started)
        else:
            log.info(
                "job finished",
                extra={
                    **_fields(claim),
                    "outcome": outcome.status,
                    "counts": outcome.counts,
                    "duration_s": _since(started),
                },
            )

    @contextmanager
    def _lease_kept(self, control: JobControl) -> Iterator[None]:
        """A thread renews the lease every quarter of it while the job runs."""
        done = threading.Event()
        interval = self.settings.job_lease_seconds / 4

        def keep() -> None:
            while not done.wait(interval):
                try:
                    with transaction(self.factory) as session:
                        renewed = queue.renew(
                            session, control.claim, until=self.clock() + self.lease
                        )
                except Exception:  # the next renewal tries again; the lease has slack for it
                    log.warning("lease renewal failed", extra=_fields(control.claim), exc_info=True)
                    continue
                if not renewed and not done.is_set():
                    control.lost.set()
                    return

        keeper = threading.Thread(target=keep, name=f"lease-{control.claim.kind}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()

    def _stopped(self, claim: Claim, reason: str, started: float) -> None:
        if reason == "released":
            with transaction(self.factory) as session:
                queue.release(session, claim)
                if claim.connection_id is not None:
                    sync_repository.release_lease(
                        session, connection_id=claim.connection_id, run_id=claim.job_id
                    )
        log.info(
            "job stopped",
            extra={**_fields(claim), "outcome": reason, "duration_s": _since(started)},
        )

    def _failed(self, claim: Claim, error: Exception, started: float) -> None:
        """Record the failure on the job: tried again after a pause, or failed for good after
        ``job_max_attempts`` attempts, or at once when retrying cannot help: the job itself is
        invalid (a 4xx AppError) or the CRM refused it for good (a FatalError: credentials that
        cannot work, a missing scope)."""
        now = self.clock()
        final = (
            isinstance(error, AppError | FatalError)
            or claim.attempt >= self.settings.job_max_attempts
        )
        retry_at = None if final else now + self._pause(claim.attempt)
        fields = {
            **_fields(claim),
            "error_class": type(error).__name__,
            "duration_s": _since(started),
        }
        try:
            with transaction(self.factory) as session:
                status = queue.fail(session, claim, error=error, now=now, retry_at=retry_at)
                if claim.connection_id is not None:
                    sync_repository.release_lease(
                        session, connection_id=claim.connection_id, run_id=claim.job_id
                    )
        except Exception:  # the lease runs out and the job is claimed again later
            log.exception("job failed and could not be marked", extra=fields)
            return
        if status == "queued":
            log.warning(
                "job failed, will retry",
                exc_info=error,
                extra={**fields, "outcome": "retry", "retry_at": retry_at},
            )
        else:
            log.error("job failed", exc_info=error, extra={**fields, "outcome": "failed"})

    def _pause(self, attempt: int) -> timedelta:
        """Before attempt n + 1: the poll interval times 4^(n-1), at most ten minutes."""
        pause = timedelta(seconds=self.settings.worker_poll_seconds * 4 ** (attempt - 1))
        return min(pause, MAX_RETRY_PAUSE)


def _fields(claim: Claim) -> dict[str, Any]:
    return {
        "job_kind": claim.kind,
        "job_id": claim.job_id,
        "workspace_id": claim.workspace_id,
        "attempt": claim.attempt,
        "worker": claim.worker,
    }


def _since(started: float) -> float:
    return round(time.monotonic() - started, 3)


def _attribution_run(worker: Worker, control: JobControl) -> Outcome:
    run = service.execute_claimed(worker.factory, control=control, settings=worker.settings)
    if run.is_default:
        with transaction(worker.factory) as session:
            pruned = prune_superseded(
                session,
                run=session.get_one(AttributionRun, run.id),
                retention=timedelta(days=worker.settings.run_retention_days),
                now=worker.clock(),
            )
    else:
        pruned = 0
    stats = (run.channel_summary or {}).get("journey_stats", {})
    return Outcome(run.status, {"model": run.model, **stats, "pruned_runs": pruned})


def _sync_run(worker: Worker, control: JobControl) -> Outcome:
    with transaction(worker.factory) as session:
        run = session.get_one(SyncRun, control.claim.job_id)
        stored = session.get_one(CrmConnection, run.connection_id)
        connector = build_connector(stored, worker.settings, worker.retry)
        write_back_rotated_tokens(
            connector,
            worker.factory,
            connection_id=stored.id,
            settings=worker.settings,
            clock=worker.clock,
        )
        mapping = field_mapping(stored)
    status = execute_sync(
        worker.factory,
        run_id=control.claim.job_id,
        connector=connector,
        mapping=mapping,
        now=worker.clock(),
        lease=worker.lease,
        clock=worker.clock,
        control=control,
    )
    with transaction(worker.factory) as session:
        finished = session.get_one(SyncRun, control.claim.job_id)
        if _changed_records(finished):
            workspace = session.get_one(Workspace, finished.workspace_id)
            queue_defaults(session, workspace=workspace, now=worker.clock())
        return Outcome(status, dict(finished.counts))


def _import_job(worker: Worker, control: JobControl) -> Outcome:
    job = import_jobs.execute_claimed(worker.factory, control=control, settings=worker.settings)
    counts = ("rows_read", "stored", "duplicates", "rejected", "suppressed", "members_created")
    return Outcome(job.status, {"kind": job.kind, **{name: getattr(job, name) for name in counts}})


EXECUTORS: dict[JobModel, Callable[[Worker, JobControl], Outcome]] = {
    AttributionRun: _attribution_run,
    SyncRun: _sync_run,
    ImportJob: _import_job,
}


def _changed_records(run: SyncRun) -> bool:
    """A sync that created, updated or deleted anything refreshes the default runs."""
    return any(
        counts.get(change, 0)
        for counts in run.counts.values()
        for change in ("created", "updated", "deleted")
    )


def _queue_due(worker: Worker) -> None:
    with transaction(worker.factory) as session:
        queued = queue_due_jobs(session, now=worker.clock())
    for run in queued:
        log.info(
            "sync run queued by its schedule",
            extra={"job_kind": "sync_run", "job_id": run.id, "workspace_id": run.workspace_id},
        )


def drain_once(worker: Worker) -> list[Claim]:
    """Queue due sync jobs, then execute claimable sync runs, imports and attribution runs until
    none is left (or the worker is stopping); answers the claims it worked on."""
    _queue_due(worker)
    done: list[Claim] = []
    for model in (SyncRun, ImportJob, AttributionRun):
        while (claim := worker.work_one(model)) is not None:
            done.append(claim)
    return done


def sync_next(
    factory: sessionmaker[Session], *, settings: Settings, clock: Clock, retry: RetryPolicy
) -> int | None:
    """Claim and execute one sync run; answer its id, or None when none is claimable."""
    claim = Worker(factory, settings, clock, retry).work_one(SyncRun)
    return None if claim is None else claim.job_id


def import_next(factory: sessionmaker[Session], *, settings: Settings, clock: Clock) -> int | None:
    """Claim and execute one import; answer its id, or None when none is claimable."""
    claim = Worker(factory, settings, clock).work_one(ImportJob)
    return None if claim is None else claim.job_id


def run_next(factory: sessionmaker[Session], *, settings: Settings, clock: Clock) -> int | None:
    """Claim and execute one attribution run; answer its id, or None when none is claimable."""
    claim = Worker(factory, settings, clock).work_one(AttributionRun)
    return None if claim is None else claim.job_id


def drain(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    clock: Clock,
    retry: RetryPolicy | None = None,
) -> list[int]:
    """`commattr worker --once`: drain the queue; answers the ids of the attribution runs it
    worked on."""
    worker = Worker(factory, settings, clock, retry or RetryPolicy())
    return [c.job_id for c in drain_once(worker) if c.model is AttributionRun]


def serve_forever(worker: Worker, *, poll_seconds: float) -> None:
    """Drain, pause ``poll_seconds`` when there was nothing to do, until ``worker.stopping``."""
    log.info(
        "worker started",
        extra={"worker": worker.name, "poll_seconds": poll_seconds},
    )
    while not worker.stopping.is_set():
        try:
            worked = drain_once(worker)
        except Exception:  # e.g. the database is unreachable: wait and try again
            log.exception("worker loop failed; retrying after a pause")
            worked = []
        if not worked:
            worker.stopping.wait(poll_seconds)
    log.info("worker stopped", extra={"worker": worker.name})
