"""GET /metrics describes the workers' jobs as the database holds them (workers are other processes)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.models import SyncRun
from app.worker import Worker, drain_once
from tests.conftest import DEFAULT_NOW, Api, SettableClock
from tests.worker.test_jobs import half_oauth_connection, queue_run


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def finished_sync(factory: sessionmaker[Session], api: Api, connection: int) -> None:
    """A sync run as a worker leaves it: 40 s long, with its counts per object."""
    counts: dict[str, Any] = {
        "account": {"read": 7, "created": 5, "updated": 1, "deleted": 0, "unchanged": 1},
        "contact": {"read": 3, "created": 3},
    }
    with factory.begin() as session:
        session.add(
            SyncRun(
                workspace_id=api.workspace_id,
                connection_id=connection,
                objects=["account", "contact"],
                status="succeeded",
                counts=counts,
                cursors={},
                created_at=DEFAULT_NOW - timedelta(minutes=2),
                started_at=DEFAULT_NOW - timedelta(minutes=1),
                finished_at=DEFAULT_NOW - timedelta(seconds=20),
            )
        )


def test_metrics_show_jobs_queue_sync_records_and_last_successful_syncs(
    api: Api,
    settings: Settings,
    clock: SettableClock,
    factory: sessionmaker[Session],
) -> None:
    connection = half_oauth_connection(factory, settings, api)
    finished_sync(factory, api, connection)
    before = scrape(api)
    queue_run(api)
    drain_once(Worker(factory, settings, clock))  # the run succeeds
    waiting = queue_run(api)
    clock.now += timedelta(minutes=3)

    after = scrape(api)
    sync_kind = (("kind", "sync_run"),)
    run_kind = (("kind", "attribution_run"),)
    ok = (("kind", "attribution_run"), ("status", "succeeded"))
    assert after["commattr_jobs", ok] == before.get(("commattr_jobs", ok), 0) + 1
    assert after["commattr_queue_depth", run_kind] >= 1
    assert after["commattr_queue_oldest_age_seconds", run_kind] >= 180
    assert ("commattr_queue_depth", sync_kind) in after
    assert ("commattr_queue_depth", (("kind", "import_job"),)) in after
    assert (
        after[
            "commattr_sync_last_success_timestamp_seconds",
            (("connection_id", str(connection)), ("workspace_id", str(api.workspace_id))),
        ]
        == (DEFAULT_NOW - timedelta(seconds=20)).timestamp()
    )
    created = ("commattr_sync_records", (("action", "created"), ("object", "account")))
    assert after[created] >= 5
    synced = (("kind", "sync_run"), ("outcome", "succeeded"))
    assert after["commattr_job_duration_seconds_gcount", synced] >= 1
    bucket = "commattr_job_duration_seconds_bucket"
    within = {le: after[bucket, tuple(sorted((*synced, ("le", le))))] for le in ("15.0", "60.0")}
    assert within["60.0"] - within["15.0"] >= 1  # the 40-second sync
    assert api.post(f"/v1/attribution-runs/{waiting}/cancel").status_code == 200
