"""The work queue `commattr worker` drains: sync runs, imports and attribution runs, claimed under a
lease.

A claim is a conditional UPDATE (one winner across processes, and machines on one PostgreSQL) that
marks the job running, names the worker, sets the lease and counts the attempt. The worker renews
the lease while it works; once a lease runs out (the worker was killed, ran out of memory, lost its
machine) another worker takes the job over and does it again: an attribution run or an import from
scratch, a sync from its cursors. Every later write of the job is fenced by its claim: it only happens while
the job is still running under that claim, so a cancelled job, or one taken over from a stalled
worker, is never finished twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.clock import Clock
from app.db import transaction
from app.exceptions import Conflict
from app.models import AttributionRun, CrmConnection, ImportChunk, ImportJob, SyncRun

JobModel = type[AttributionRun] | type[SyncRun] | type[ImportJob]
NOUNS = {AttributionRun: "attribution run", SyncRun: "sync run", ImportJob: "import"}
ACTIVE = ("queued", "running")
ERROR_LENGTH = 2000


class JobStopped(Exception):
    """The job is no longer this worker's to finish: ``cancelled`` through the API, ``lost`` to
    another worker after the lease ran out, or ``released`` because this worker is stopping."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Claim:
    """One worker's hold on one job, for one attempt."""

    model: JobModel
    job_id: int
    workspace_id: int
    attempt: int
    worker: str
    connection_id: int | None = None

    @property
    def kind(self) -> str:
        return self.model.__tablename__

    def mine(self) -> ColumnElement[bool]:
        """The fence: the job is still running under this claim."""
        return and_(self.held(), self.model.status == "running")

    def held(self) -> ColumnElement[bool]:
        """The fence of a transaction that already wrote the job's outcome (its status): the
        job is still under this claim. A cancel or a failure by another worker clears
        ``leased_by``, a takeover changes it."""
        model = self.model
        return and_(
            model.id == self.job_id,
            model.leased_by == self.worker,
            model.attempts == self.attempt,
        )


def _claimable(model: JobModel, now: datetime) -> ColumnElement[bool]:
    """Queued and past any retry pause, or running under a lease that ran out."""
    return or_(
        and_(model.status == "queued", or_(model.lease_until.is_(None), model.lease_until <= now)),
        and_(model.status == "running", model.lease_until < now),
    )


def claim_next(
    session: Session,
    model: JobModel,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    max_attempts: int,
) -> Claim | None:
    """Claim the oldest claimable job. A running job whose lease ran out lost its worker; after
    ``max_attempts`` such losses it is marked failed instead of being tried again, so a job that
    kills its worker (out of memory) cannot take every worker down in turn."""
    candidates = session.execute(
        select(model.id, model.status, model.attempts)
        .where(_claimable(model, now))
        .order_by(model.id)
        .limit(5)
    ).all()
    for job_id, status, attempts in candidates:
        unchanged = and_(model.id == job_id, model.status == status, model.attempts == attempts)
        if status == "running" and attempts >= max_attempts:
            session.execute(
                update(model)
                .where(unchanged)
                .values(
                    status="failed",
                    error=_error_value(
                        model,
                        "WorkerLost",
                        f"its worker stopped without finishing it {attempts} times "
                        "(killed, or out of memory)",
                    ),
                    finished_at=now,
                    leased_by=None,
                    lease_until=None,
                    progress=None,
                )
            )
            discard(session, model, job_id)
            continue
        claimed = session.execute(
            update(model)
            .where(unchanged)
            .values(
                status="running",
                leased_by=worker,
                lease_until=now + lease,
                attempts=attempts + 1,
                progress=None,
                **({} if model is SyncRun else {"started_at": now}),
            )
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            workspace_id = session.scalar(select(model.workspace_id).where(model.id == job_id))
            connection_id = (
                session.scalar(select(SyncRun.connection_id).where(SyncRun.id == job_id))
                if model is SyncRun
                else None
            )
            return Claim(
                model=model,
                job_id=job_id,
                workspace_id=int(workspace_id or 0),
                attempt=attempts + 1,
                worker=worker,
                connection_id=connection_id,
            )
    return None


def renew(session: Session, claim: Claim, *, until: datetime, **values: Any) -> bool:
    """Extend the lease (and set ``values``) while the job is still this claim's; a sync's
    connection lock is extended with it."""
    renewed = session.execute(
        update(claim.model).where(claim.mine()).values(lease_until=until, **values)
    )
    if not renewed.rowcount:  # type: ignore[attr-defined]
        return False
    if claim.connection_id is not None:
        session.execute(
            update(CrmConnection)
            .where(
                CrmConnection.id == claim.connection_id,
                CrmConnection.locked_by_run_id == claim.job_id,
            )
            .values(locked_until=until)
        )
    return True


def why_not_mine(session: Session, claim: Claim) -> str:
    """``cancelled`` or ``lost``: why a fenced write of the claim found nothing."""
    status = session.scalar(select(claim.model.status).where(claim.model.id == claim.job_id))
    return "cancelled" if status == "cancelled" else "lost"


def release(session: Session, claim: Claim) -> bool:
    """Give the job back to the queue as it was (a stopping worker): the attempt does not count."""
    released = session.execute(
        update(claim.model)
        .where(claim.mine())
        .values(
            status="queued",
            leased_by=None,
            lease_until=None,
            attempts=claim.attempt - 1,
            progress=None,
        )
    )
    return bool(released.rowcount)  # type: ignore[attr-defined]


def fail(
    session: Session,
    claim: Claim,
    *,
    error: BaseException,
    now: datetime,
    retry_at: datetime | None,
) -> str | None:
    """Record a failed attempt: queued again until ``retry_at``, or failed for good when
    ``retry_at`` is None. Answers the job's new status (None: the job was no longer this claim's)."""
    status = "failed" if retry_at is None else "queued"
    values: dict[str, Any] = {
        "status": status,
        "error": _error_value(claim.model, type(error).__name__, str(error)),
        "lease_until": retry_at,
        "progress": None,
    }
    if retry_at is None:
        values["finished_at"] = now
    marked = session.execute(update(claim.model).where(claim.mine()).values(**values))
    if not marked.rowcount:  # type: ignore[attr-defined]
        return None
    if retry_at is None:
        discard(session, claim.model, claim.job_id)
    return status


def _error_value(model: JobModel, kind: str, detail: str) -> Any:
    """Sync runs keep their error as a {type, detail} document, the others as text."""
    detail = detail[:ERROR_LENGTH]
    if model is SyncRun:
        return {"type": kind, "detail": detail}
    return f"{kind}: {detail}"[:ERROR_LENGTH]


def cancel(session: Session, model: JobModel, *, job_id: int, now: datetime) -> None:
    """Cancel a queued or running job; a running job's worker notices at its next stage, page or
    batch and writes nothing more. A finished job is a 409."""
    cancelled = session.execute(
        update(model)
        .where(model.id == job_id, model.status.in_(ACTIVE))
        .values(
            status="cancelled", finished_at=now, leased_by=None, lease_until=None, progress=None
        )
        .execution_options(synchronize_session=False)
    )
    if not cancelled.rowcount:  # type: ignore[attr-defined]
        status = session.scalar(select(model.status).where(model.id == job_id))
        noun = NOUNS[model]
        raise Conflict(f"{noun} {job_id} already {status}: only queued or running {noun}s cancel")
    discard(session, model, job_id)
    if model is SyncRun:
        session.execute(
            update(CrmConnection)
            .where(CrmConnection.locked_by_run_id == job_id)
            .values(locked_by_run_id=None, locked_until=None)
        )
    session.expire_all()


@dataclass
class JobControl:
    """What a running job consults at its stage and page boundaries: it records where it is
    (renewing the lease), learns whether it was cancelled or taken over, and whether its worker
    is stopping. ``lost`` is set by the worker's lease keeper when a renewal finds the job gone."""

    factory: sessionmaker[Session]
    claim: Claim
    clock: Clock
    lease: timedelta
    stopping: threading.Event = field(default_factory=threading.Event)
    lost: threading.Event = field(default_factory=threading.Event)

    def checkpoint(self, phase: str, done: int, total: int | None) -> None:
        """Between stages, in its own short transaction; raises JobStopped (``released`` when the
        worker is stopping: the job goes back to the queue)."""
        self.stop_if_asked()
        with transaction(self.factory) as session:
            self.record(session, progress(phase, done, total))

    def record(self, session: Session, where: dict[str, Any] | None) -> None:
        """In the caller's transaction (a sync page and its cursor): renew the lease and store the
        progress, or raise JobStopped so that the transaction rolls back."""
        if self.lost.is_set():
            raise JobStopped("lost")
        values = {} if where is None else {"progress": where}
        if not renew(session, self.claim, until=self.clock() + self.lease, **values):
            raise JobStopped(why_not_mine(session, self.claim))

    def fence(self, session: Session) -> None:
        """In a transaction that wrote the job's outcome, as its last statement: the job is still
        this claim's (held to the commit), or JobStopped so that the transaction rolls back."""
        if self.lost.is_set():
            raise JobStopped("lost")
        held = session.execute(
            update(self.claim.model)
            .where(self.claim.held())
            .values(lease_until=None, progress=None)
            .execution_options(synchronize_session=False)
        )
        if not held.rowcount:  # type: ignore[attr-defined]
            raise JobStopped(why_not_mine(session, self.claim))

    def stop_if_asked(self) -> None:
        if self.stopping.is_set():
            raise JobStopped("released")
        if self.lost.is_set():
            raise JobStopped("lost")


def progress(phase: str, done: int, total: int | None) -> dict[str, Any]:
    return {"phase": phase, "done": done, "total": total}


def discard(session: Session, model: JobModel, job_id: int) -> None:
    """What a job that will never run again keeps for nothing: an import's file."""
    if model is ImportJob:
        session.execute(delete(ImportChunk).where(ImportChunk.import_id == job_id))
