"""Workers as an operator runs them: `commattr worker` processes on the test database, killed or
stopped by signals, and what their jobs left behind, read through a connection of the test's own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.models import (
    Account,
    AttributionRun,
    Contact,
    Credit,
    CreditRollup,
    CrmConnection,
    Lead,
    Opportunity,
    OpportunityContact,
    ReportRollup,
    RunOpportunity,
    SyncRun,
)
from app.models.base import Base

COMMATTR = Path(sys.executable).parent / "commattr"
REPOSITORY = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], *, timeout: float = 120, what: str = "") -> Any:
    """Poll ``condition`` until it answers something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = condition()
        if answer:
            return answer
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    output: Path

    def kill(self) -> None:
        """SIGKILL: the worker dies where it stands, as when out of memory."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, and the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.output.read_text(errors="replace")


@contextmanager
def worker_process(
    settings: Settings,
    folder: Path,
    *,
    pause_at: str | None = None,
    environment: dict[str, str] | None = None,
) -> Iterator[WorkerProcess]:
    """`commattr worker` on the settings' database (with ``pause_at`` = "module:function", one
    that stops dead in that function and touches ``folder / "paused"``; ``environment``, more
    settings); killed at the end if the test left it running."""
    environment = {
        **os.environ,
        **(environment or {}),
        "COMMATTR_DATABASE_URL": settings.database_url,
        "COMMATTR_WORKER_POLL_SECONDS": "0.1",
        "COMMATTR_ENCRYPTION_KEY_FILE": str(settings.key_file().resolve()),
        "COMMATTR_CRM_TEST_HOSTS": _json_list(settings.crm_test_hosts),
    }
    command = (
        [sys.executable, "-m", "tests.worker.paused", pause_at, str(folder / "paused")]
        if pause_at
        else [str(COMMATTR), "worker"]
    )
    output = folder / f"worker-{time.monotonic_ns()}.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=REPOSITORY, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    worker = WorkerProcess(process, output)
    try:
        yield worker
    finally:
        if worker.alive():
            worker.kill()


def _json_list(values: tuple[str, ...]) -> str:
    return "[" + ",".join(f'"{value}"' for value in values) + "]"


@contextmanager
def database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(settings)
    try:
        yield build_sessionmaker(engine)
    finally:
        engine.dispose()


def job(factory: sessionmaker[Session], model: type[Any], job_id: int) -> Any:
    with factory() as session:
        return session.get_one(model, job_id)


def expire_lease(factory: sessionmaker[Session], model: type[Any], job_id: int) -> None:
    """What the passing of the lease's time does to a dead worker's job (and a sync's
    connection lock), without waiting for it."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    with factory.begin() as session:
        session.execute(update(model).where(model.id == job_id).values(lease_until=past))
        if model is SyncRun:
            session.execute(
                update(CrmConnection)
                .where(CrmConnection.locked_by_run_id == job_id)
                .values(locked_until=past)
            )


RESULT_TABLES: tuple[type[Base], ...] = (RunOpportunity, Credit, CreditRollup, ReportRollup)


def run_results(factory: sessionmaker[Session], run_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row an attribution run wrote, without its own ids, sorted: comparable between
    two runs of the same request."""
    results = {}
    with factory() as session:
        for model in RESULT_TABLES:
            table = model.__table__
            columns = [c for c in table.columns if c.name not in ("id", "run_id")]
            rows = session.execute(select(*columns).where(table.c.run_id == run_id)).all()
            results[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return results


SYNCED: tuple[type[Base], ...] = (Account, Contact, Lead, Opportunity, OpportunityContact)
REFERENCES = {
    "account_id": Account,
    "contact_id": Contact,
    "converted_contact_id": Contact,
    "opportunity_id": Opportunity,
}


def synced_rows(factory: sessionmaker[Session], workspace_id: int) -> dict[str, list[Any]]:
    """The workspace's CRM rows as the CRM sees them: references as external ids, without the
    database's own ids and the time of the sync."""
    rows: dict[str, list[Any]] = {}
    with factory() as session:
        external = {
            model: dict(
                session.execute(
                    select(model.id, model.external_id).where(model.workspace_id == workspace_id)  # type: ignore[attr-defined]
                ).all()
            )
            for model in set(REFERENCES.values())
        }
        for model in SYNCED:
            table = model.__table__
            columns = [
                c for c in table.columns if c.name not in ("id", "workspace_id", "synced_at")
            ]
            found = session.execute(
                select(*columns).where(table.c.workspace_id == workspace_id)
            ).mappings()
            rows[table.name] = sorted(
                (
                    {
                        name: external[REFERENCES[name]].get(value) if name in REFERENCES else value
                        for name, value in row.items()
                    }
                    for row in found
                ),
                key=repr,
            )
    return rows


__all__ = ["AttributionRun", "SyncRun"]
