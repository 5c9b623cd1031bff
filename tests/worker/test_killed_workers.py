"""Real `commattr worker` processes killed (SIGKILL) or stopped (SIGTERM) in the middle of a job:
the next worker finishes the job, and the end state equals an undisturbed run's, row for row."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import system_clock
from app.config import Settings
from app.main import create_app
from app.models import Account, AttributionRun, CrmConnection, SyncRun
from app.sync.service import STREAM_ORDER
from app.worker import Worker, drain_once
from tests.conftest import DEFAULT_NOW, Api, SettableClock, new_workspace
from tests.fakes.hubspot import FakeHubSpot
from tests.golden import loader
from tests.worker.support import (
    COMMATTR,
    expire_lease,
    job,
    run_results,
    synced_rows,
    wait_for,
    worker_process,
)
from tests.worker.test_jobs import half_oauth_connection, queue_run, run_checked_by_an_older_version

PERIOD = {"from": "2024-10-01", "to": "2025-09-30"}
WRITING = "app.runs.repository:write_rollups"  # snapshot and credits written, not committed
COMPUTING = "app.runs.service:_compute"
MARKOV = {"order": 1, "channel": "category"}
SHAPLEY = {"channel": "category", "characteristic": "conversions"}


def status_of(factory: sessionmaker[Session], model: Any, job_id: int) -> str:
    return str(job(factory, model, job_id).status)


@pytest.mark.parametrize(
    ("model", "parameters", "pause_at"),
    [
        ("position_based", {}, WRITING),
        ("markov", MARKOV, WRITING),
        ("shapley", SHAPLEY, WRITING),
        ("w_shaped", {}, COMPUTING),
    ],
)
def test_a_run_whose_worker_is_killed_is_recomputed_by_the_next_worker(
    api: Api,
    settings: Settings,
    factory: sessionmaker[Session],
    tmp_path: Path,
    model: str,
    parameters: dict[str, Any],
    pause_at: str,
) -> None:
    loader.load(api)
    undisturbed = queue_run(api, model, parameters=parameters)
    drain_once(Worker(factory, settings, system_clock))
    assert status_of(factory, AttributionRun, undisturbed) == "succeeded"
    killed = queue_run(api, model, parameters=parameters)

    with worker_process(settings, tmp_path, pause_at=pause_at) as first:
        wait_for((tmp_path / "paused").exists, what="the worker to reach " + pause_at)
        first.kill()
    orphan = job(factory, AttributionRun, killed)
    assert (orphan.status, orphan.attempts) == ("running", 1)
    assert all(rows == [] for rows in run_results(factory, killed).values())
    assert api.get("/v1/reports/summary", params={"run": killed, **PERIOD}).status_code == 404
    chosen = api.get("/v1/reports/summary", params={"model": model, **PERIOD}).json()
    assert chosen["run_id"] == undisturbed  # reports read the finished run, never the orphan

    expire_lease(factory, AttributionRun, killed)
    with worker_process(settings, tmp_path) as second:
        wait_for(lambda: status_of(factory, AttributionRun, killed) == "succeeded")
        assert second.stop() == 0, second.log()
    assert job(factory, AttributionRun, killed).attempts == 2
    assert run_results(factory, killed) == run_results(factory, undisturbed)


def test_a_poisoned_job_leaves_the_worker_process_running_for_every_other_workspace(
    api: Api, settings: Settings, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    connection = half_oauth_connection(factory, settings, api)
    sync = api.post(f"/v1/connections/{connection}/sync-runs", json={}).json()["id"]
    bad_run = run_checked_by_an_older_version(api, factory, "time_decay", {"half_life_days": -1})
    workspace_id, key = new_workspace(settings, "Healthy Co")
    healthy = Api(client=api.client, workspace_id=workspace_id, key=key)
    healthy_run = queue_run(healthy)
    with worker_process(settings, tmp_path) as worker:
        wait_for(lambda: status_of(factory, SyncRun, sync) == "failed")
        wait_for(lambda: status_of(factory, AttributionRun, bad_run) == "failed")
        wait_for(lambda: status_of(factory, AttributionRun, healthy_run) == "succeeded")
        assert worker.alive(), worker.log()
        assert worker.stop() == 0, worker.log()
    failed = api.get(f"/v1/sync-runs/{sync}").json()
    assert (failed["attempts"], failed["error"]["type"]) == (1, "FatalError")
    assert "client_id" in failed["error"]["detail"]
    bad = api.get(f"/v1/attribution-runs/{bad_run}").json()
    assert bad["error"].startswith("InvalidInput: body.parameters.half_life_days")


T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
COMPANIES = 250  # three search pages of 100


def seed(fake: FakeHubSpot) -> None:
    """250 companies, 40 contacts at some of them, 12 deals with their companies and contacts."""
    for n in range(COMPANIES):
        fake.put(
            "companies",
            str(5000 + n),
            {"name": f"Company {n}", "domain": f"company{n}.example"},
            modified_at=T0 + timedelta(minutes=n),
        )
    for n in range(40):
        fake.put(
            "contacts",
            str(100 + n),
            {
                "firstname": f"Person {n}",
                "email": f"person{n}@company{n % 12}.example",
                "associatedcompanyid": str(5000 + n % 12),
                "createdate": "2024-11-05T08:30:00.000Z",
            },
            modified_at=T0 + timedelta(minutes=n),
        )
    for n in range(12):
        fake.put(
            "deals",
            str(900 + n),
            {
                "dealname": f"Deal {n}",
                "amount": f"{1000 * (n + 1)}.50",
                "dealstage": "closedwon" if n % 3 == 0 else "appointmentscheduled",
                "pipeline": "default",
                "createdate": "2025-01-10T12:00:00.000Z",
                "closedate": "2025-05-30T00:00:00.000Z",
            },
            modified_at=T0 + timedelta(minutes=n),
        )
        fake.associate("deals", str(900 + n), "companies", str(5000 + n))
        fake.associate("deals", str(900 + n), "contacts", str(100 + n))
        fake.associate("deals", str(900 + n), "contacts", str(120 + n))


class CrmWorld:
    """A fake HubSpot portal and two workspaces of the service connected to it."""

    def __init__(self, fake: FakeHubSpot, settings: Settings) -> None:
        self.fake = fake
        self.settings = Settings(
            database_url=settings.database_url,
            crm_test_hosts=(urlsplit(fake.base_url).netloc,),
        )
        self.client = TestClient(create_app(self.settings, clock=SettableClock(DEFAULT_NOW)))

    def connected_workspace(self, name: str) -> tuple[Api, int]:
        workspace_id, key = new_workspace(self.settings, name)
        api = Api(client=self.client, workspace_id=workspace_id, key=key)
        response = api.post(
            "/v1/connections",
            json={
                "name": "HubSpot portal",
                "credentials": {
                    "kind": "hubspot",
                    "base_url": self.fake.base_url,
                    "access_token": self.fake.private_token,
                },
            },
        )
        assert response.status_code == 201, response.text
        return api, int(response.json()["id"])

    def queue_sync(self, api: Api, connection: int) -> int:
        response = api.post(f"/v1/connections/{connection}/sync-runs", json={})
        assert response.status_code == 202, response.text
        return int(response.json()["id"])


@pytest.fixture
def world(settings: Settings) -> Iterator[CrmWorld]:
    with FakeHubSpot() as fake:
        seed(fake)
        made = CrmWorld(fake, settings)
        with made.client:
            yield made


def accounts_of(factory: sessionmaker[Session], workspace_id: int) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Account)
                .where(Account.workspace_id == workspace_id)
            )
            or 0
        )


def undisturbed_sync(world: CrmWorld, factory: sessionmaker[Session]) -> Api:
    api, connection = world.connected_workspace("Undisturbed Co")
    run_id = world.queue_sync(api, connection)
    drain_once(Worker(factory, world.settings, system_clock))
    assert status_of(factory, SyncRun, run_id) == "succeeded"
    return api


def test_a_sync_whose_worker_is_killed_mid_page_is_resumed_by_the_next_worker(
    world: CrmWorld, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    reference = undisturbed_sync(world, factory)
    api, connection = world.connected_workspace("Killed Co")
    run_id = world.queue_sync(api, connection)
    second_page = world.fake.hold("/crm/v3/objects/companies/search", after=1)

    with worker_process(world.settings, tmp_path) as first:
        assert second_page.reached.wait(120), first.log()
        stored = accounts_of(factory, api.workspace_id)
        running = api.get(f"/v1/sync-runs/{run_id}").json()
        first.kill()
    second_page.release()
    assert 0 < stored < COMPANIES  # the first page was committed before the kill
    assert running["status"] == "running"
    assert running["progress"] == {"phase": "account", "done": 0, "total": len(STREAM_ORDER)}
    assert accounts_of(factory, api.workspace_id) == stored

    expire_lease(factory, SyncRun, run_id)
    with worker_process(world.settings, tmp_path) as second:
        wait_for(lambda: status_of(factory, SyncRun, run_id) != "running")
        assert second.stop() == 0, second.log()
    resumed = api.get(f"/v1/sync-runs/{run_id}").json()
    assert (resumed["status"], resumed["attempts"]) == ("succeeded", 2)
    assert resumed["counts"]["account"]["created"] == COMPANIES
    assert synced_rows(factory, api.workspace_id) == synced_rows(factory, reference.workspace_id)
    assert job(factory, CrmConnection, connection).locked_by_run_id is None


def test_sigterm_hands_the_sync_back_and_exits_0(
    world: CrmWorld, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    reference = undisturbed_sync(world, factory)
    api, connection = world.connected_workspace("Stopped Co")
    run_id = world.queue_sync(api, connection)
    second_page = world.fake.hold("/crm/v3/objects/companies/search", after=1)

    with worker_process(world.settings, tmp_path) as worker:
        assert second_page.reached.wait(120), worker.log()
        worker.process.send_signal(15)  # SIGTERM while the worker waits for the CRM
        second_page.release()
        assert worker.process.wait(60) == 0, worker.log()
    handed_back = api.get(f"/v1/sync-runs/{run_id}").json()
    assert (handed_back["status"], handed_back["attempts"]) == ("queued", 0)
    assert job(factory, CrmConnection, connection).locked_by_run_id is None
    assert 0 < accounts_of(factory, api.workspace_id) < COMPANIES

    drain_once(Worker(factory, world.settings, system_clock))
    finished = api.get(f"/v1/sync-runs/{run_id}").json()
    assert (finished["status"], finished["attempts"]) == ("succeeded", 1)
    assert finished["counts"]["account"]["created"] == COMPANIES
    assert synced_rows(factory, api.workspace_id) == synced_rows(factory, reference.workspace_id)


def test_sigterm_on_an_idle_worker_exits_0(settings: Settings, tmp_path: Path) -> None:
    with worker_process(settings, tmp_path) as worker:
        wait_for(lambda: "worker started" in worker.log(), what="the worker to start")
        assert worker.stop() == 0, worker.log()


def test_sigterm_stops_the_server_with_status_0(settings: Settings, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "COMMATTR_DATABASE_URL": settings.database_url,
        "COMMATTR_DATA_DIR": str(tmp_path),
        "COMMATTR_PORT": str(port),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [str(COMMATTR), "serve"], env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/healthz"), what="the server")
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0, log.read_text()
    finally:
        if server.poll() is None:
            server.kill()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
