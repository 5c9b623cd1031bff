"""The worker's jobs, in the test process: poisoned jobs, leases, cancels, progress and logs."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.crypto import encrypt_json
from app.models import AttributionRun, CrmConnection, SyncRun
from app.queue import Claim, JobControl, JobStopped
from app.runs import service
from app.worker import Worker, drain_once
from tests.conftest import DEFAULT_NOW, Api, SettableClock, new_workspace
from tests.golden import loader
from tests.worker.support import job, run_results

LEASE = timedelta(seconds=120)


def other_workspace(api: Api, settings: Settings) -> Api:
    workspace_id, key = new_workspace(settings, "Other Co")
    return Api(client=api.client, workspace_id=workspace_id, key=key)


def queue_run(api: Api, model: str = "linear", **body: Any) -> int:
    response = api.post(
        "/v1/attribution-runs", params={"wait": "false"}, json={"model": model, **body}
    )
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def half_oauth_connection(factory: sessionmaker[Session], settings: Settings, api: Api) -> int:
    """A HubSpot connection with an access token and a lone client_id, stored as the API
    accepted it before connections were checked at creation."""
    credentials = {
        "kind": "hubspot",
        "access_token": "pat-na1-fake",
        "client_id": "lonely-client-id",
        "client_secret": None,
        "refresh_token": None,
        "base_url": "https://api.hubapi.com",
        "default_currency": "USD",
    }
    with factory.begin() as session:
        connection = CrmConnection(
            workspace_id=api.workspace_id,
            kind="hubspot",
            name="Half OAuth",
            credentials_encrypted=encrypt_json(settings, credentials),
            field_mapping={},
            created_at=DEFAULT_NOW,
            updated_at=DEFAULT_NOW,
        )
        session.add(connection)
        session.flush()
        return connection.id


def claimed_by(factory: sessionmaker[Session], model: Any, job_id: int, worker: str) -> Claim:
    """What a claim by ``worker`` writes; that worker then dies, stalls or carries on."""
    with factory.begin() as session:
        attempts = session.get_one(model, job_id).attempts + 1
        session.execute(
            update(model)
            .where(model.id == job_id)
            .values(
                status="running",
                leased_by=worker,
                lease_until=DEFAULT_NOW + LEASE,
                attempts=attempts,
            )
        )
        workspace_id = session.get_one(model, job_id).workspace_id
    return Claim(model, job_id, workspace_id, attempts, worker)


def run_checked_by_an_older_version(
    api: Api, factory: sessionmaker[Session], model: str, parameters: dict[str, Any]
) -> int:
    """A queued run whose parameters the API accepted before they were checked at creation:
    they fail only once the worker executes the run."""
    run_id = queue_run(api, model)
    with factory.begin() as session:
        run = session.get_one(AttributionRun, run_id)
        run.parameters = {**run.parameters, "parameters": parameters}
    return run_id


def test_a_connection_that_cannot_work_fails_its_sync_at_once_while_other_workspaces_work_on(
    api: Api,
    settings: Settings,
    clock: SettableClock,
    factory: sessionmaker[Session],
    worker: Worker,
) -> None:
    connection = half_oauth_connection(factory, settings, api)
    sync = api.post(f"/v1/connections/{connection}/sync-runs", json={}).json()["id"]
    other = other_workspace(api, settings)
    others_run = queue_run(other)

    drain_once(worker)
    assert other.get(f"/v1/attribution-runs/{others_run}").json()["status"] == "succeeded"
    failed = api.get(f"/v1/sync-runs/{sync}").json()
    assert (failed["status"], failed["attempts"]) == ("failed", 1)  # retrying cannot help
    assert failed["error"]["type"] == "FatalError"
    assert "client_id" in failed["error"]["detail"]
    assert failed["finished_at"] is not None
    clock.now += timedelta(hours=1)
    assert sync not in [
        c.job_id for c in drain_once(worker) if isinstance(c, Claim) and c.model is SyncRun
    ]


def test_a_job_failing_for_a_passing_reason_is_tried_three_times_then_failed(
    api: Api,
    settings: Settings,
    clock: SettableClock,
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id = queue_run(api)
    other = other_workspace(api, settings)
    others_run = queue_run(other)
    real_load = service._load

    def load_or_fail(session: Session, *, workspace: Any, **kwargs: Any) -> Any:
        if workspace.id == api.workspace_id:
            raise ConnectionError("the database went away")
        return real_load(session, workspace=workspace, **kwargs)

    monkeypatch.setattr(service, "_load", load_or_fail)
    drain_once(worker)  # attempt 1 fails, the other workspace's run succeeds
    assert other.get(f"/v1/attribution-runs/{others_run}").json()["status"] == "succeeded"
    first = api.get(f"/v1/attribution-runs/{run_id}").json()
    assert (first["status"], first["attempts"]) == ("queued", 1)
    assert first["error"] == "ConnectionError: the database went away"
    drain_once(worker)  # the pause before the next attempt has not passed
    assert api.get(f"/v1/attribution-runs/{run_id}").json()["attempts"] == 1

    for _ in range(2):
        clock.now += timedelta(hours=1)
        drain_once(worker)
    failed = api.get(f"/v1/attribution-runs/{run_id}").json()
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert failed["finished_at"] is not None
    clock.now += timedelta(hours=1)
    assert run_id not in [c.job_id for c in drain_once(worker) if isinstance(c, Claim)]


def test_a_run_whose_parameters_fail_at_execution_fails_at_once_with_the_field_named(
    api: Api, settings: Settings, factory: sessionmaker[Session], worker: Worker
) -> None:
    run_id = run_checked_by_an_older_version(api, factory, "time_decay", {"half_life_days": -1})
    other = other_workspace(api, settings)
    others_run = queue_run(other)
    drain_once(worker)
    failed = api.get(f"/v1/attribution-runs/{run_id}").json()
    assert (failed["status"], failed["attempts"]) == ("failed", 1)  # retrying cannot help
    assert failed["error"].startswith("InvalidInput: body.parameters.half_life_days")
    assert other.get(f"/v1/attribution-runs/{others_run}").json()["status"] == "succeeded"


def test_a_run_left_running_by_a_dead_worker_is_taken_over_once_its_lease_runs_out(
    api: Api, clock: SettableClock, factory: sessionmaker[Session], worker: Worker
) -> None:
    loader.load(api)
    undisturbed = queue_run(api, "markov")
    drain_once(worker)
    orphan = queue_run(api, "markov")
    claimed_by(factory, AttributionRun, orphan, "dead-worker")

    drain_once(worker)  # the lease still runs: nobody touches the run
    assert api.get(f"/v1/attribution-runs/{orphan}").json()["status"] == "running"
    assert api.get("/v1/reports/summary", params={"run": orphan, **PERIOD}).status_code == 404

    clock.now += LEASE + timedelta(seconds=1)
    drain_once(worker)
    taken_over = api.get(f"/v1/attribution-runs/{orphan}").json()
    assert (taken_over["status"], taken_over["attempts"]) == ("succeeded", 2)
    assert taken_over["progress"] is None
    assert run_results(factory, orphan) == run_results(factory, undisturbed)


PERIOD = {"from": "2024-10-01", "to": "2025-09-30"}


def test_a_job_whose_worker_dies_every_time_is_failed_after_the_attempts(
    api: Api, clock: SettableClock, factory: sessionmaker[Session], worker: Worker
) -> None:
    run_id = queue_run(api)
    for attempt in range(3):
        claimed_by(factory, AttributionRun, run_id, f"worker-{attempt}")
        clock.now += LEASE + timedelta(seconds=1)
    drain_once(worker)
    failed = api.get(f"/v1/attribution-runs/{run_id}").json()
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert failed["error"].startswith("WorkerLost: its worker stopped without finishing it 3 times")


def test_a_stalled_worker_whose_run_was_taken_over_writes_nothing(
    api: Api, clock: SettableClock, settings: Settings, factory: sessionmaker[Session]
) -> None:
    run_id = queue_run(api)
    stalled = claimed_by(factory, AttributionRun, run_id, "stalled")
    claimed_by(factory, AttributionRun, run_id, "successor")
    control = JobControl(factory, stalled, clock=clock, lease=LEASE)
    with pytest.raises(JobStopped) as stopped:
        service.execute_claimed(factory, control=control, settings=settings)
    assert stopped.value.reason == "lost"
    assert job(factory, AttributionRun, run_id).leased_by == "successor"
    assert all(rows == [] for rows in run_results(factory, run_id).values())
    assert api.post(f"/v1/attribution-runs/{run_id}/cancel").status_code == 200


def test_a_queued_run_cancelled_never_runs_and_a_finished_one_is_a_conflict(
    api: Api, worker: Worker
) -> None:
    run_id = queue_run(api)
    cancelled = api.post(f"/v1/attribution-runs/{run_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    drain_once(worker)
    assert api.get(f"/v1/attribution-runs/{run_id}").json()["status"] == "cancelled"
    again = api.post(f"/v1/attribution-runs/{run_id}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"attribution run {run_id} already cancelled: only queued or running attribution runs cancel"
    )
    finished = api.post("/v1/attribution-runs", json={"model": "linear"}).json()["id"]
    assert api.post(f"/v1/attribution-runs/{finished}/cancel").status_code == 409


def test_a_cancel_needs_a_write_key_and_stays_in_its_workspace(
    api: Api, settings: Settings
) -> None:
    run_id = queue_run(api)
    other = other_workspace(api, settings)
    assert other.post(f"/v1/attribution-runs/{run_id}/cancel").status_code == 404
    assert api.client.post(f"/v1/attribution-runs/{run_id}/cancel").status_code == 401
    assert api.post(f"/v1/attribution-runs/{run_id}/cancel").status_code == 200


def test_a_running_run_shows_its_progress_and_stops_at_its_next_stage_once_cancelled(
    api: Api, factory: sessionmaker[Session], worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    loader.load(api)
    run_id = queue_run(api)
    computing, cancelled = threading.Event(), threading.Event()
    real_compute = service._compute

    def compute_slowly(inputs: Any, **kwargs: Any) -> Any:
        computing.set()
        assert cancelled.wait(60)
        return real_compute(inputs, **kwargs)

    monkeypatch.setattr(service, "_compute", compute_slowly)
    working = threading.Thread(target=drain_once, args=(worker,))
    working.start()
    assert computing.wait(60)
    running = api.get(f"/v1/attribution-runs/{run_id}").json()
    assert running["status"] == "running"
    assert running["progress"] == {"phase": "computing", "done": 1, "total": 3}
    assert api.post(f"/v1/attribution-runs/{run_id}/cancel").status_code == 200
    cancelled.set()
    working.join(60)
    ended = api.get(f"/v1/attribution-runs/{run_id}").json()
    assert (ended["status"], ended["progress"]) == ("cancelled", None)
    assert all(rows == [] for rows in run_results(factory, run_id).values())


def test_the_worker_logs_each_job_with_its_fields(
    api: Api,
    settings: Settings,
    factory: sessionmaker[Session],
    worker: Worker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    connection = half_oauth_connection(factory, settings, api)
    sync = api.post(f"/v1/connections/{connection}/sync-runs", json={}).json()["id"]
    run_id = queue_run(api)
    with caplog.at_level(logging.INFO, logger="app.worker"):
        drain_once(worker)
    events = [
        (r.message, r.job_kind, r.job_id)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "app.worker" and getattr(r, "job_id", None) in (sync, run_id)
    ]
    assert ("job started", "sync_run", sync) in events
    assert ("job failed", "sync_run", sync) in events
    assert ("job started", "attribution_run", run_id) in events
    assert ("job finished", "attribution_run", run_id) in events
    failed = next(r for r in caplog.records if r.message == "job failed")
    assert (failed.workspace_id, failed.attempt, failed.error_class) == (  # type: ignore[attr-defined]
        api.workspace_id,
        1,
        "FatalError",
    )
    finished = next(r for r in caplog.records if r.message == "job finished")
    assert finished.outcome == "succeeded"  # type: ignore[attr-defined]
    assert isinstance(finished.duration_s, float)  # type: ignore[attr-defined]
    assert finished.counts["model"] == "linear"  # type: ignore[attr-defined]
