"""Large imports run as jobs of `commattr worker`, with progress and a result document."""

from __future__ import annotations

from sqlalchemy import func, select, update

from app.models import ImportChunk, ImportJob
from app.worker import import_next
from tests.conftest import DEFAULT_NOW, Api, SettableClock
from tests.imports.helpers import factory, member_count, reading, stored_touches, upload

ROWS = "".join(
    f"t-{i},2025-03-01T12:{i:02d}:00Z,forum_answer,p{i % 3}@example.com\n" for i in range(12)
)
GOOD = "external_id,occurred_at,activity_type,member_email\n" + ROWS


def _work(api: Api) -> list[int]:
    """Run every queued import of the test database (other tests' too); answer their ids."""
    settings = api.client.app.state.settings  # type: ignore[attr-defined]
    done: list[int] = []
    with factory(api) as make:
        while (
            ran := import_next(make, settings=settings, clock=SettableClock(DEFAULT_NOW))
        ) is not None:
            done.append(ran)
    return done


def test_a_queued_import_answers_202_and_the_worker_completes_it(catalog: Api) -> None:
    catalog.client.app.state.settings.import_batch_rows = 5  # type: ignore[attr-defined]
    response = upload(catalog, GOOD, wait="false")
    assert response.status_code == 202
    job = response.json()
    assert response.headers["Location"] == f"/v1/imports/{job['id']}"
    assert (job["status"], job["rows_read"], job["stored"]) == ("queued", 0, 0)
    assert stored_touches(catalog) == []
    assert job["id"] in _work(catalog)
    done = catalog.get(f"/v1/imports/{job['id']}").json()
    assert {k: done[k] for k in ("status", "rows_read", "stored", "members_created")} == {
        "status": "succeeded",
        "rows_read": 12,
        "stored": 12,
        "members_created": 3,
    }
    assert done["started_at"] is not None and done["finished_at"] is not None
    assert len(stored_touches(catalog)) == 12
    assert _work(catalog) == []


def test_a_file_over_the_inline_size_is_queued_even_when_waiting(catalog: Api) -> None:
    catalog.client.app.state.settings.import_inline_bytes = 100  # type: ignore[attr-defined]
    assert upload(catalog, GOOD).status_code == 202


def test_a_queued_all_or_nothing_import_with_a_bad_row_fails_and_stores_nothing(
    catalog: Api,
) -> None:
    catalog.client.app.state.settings.import_batch_rows = 5  # type: ignore[attr-defined]
    body = GOOD + "t-99,soon,forum_answer,zed@example.com\n"
    job = upload(catalog, body, wait="false").json()
    _work(catalog)
    failed = catalog.get(f"/v1/imports/{job['id']}").json()
    assert (failed["status"], failed["rows_read"], failed["stored"], failed["rejected"]) == (
        "failed",
        13,
        0,
        1,
    )
    assert failed["error"] == "1 rows rejected; nothing was stored"
    assert failed["rejections"] == [
        {
            "line": 14,
            "field": "occurred_at",
            "message": "'soon' is not a timestamp: use ISO 8601 (2025-03-01T12:00:00Z) or Unix seconds",
        }
    ]
    assert stored_touches(catalog) == [] and member_count(catalog) == 0


def test_a_queued_partial_import_stores_the_valid_rows(catalog: Api) -> None:
    body = GOOD + "t-99,soon,forum_answer,zed@example.com\n"
    job = upload(catalog, body, wait="false", partial="true").json()
    _work(catalog)
    done = catalog.get(f"/v1/imports/{job['id']}").json()
    assert (done["status"], done["stored"], done["rejected"]) == ("succeeded", 12, 1)


def test_an_unreadable_queued_file_fails_naming_the_line(catalog: Api) -> None:
    body = GOOD.encode() + b"t-x,2025-03-01T12:00:00Z,forum_answer,\xff@example.com\n"
    job = upload(catalog, body, wait="false").json()
    _work(catalog)
    failed = catalog.get(f"/v1/imports/{job['id']}").json()
    assert failed["status"] == "failed"
    assert failed["error"] == "line 14: body: the file is not UTF-8 text"
    assert stored_touches(catalog) == []


def test_another_workspace_cannot_read_an_import(catalog: Api, api: Api) -> None:
    job = upload(catalog, GOOD).json()
    assert catalog.get(f"/v1/imports/{job['id']}").status_code == 200
    from tests.conftest import new_workspace

    _, other_key = new_workspace(catalog.client.app.state.settings)  # type: ignore[attr-defined]
    other = Api(client=catalog.client, workspace_id=0, key=other_key)
    assert other.get(f"/v1/imports/{job['id']}").status_code == 404


def test_a_file_of_several_mebibytes_is_accepted_and_queued(catalog: Api) -> None:
    """Imports have their own size limit (COMMATTR_IMPORT_MAX_BYTES), far above other bodies'."""
    row = "t-{n},2025-03-01T12:00:00Z,forum_answer,p{n}@example.com\n"
    body = "external_id,occurred_at,activity_type,member_email\n" + "".join(
        row.format(n=n) for n in range(60_000)
    )
    assert len(body) > 3 * 1024 * 1024
    response = upload(catalog, body, wait="false")
    assert response.status_code == 202, response.text
    assert response.json()["size_bytes"] == len(body)
    with reading(catalog) as session:  # not for the other tests' workers to run
        session.execute(
            update(ImportJob).where(ImportJob.id == response.json()["id"]).values(status="failed")
        )


def test_a_finished_job_keeps_no_copy_of_its_file(catalog: Api) -> None:
    done = upload(catalog, GOOD, wait="false").json()["id"]
    failed = upload(catalog, GOOD + "t-99,soon,forum_answer,zed@example.com\n", wait="false")
    _work(catalog)
    with reading(catalog) as session:
        kept = session.scalar(
            select(func.count())
            .select_from(ImportChunk)
            .where(ImportChunk.import_id.in_([done, failed.json()["id"]]))
        )
    assert kept == 0
