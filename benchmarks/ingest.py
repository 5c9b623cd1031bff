"""Benchmark of touchpoint imports: a CSV file through the import job path, SQLite and PostgreSQL.

    python -m benchmarks.ingest --rows 1000000 --backend both

A seeded CSV (``--rows`` rows over ``--people`` distinct emails and 12 activity types, one row
in 50 repeating an earlier id) is written to a temporary file. For each backend, in a fresh
process (so that its peak memory is its own): a freshly migrated database (PostgreSQL from
``scripts/test-postgres start`` unless ``--postgres-url``), a workspace with the activity types,
then the file is queued as the API queues a large upload (``app.imports.service.queue_file``:
the database keeps it in 1 MiB chunks) and executed as ``commattr worker`` does
(``app.worker.import_next``). Printed per backend: the time to queue the file, the time
to import it, rows per second of the import, and the process's peak RSS before and after the
import (the file is never held in memory: the second figure should not grow with ``--rows``), the
CPU seconds the import took in this process and, when the PostgreSQL server runs on this machine,
in the server (on a busy machine these say more than the wall-clock time).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import multiprocessing
import os
import random
import resource
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from app import migrate
from app.catalog.schemas import ActivityTypeIn
from app.catalog.service import put_activity_type
from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.imports import service
from app.imports.schemas import ColumnMapping
from app.models import Category, Touchpoint
from app.worker import import_next
from app.workspaces.service import create_workspace

ROOT = Path(__file__).resolve().parent.parent
TYPES = [f"type_{n}" for n in range(12)]


def write_csv(path: Path, rows: int, people: int, seed: int, compress: bool) -> None:
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    opener = gzip.open if compress else open
    with opener(path, "wt", newline="") as handle:  # type: ignore[operator]
        writer = csv.writer(handle)
        writer.writerow(["external_id", "occurred_at", "activity_type", "member_email", "channel"])
        for n in range(rows):
            ident = rng.randrange(n) if n and rng.random() < 0.02 else n
            when = start + timedelta(seconds=rng.randrange(365 * 86_400))
            writer.writerow(
                [
                    f"evt-{ident}",
                    when.isoformat(),
                    TYPES[rng.randrange(len(TYPES))],
                    f"person{rng.randrange(people)}@example.com",
                    "forum",
                ]
            )


@contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    script = ROOT / "scripts" / "test-postgres"
    started = subprocess.run([str(script), "start"], check=True, capture_output=True, text=True)
    directory, server_url = started.stdout.split()
    try:
        yield server_url
    finally:
        subprocess.run([str(script), "stop", directory], check=False)


def fresh_database(backend: str, scratch: Path, server_url: str | None) -> str:
    if backend == "sqlite":
        return f"sqlite:///{scratch / f'ingest-{uuid.uuid4().hex[:8]}.db'}"
    assert server_url is not None
    name = f"commattr_ingest_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def backend_cpu(engine: Engine) -> dict[int, float]:
    """CPU seconds of each server process of the database, when the server runs on this machine
    (as ``scripts/test-postgres`` does) and /proc shows it; else nothing."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as connection:
        pids = connection.scalars(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).all()
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_import(url: str, path: str, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """In a process of its own: migrate, set up a workspace, queue the file, import it."""
    settings = Settings(database_url=url)
    engine = build_engine(settings)
    migrate.upgrade(engine)
    factory = build_sessionmaker(engine)
    now = datetime.now(UTC)
    with transaction(factory) as session:
        workspace = create_workspace(session, name="Bench", now=now, free_mail_domains=[])
        workspace_id = workspace.workspace.id
        categories = [c for c in Category if c != Category.MARKETING]
        for n, key in enumerate(TYPES):
            put_activity_type(
                session,
                workspace_id=workspace_id,
                key=key,
                body=ActivityTypeIn(name=key, category=categories[n % len(categories)]),
            )
    before = peak_rss_mb()
    started = time.perf_counter()
    request = service.ImportSettings("touchpoints", "bench", "csv", ColumnMapping(), False)
    with transaction(factory) as session, open(path, "rb") as file:
        job = service.new_job(
            session,
            workspace_id=workspace_id,
            request=request,
            size=Path(path).stat().st_size,
            status="queued",
            now=now,
        )
        service.queue_file(session, job=job, file=file)
    queued = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    server_before = backend_cpu(engine)
    import_next(factory, settings=settings, clock=lambda: datetime.now(UTC))
    imported, cpu = time.perf_counter() - started, time.process_time() - cpu
    server = sum(s - server_before.get(pid, 0.0) for pid, s in backend_cpu(engine).items())
    with transaction(factory) as session:
        stored = session.scalar(select(func.count()).where(Touchpoint.workspace_id == workspace_id))
        result = service.describe(
            session, service.get_import(session, workspace_id=workspace_id, import_id=job.id)
        )
    engine.dispose()
    results.put(
        {
            "queued_s": queued,
            "import_s": imported,
            "rows_read": result.rows_read,
            "stored": stored,
            "duplicates": result.duplicates,
            "status": result.status,
            "error": result.error,
            "rss_before_mb": before,
            "rss_peak_mb": peak_rss_mb(),
            "cpu_s": cpu,
            "server_cpu_s": server,
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=0, help="distinct emails (rows / 10)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--gzip", action="store_true", help="send the file gzip-compressed")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        path = scratch / ("touches.csv.gz" if args.gzip else "touches.csv")
        started = time.perf_counter()
        write_csv(path, args.rows, args.people or max(args.rows // 10, 1), args.seed, args.gzip)
        size_mb = path.stat().st_size / 1024**2
        print(
            f"{args.rows:,} rows, {size_mb:.1f} MiB file, written in {time.perf_counter() - started:.1f} s"
        )
        print(
            f"{'backend':<11} {'queue s':>8} {'import s':>9} {'rows/s':>9} {'stored':>10} {'dupes':>7} {'RSS before MB':>14} {'RSS peak MB':>12} {'CPU s':>6} {'server CPU s':>13}"
        )
        with postgres_server(args.postgres_url if "postgresql" in backends else "unused") as server:
            for backend in backends:
                url = fresh_database(backend, scratch, server if backend == "postgresql" else None)
                results: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
                child = context.Process(target=run_import, args=(url, str(path), results))
                child.start()
                outcome = results.get()
                child.join()
                if outcome["status"] != "succeeded":
                    print(f"{backend}: {outcome['status']} {outcome['error']}")
                    continue
                print(
                    f"{backend:<11} {outcome['queued_s']:>8.1f} {outcome['import_s']:>9.1f} "
                    f"{outcome['rows_read'] / outcome['import_s']:>9,.0f} {outcome['stored']:>10,} "
                    f"{outcome['duplicates']:>7,} {outcome['rss_before_mb']:>14.0f} "
                    f"{outcome['rss_peak_mb']:>12.0f} {outcome['cpu_s']:>6.1f} "
                    f"{outcome['server_cpu_s']:>13.1f}"
                )


if __name__ == "__main__":
    main()
