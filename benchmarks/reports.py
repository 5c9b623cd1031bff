"""Report latency at N concurrent clients, with a million credits in PostgreSQL.

    python -m benchmarks.reports --credits 1000000 --opportunities 100000 --clients 8

Loads a synthetic run straight into PostgreSQL with COPY (accounts, opportunities, the run's
snapshot, its credits, the credit rollups computed from those credits by SQL, and the report
rollups written by the service's own code), serves the API with `commattr serve` in a child process, and measures p50/p99 of
`summary`, `by-activity-type` and `timeseries`, unfiltered and with one filter, from concurrent
clients on loopback. Without --postgres-url it starts a throwaway server (scripts/test-postgres).

The clients must not starve the server of CPU: with `wrk` on the PATH (apt-get install wrk) it
drives the load for --seconds per scenario; otherwise each client is its own process (threads in
this one would fight over its GIL and count their waiting as server latency). --database reuses a
database loaded by an earlier run (its name is printed) instead of loading a fresh one.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app import migrate
from app.auth.service import mint_key
from app.catalog.schemas import ActivityTypeIn
from app.catalog.service import put_activity_type
from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.models import AttributionRun, Category, Workspace
from app.progress import Report, progress
from app.reports import rollups
from app.workspaces.service import create_workspace

PROGRESS_ROWS = 50_000  # a progress line or bar update every this many rows

ROOT = Path(__file__).resolve().parent.parent
START = date(2024, 1, 1)
DAYS = 730
SCENARIOS: tuple[tuple[str, dict[str, str]], ...] = (
    ("summary", {}),
    ("summary", {"type": "new_business"}),
    ("by-activity-type", {}),
    ("by-activity-type", {"type": "new_business"}),
    ("timeseries", {"interval": "month"}),
    ("timeseries", {"interval": "month", "type": "new_business"}),
)


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    started = subprocess.run(
        [str(ROOT / "scripts" / "test-postgres"), "start"],
        check=True,
        capture_output=True,
        text=True,
    )
    directory, server = started.stdout.split()
    try:
        yield server
    finally:
        subprocess.run([str(ROOT / "scripts" / "test-postgres"), "stop", directory], check=False)


def fresh_database(server: str) -> str:
    name = f"commattr_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def setup_workspace(settings: Settings) -> tuple[int, str, list[int]]:
    """A workspace with twelve activity types over the seven categories; answers their ids."""
    factory = build_sessionmaker(build_engine(settings))
    now = datetime.now(UTC)
    with transaction(factory) as session:
        created = create_workspace(session, name="Bench", now=now, free_mail_domains=[])
        categories = list(Category)
        type_ids = [
            put_activity_type(
                session,
                workspace_id=created.workspace.id,
                key=f"type_{n}",
                body=ActivityTypeIn(name=f"Type {n}", category=categories[n % len(categories)]),
            ).id
            for n in range(12)
        ]
        return created.workspace.id, created.api_key, type_ids


def copy_rows(
    cursor: psycopg.Cursor[Any],
    table: str,
    columns: list[str],
    rows: Iterator[tuple[Any, ...]],
    *,
    total: int,
    report: Report,
) -> None:
    """COPY the rows into ``table``, telling ``report`` how many are written as it goes."""
    phase = f"{table} rows"
    report(phase, 0, total)
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for written, row in enumerate(rows, start=1):
            copy.write_row(row)
            if written % PROGRESS_ROWS == 0:
                report(phase, written, total)
    report(phase, total, total)


def load(
    url: str,
    workspace_id: int,
    type_ids: list[int],
    opportunities: int,
    credits: int,
    seed: int,
    report: Report,
) -> None:
    rng = np.random.default_rng(seed)
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    now = datetime.now(UTC)
    accounts = max(opportunities // 50, 1)
    with psycopg.connect(conninfo) as connection, connection.cursor() as cursor:
        copy_rows(
            cursor,
            "account",
            ["workspace_id", "source", "external_id", "name", "properties", "synced_at"],
            ((workspace_id, "bench", f"A{n}", f"Account {n}", "{}", now) for n in range(accounts)),
            total=accounts,
            report=report,
        )
        account_base = cursor.execute(
            "SELECT min(id) FROM account WHERE workspace_id = %s", (workspace_id,)
        ).fetchone()[0]  # type: ignore[index]
        created_day = rng.integers(0, DAYS, opportunities)
        won = rng.random(opportunities) < 0.3
        lost = ~won & (rng.random(opportunities) < 0.4)
        close_day = created_day + rng.integers(10, 120, opportunities)
        amount = rng.integers(1_000, 200_000, opportunities) * 100
        kinds = np.array(["new_business", "expansion", "renewal", "other"])[
            rng.integers(0, 4, opportunities)
        ]
        account_of = account_base + rng.integers(0, accounts, opportunities)
        copy_rows(
            cursor,
            "opportunity",
            [
                "workspace_id",
                "source",
                "external_id",
                "account_id",
                "type",
                "is_closed",
                "is_won",
                "amount",
                "currency",
                "created_at",
                "close_date",
                "properties",
                "synced_at",
            ],
            (
                (
                    workspace_id,
                    "bench",
                    f"O{n}",
                    int(account_of[n]),
                    kinds[n],
                    bool(won[n] or lost[n]),
                    bool(won[n]),
                    int(amount[n]),
                    "USD",
                    datetime.combine(
                        START + timedelta(days=int(created_day[n])), datetime.min.time(), UTC
                    ),
                    START + timedelta(days=int(close_day[n])),
                    "{}",
                    now,
                )
                for n in range(opportunities)
            ),
            total=opportunities,
            report=report,
        )
        opportunity_base = cursor.execute(
            "SELECT min(id) FROM opportunity WHERE workspace_id = %s", (workspace_id,)
        ).fetchone()[0]  # type: ignore[index]
        run_id = cursor.execute(
            "INSERT INTO attribution_run (workspace_id, model, parameters, status, as_of, created_at, finished_at, is_default)"
            " VALUES (%s, 'linear', '{}', 'succeeded', %s, %s, %s, true) RETURNING id",
            (workspace_id, now, now, now),
        ).fetchone()[0]  # type: ignore[index]
        per_opportunity = np.maximum(rng.poisson(credits / opportunities, opportunities), 1)
        per_opportunity[-1] += max(credits - int(per_opportunity.sum()), 0)
        community = rng.random(int(per_opportunity.sum())) < 0.6
        opportunity_of = np.repeat(np.arange(opportunities), per_opportunity)
        stages = np.where(
            won[opportunity_of] & (rng.random(len(opportunity_of)) < 0.5), "revenue", "pipeline"
        )
        fraction = 1.0 / per_opportunity[opportunity_of]
        credit = (amount[opportunity_of] * fraction).astype(np.int64)
        type_of = np.array(type_ids)[rng.integers(0, len(type_ids), len(opportunity_of))]
        copy_rows(
            cursor,
            "credit",
            [
                "workspace_id",
                "run_id",
                "stage",
                "opportunity_id",
                "touchpoint_id",
                "is_community",
                "activity_type_id",
                "fraction",
                "amount",
            ],
            (
                (
                    workspace_id,
                    run_id,
                    stages[i],
                    int(opportunity_base + opportunity_of[i]),
                    i,
                    bool(community[i]),
                    int(type_of[i]),
                    float(fraction[i]),
                    int(credit[i]),
                )
                for i in range(len(opportunity_of))
            ),
            total=len(opportunity_of),
            report=report,
        )
        cursor.execute(
            """
            INSERT INTO run_opportunity (run_id, opportunity_id, workspace_id, account_id, type, is_closed,
                is_won, amount, currency, created_at, closed_at, created_date, close_date, pipeline_rate,
                revenue_rate, pipeline_influenced, revenue_influenced, sourced, accelerated,
                pipeline_attributed, revenue_attributed, pipeline_attributed_any, revenue_attributed_any)
            SELECT %(run)s, o.id, o.workspace_id, o.account_id, o.type, o.is_closed, o.is_won, o.amount,
                o.currency, o.created_at, CASE WHEN o.is_closed THEN o.close_date + interval '1 day' END,
                o.created_at::date, o.close_date, 1, 1,
                coalesce(c.pipeline_any, false), coalesce(c.revenue_any, false),
                coalesce(c.pipeline_any, false) AND o.id %% 3 = 0, coalesce(c.pipeline_any, false) AND o.id %% 2 = 0,
                coalesce(c.pipeline, 0), coalesce(c.revenue, 0),
                coalesce(c.pipeline_any, false), coalesce(c.revenue_any, false)
            FROM opportunity o LEFT JOIN (
                SELECT opportunity_id,
                    sum(amount) FILTER (WHERE stage = 'pipeline' AND is_community) AS pipeline,
                    sum(amount) FILTER (WHERE stage = 'revenue' AND is_community) AS revenue,
                    bool_or(stage = 'pipeline' AND is_community) AS pipeline_any,
                    bool_or(stage = 'revenue' AND is_community) AS revenue_any
                FROM credit WHERE run_id = %(run)s GROUP BY opportunity_id
            ) c ON c.opportunity_id = o.id
            WHERE o.workspace_id = %(workspace)s
            """,
            {"run": run_id, "workspace": workspace_id},
        )
        cursor.execute(
            """
            INSERT INTO credit_rollup (workspace_id, run_id, stage, opportunity_id, activity_type_id,
                program_id, is_community, touches, fraction, amount)
            SELECT workspace_id, run_id, stage, opportunity_id, activity_type_id, program_id, is_community,
                count(*), sum(fraction), sum(amount)
            FROM credit WHERE run_id = %s
            GROUP BY workspace_id, run_id, stage, opportunity_id, activity_type_id, program_id, is_community
            """,
            (run_id,),
        )
        connection.commit()
    factory = build_sessionmaker(build_engine(Settings(database_url=url)))
    with transaction(factory) as session:
        rollups.write(session, run=session.get_one(AttributionRun, run_id))
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("ANALYZE")


def server_cpu_seconds(root: int) -> float:
    """CPU time used so far by the process ``root`` and its descendants (0 without /proc)."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree = {root}
    while grown := {pid for pid, parent in parents.items() if parent in tree} - tree:
        tree |= grown
    return sum(used.get(pid, 0.0) for pid in tree)


@contextmanager
def serving(url: str, port: int, workers: int) -> Iterator[tuple[str, int]]:
    environment = {
        **os.environ,
        "COMMATTR_DATABASE_URL": url,
        "COMMATTR_LOG_LEVEL": "warning",
        "COMMATTR_WEB_WORKERS": str(workers),
        "COMMATTR_RATE_LIMIT_PER_KEY": "off",  # every client shares one key
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "commattr"), "serve", "--port", str(port)],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def _get(base: str, key: str, path: str, query: dict[str, str], count: int) -> list[float]:
    """``count`` requests one after another; their latencies in seconds."""
    latencies = []
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        for _ in range(count):
            started = time.perf_counter()
            response = client.get(f"/v1/reports/{path}", params=query)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
    return latencies


def measure(
    pool: ProcessPoolExecutor,
    base: str,
    key: str,
    path: str,
    params: dict[str, str],
    clients: int,
    requests: int,
    cpu: Callable[[], float],
) -> tuple[float, float, float, float]:
    """(p50 s, p99 s, requests per second, server CPU s per request) of ``clients`` client
    processes."""
    query = {"from": "2024-07-01", "to": "2025-06-30", **params}
    # warm up every server process and pooled connection (statement caches, prepared statements)
    list(pool.map(_get, *zip(*[(base, key, path, query, 10)] * clients, strict=True)))
    cpu_before, started = cpu(), time.perf_counter()
    chunks = pool.map(
        _get, *zip(*[(base, key, path, query, requests // clients)] * clients, strict=True)
    )
    latencies = sorted(latency for chunk in chunks for latency in chunk)
    elapsed, used = time.perf_counter() - started, cpu() - cpu_before
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    count = len(latencies)
    return statistics.median(latencies), p99, count / elapsed, used / count


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def measure_wrk(
    base: str,
    key: str,
    path: str,
    params: dict[str, str],
    clients: int,
    seconds: float,
    cpu: Callable[[], float],
) -> tuple[float, float, float, float]:
    """(p50 s, p99 s, requests per second, server CPU s per request) of ``wrk`` keeping
    ``clients`` connections busy."""
    query = httpx.QueryParams({"from": "2024-07-01", "to": "2025-06-30", **params})
    url = f"{base}/v1/reports/{path}?{query}"
    _get(base, key, path, dict(query), 1)  # fails loudly on a bad key or report

    def run(duration: float) -> str:
        return subprocess.run(
            [
                "wrk",
                "--latency",
                f"-t{min(clients, 2)}",
                f"-c{clients}",
                f"-d{duration:g}s",
                *("-H", f"Authorization: Bearer {key}", url),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    run(1)  # warm up every server process and pooled connection
    cpu_before = cpu()
    output = run(seconds)
    used = cpu() - cpu_before
    if "Non-2xx" in output or "Socket errors" in output:
        raise RuntimeError(f"wrk saw failures:\n{output}")

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert found, output
        return float(found[1]) * _UNITS[found[2]]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    count = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    assert rate and count, output
    return latency("50"), latency("99"), float(rate[1]), used / int(count[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--credits", type=int, default=1_000_000)
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--requests", type=int, default=400, help="per scenario (client processes, without wrk)"
    )
    parser.add_argument("--seconds", type=float, default=10, help="per scenario (wrk)")
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "processes"],
        default="auto",
        help="load generator: wrk when on the PATH (auto), else one process per client",
    )
    parser.add_argument(
        "--database", default=None, help="reuse this loaded commattr_bench_* database"
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--workers", type=int, default=2, help="server processes (COMMATTR_WEB_WORKERS)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=None)
    args = parser.parse_args()
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk") is not None)
    with postgres(args.postgres_url) as server:
        if args.database:
            url = make_url(server).set(database=args.database).render_as_string(hide_password=False)
            key = reader_key(url)
        else:
            url = fresh_database(server)
            settings = Settings(database_url=url)
            migrate.upgrade(build_engine(settings))
            workspace_id, key, type_ids = setup_workspace(settings)
            started = time.perf_counter()
            with progress() as report:
                load(
                    url, workspace_id, type_ids, args.opportunities, args.credits, args.seed, report
                )
            print(
                f"loaded {args.credits:,} credits over {args.opportunities:,} opportunities "
                f"in {time.perf_counter() - started:.1f} s into {make_url(url).database}"
            )
        client = "wrk" if use_wrk else f"{args.clients} client processes"
        print(f"{args.clients} concurrent clients ({client}), {args.workers} server processes")
        with (
            serving(url, args.port, args.workers) as (base, server_pid),
            ProcessPoolExecutor(
                args.clients, mp_context=multiprocessing.get_context("spawn")
            ) as pool,
        ):
            print(
                f"{'report':<18} {'filter':<18} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}"
                f" {'server CPU ms/req':>18}"
            )
            for path, params in SCENARIOS:
                cpu = functools.partial(server_cpu_seconds, server_pid)
                if use_wrk:
                    p50, p99, rate, used = measure_wrk(
                        base, key, path, params, args.clients, args.seconds, cpu
                    )
                else:
                    p50, p99, rate, used = measure(
                        pool, base, key, path, params, args.clients, args.requests, cpu
                    )
                label = ",".join(f"{k}={v}" for k, v in params.items() if k != "interval") or "-"
                print(
                    f"{path:<18} {label:<18} {p50 * 1000:>8.1f} {p99 * 1000:>8.1f} {rate:>8.0f}"
                    f" {used * 1000:>18.2f}"
                )


def reader_key(url: str) -> str:
    """A fresh read key of the loaded database's workspace."""
    factory = build_sessionmaker(build_engine(Settings(database_url=url)))
    with transaction(factory) as session:
        workspace_id = session.scalars(select(Workspace.id).where(Workspace.name == "Bench")).one()
        return mint_key(
            session, workspace_id=workspace_id, name="bench", scopes=["read"], now=datetime.now(UTC)
        )


if __name__ == "__main__":
    main()
