"""Imports are jobs of `commattr worker` like sync runs and attribution runs: claimed under a lease,
taken over from a killed worker and read again from the first byte, handed back on SIGTERM,
cancelled through the API, fenced against a stalled worker. The end state of a disturbed import
equals an undisturbed one's, row for row, nothing counted twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.clock import system_clock
from app.config import Settings
from app.imports import jobs, service
from app.models import ActivityType, ImportChunk, ImportJob, Member, MemberIdentity, Touchpoint
from app.queue import JobControl, JobStopped
from app.worker import Worker, drain_once
from tests.conftest import Api, SettableClock, new_workspace
from tests.imports.helpers import upload
from tests.worker.support import expire_lease, job, wait_for, worker_process
from tests.worker.test_jobs import LEASE, claimed_by

ROWS = 60
BATCH = 7  # rows a batch: the file is read in 9 batches, each committed with its progress
FILE = (
    "external_id,occurred_at,activity_type,member_email\n"
    + "".join(
        f"t-{i},2025-03-01T12:{i % 60:02d}:00Z,{'forum_answer' if i % 2 else 'webinar_attended'},"
        f"p{i % 17}@example.com\n"
        for i in range(ROWS)
    )
    + "t-3,2025-03-01T12:03:00Z,forum_answer,p3@example.com\n"
)  # a duplicate, counted once
COUNTS = ("rows_read", "stored", "duplicates", "rejected", "suppressed", "members_created")
STORING = "app.imports.repository:store_touches"  # file read, members made, nothing committed


def workspace_with_catalog(api: Api, settings: Settings, name: str) -> Api:
    workspace_id, key = new_workspace(settings, name)
    made = Api(client=api.client, workspace_id=workspace_id, key=key)
    for activity, category in (("webinar_attended", "engagement"), ("forum_answer", "support")):
        response = made.put(
            f"/v1/activity-types/{activity}", json={"name": activity, "category": category}
        )
        assert response.status_code == 200, response.text
    return made


def queue_import(api: Api) -> int:
    response = upload(api, FILE, wait="false")
    assert response.status_code == 202, response.text
    return int(response.json()["id"])


def imported_rows(factory: sessionmaker[Session], workspace_id: int) -> dict[str, list[Any]]:
    """The workspace's members, their identities and touchpoints, references as external ids
    and keys, without the database's ids and the time of the import."""
    with factory() as session:
        members = dict(
            session.execute(
                select(Member.id, Member.external_id).where(Member.workspace_id == workspace_id)
            ).all()
        )
        activities = dict(
            session.execute(
                select(ActivityType.id, ActivityType.key).where(
                    ActivityType.workspace_id == workspace_id
                )
            ).all()
        )
        references = {"member_id": members, "activity_type_id": activities}
        rows: dict[str, list[Any]] = {}
        for model in (Member, MemberIdentity, Touchpoint):
            table = model.__table__
            columns = [
                c
                for c in table.columns
                if c.name not in ("id", "workspace_id") and not c.name.endswith("_at")
            ]
            found = session.execute(
                select(*columns).where(table.c.workspace_id == workspace_id)
            ).mappings()
            rows[table.name] = sorted(
                (
                    {
                        name: references[name].get(value) if name in references else value
                        for name, value in row.items()
                    }
                    for row in found
                ),
                key=repr,
            )
    return rows


def chunks_of(factory: sessionmaker[Session], import_id: int) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(ImportChunk)
                .where(ImportChunk.import_id == import_id)
            )
            or 0
        )


@pytest.fixture
def batched(settings: Settings) -> Settings:
    settings.import_batch_rows = BATCH
    return settings


def undisturbed_import(
    api: Api, settings: Settings, factory: sessionmaker[Session]
) -> tuple[Api, dict[str, Any]]:
    reference = workspace_with_catalog(api, settings, "Undisturbed Co")
    import_id = queue_import(reference)
    drain_once(Worker(factory, settings, system_clock))
    done = reference.get(f"/v1/imports/{import_id}").json()
    assert (done["status"], done["stored"], done["duplicates"]) == ("succeeded", ROWS, 1)
    return reference, done


def test_an_import_whose_worker_is_killed_is_read_again_by_the_next_worker(
    api: Api, batched: Settings, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    reference, undisturbed = undisturbed_import(api, batched, factory)
    killed = workspace_with_catalog(api, batched, "Killed Co")
    import_id = queue_import(killed)
    environment = {"COMMATTR_IMPORT_BATCH_ROWS": str(BATCH)}

    with worker_process(batched, tmp_path, pause_at=STORING, environment=environment) as first:
        wait_for((tmp_path / "paused").exists, what="the worker to reach " + STORING)
        running = killed.get(f"/v1/imports/{import_id}").json()
        first.kill()
    assert (running["status"], running["attempts"], running["rows_read"]) == (
        "running",
        1,
        ROWS + 1,
    )
    assert running["progress"] == {"phase": "reading", "done": ROWS + 1, "total": None}
    nothing = imported_rows(factory, killed.workspace_id)
    assert nothing == {"member": [], "member_identity": [], "touchpoint": []}

    expire_lease(factory, ImportJob, import_id)
    with worker_process(batched, tmp_path, environment=environment) as second:
        wait_for(lambda: job(factory, ImportJob, import_id).status != "running")
        assert second.stop() == 0, second.log()
    finished = killed.get(f"/v1/imports/{import_id}").json()
    assert (finished["status"], finished["attempts"], finished["progress"]) == (
        "succeeded",
        2,
        None,
    )
    assert {k: finished[k] for k in COUNTS} == {k: undisturbed[k] for k in COUNTS}
    assert imported_rows(factory, killed.workspace_id) == imported_rows(
        factory, reference.workspace_id
    )
    assert chunks_of(factory, import_id) == 0


def test_a_stopping_worker_hands_the_import_back_at_its_next_batch(
    api: Api,
    batched: Settings,
    factory: sessionmaker[Session],
    clock: SettableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference, _ = undisturbed_import(api, batched, factory)
    stopped = workspace_with_catalog(api, batched, "Stopped Co")
    import_id = queue_import(stopped)
    worker = Worker(factory, batched, clock)
    real_stage = service._stage_touches

    def stage_then_sigterm(*args: Any) -> Any:
        staged = real_stage(*args)
        worker.stopping.set()  # what SIGTERM does to the worker
        return staged

    monkeypatch.setattr(service, "_stage_touches", stage_then_sigterm)
    assert [c.job_id for c in drain_once(worker)] == [import_id]
    handed_back = stopped.get(f"/v1/imports/{import_id}").json()
    assert (handed_back["status"], handed_back["attempts"]) == ("queued", 0)
    assert imported_rows(factory, stopped.workspace_id)["touchpoint"] == []

    monkeypatch.setattr(service, "_stage_touches", real_stage)
    drain_once(Worker(factory, batched, clock))
    finished = stopped.get(f"/v1/imports/{import_id}").json()
    assert (finished["status"], finished["attempts"], finished["rows_read"]) == (
        "succeeded",
        1,
        ROWS + 1,
    )
    assert imported_rows(factory, stopped.workspace_id) == imported_rows(
        factory, reference.workspace_id
    )


def test_a_stalled_worker_whose_import_was_taken_over_stores_nothing(
    api: Api, batched: Settings, factory: sessionmaker[Session], clock: SettableClock
) -> None:
    stalled_at = workspace_with_catalog(api, batched, "Stalled Co")
    import_id = queue_import(stalled_at)
    stalled = claimed_by(factory, ImportJob, import_id, "stalled")
    claimed_by(factory, ImportJob, import_id, "successor")
    control = JobControl(factory, stalled, clock=clock, lease=LEASE)
    with pytest.raises(JobStopped) as stopping:
        jobs.execute_claimed(factory, control=control, settings=batched)
    assert stopping.value.reason == "lost"
    taken = job(factory, ImportJob, import_id)
    assert (taken.leased_by, taken.status, taken.rows_read) == ("successor", "running", 0)
    assert imported_rows(factory, stalled_at.workspace_id)["touchpoint"] == []


def test_a_running_import_cancelled_stops_at_its_next_batch_and_stores_nothing(
    api: Api,
    batched: Settings,
    factory: sessionmaker[Session],
    clock: SettableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cancelled_at = workspace_with_catalog(api, batched, "Cancelled Co")
    import_id = queue_import(cancelled_at)
    real_stage = service._stage_touches
    answers: list[Any] = []

    def stage_then_cancel(*args: Any) -> Any:
        staged = real_stage(*args)
        if not answers:
            answers.append(cancelled_at.post(f"/v1/imports/{import_id}/cancel"))
        return staged

    monkeypatch.setattr(service, "_stage_touches", stage_then_cancel)
    drain_once(Worker(factory, batched, clock))
    assert answers[0].status_code == 200, answers[0].text
    assert (answers[0].json()["status"], answers[0].json()["progress"]) == ("cancelled", None)
    ended = cancelled_at.get(f"/v1/imports/{import_id}").json()
    assert (ended["status"], ended["rows_read"], ended["stored"]) == ("cancelled", 0, 0)
    assert imported_rows(factory, cancelled_at.workspace_id)["touchpoint"] == []
    assert chunks_of(factory, import_id) == 0


def test_a_queued_import_cancelled_never_runs_and_a_finished_one_is_a_conflict(
    api: Api, batched: Settings, factory: sessionmaker[Session], clock: SettableClock
) -> None:
    queued_at = workspace_with_catalog(api, batched, "Queued Co")
    import_id = queue_import(queued_at)
    assert queued_at.post(f"/v1/imports/{import_id}/cancel").status_code == 200
    assert chunks_of(factory, import_id) == 0
    assert drain_once(Worker(factory, batched, clock)) == []
    assert queued_at.get(f"/v1/imports/{import_id}").json()["status"] == "cancelled"
    again = queued_at.post(f"/v1/imports/{import_id}/cancel")
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"import {import_id} already cancelled: only queued or running imports cancel"
    )
    other_id, other_key = new_workspace(batched, "Other Co")
    other = Api(client=api.client, workspace_id=other_id, key=other_key)
    assert other.post(f"/v1/imports/{import_id}/cancel").status_code == 404


def test_an_import_failing_for_a_passing_reason_is_tried_again_then_failed(
    api: Api,
    batched: Settings,
    factory: sessionmaker[Session],
    clock: SettableClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failing = workspace_with_catalog(api, batched, "Failing Co")
    import_id = queue_import(failing)

    def lose_the_database(*_args: Any) -> None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(service, "_stage_touches", lose_the_database)
    worker = Worker(factory, batched, clock)
    drain_once(worker)
    first = failing.get(f"/v1/imports/{import_id}").json()
    assert (first["status"], first["attempts"]) == ("queued", 1)
    assert first["error"] == "ConnectionError: the database went away"
    assert chunks_of(factory, import_id) > 0  # kept for the next attempt
    for _ in range(2):
        clock.now += LEASE
        drain_once(worker)
    failed = failing.get(f"/v1/imports/{import_id}").json()
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert chunks_of(factory, import_id) == 0
