"""Idempotency-Key on imports: the digest of the streamed body decides what is the same request."""

from __future__ import annotations

from tests.conftest import Api
from tests.imports.helpers import stored_touches, upload

GOOD = (
    "external_id,occurred_at,activity_type,member_email\n"
    "t-1,2025-03-01T12:00:00Z,forum_answer,ada@example.com\n"
)


def test_a_repeated_import_replays_its_result_and_stores_nothing_more(catalog: Api) -> None:
    first = upload(catalog, GOOD, headers={"Idempotency-Key": "import-1"})
    again = upload(catalog, GOOD, headers={"Idempotency-Key": "import-1"})
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(catalog.get("/v1/imports/" + str(first.json()["id"])).json()["rejections"]) == 0
    assert stored_touches(catalog) == [("zoom", "t-1", "2025-03-01T12:00:00+00:00")]


def test_a_queued_import_replays_its_202_and_location(catalog: Api) -> None:
    first = upload(catalog, GOOD, wait="false", headers={"Idempotency-Key": "import-1"})
    again = upload(catalog, GOOD, wait="false", headers={"Idempotency-Key": "import-1"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers["Location"] == first.headers["Location"]
    assert again.json()["id"] == first.json()["id"]


def test_the_same_key_with_another_file_or_query_is_refused(catalog: Api) -> None:
    upload(catalog, GOOD, headers={"Idempotency-Key": "import-1"})
    other_file = upload(
        catalog, GOOD.replace("t-1", "t-2"), headers={"Idempotency-Key": "import-1"}
    )
    other_query = upload(catalog, GOOD, partial="true", headers={"Idempotency-Key": "import-1"})
    for response in (other_file, other_query):
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert stored_touches(catalog) == [("zoom", "t-1", "2025-03-01T12:00:00+00:00")]


def test_a_rejected_import_can_be_retried_with_its_key(catalog: Api) -> None:
    bad = upload(catalog, GOOD.replace("forum_answer", "podcast"), headers={"Idempotency-Key": "k"})
    assert bad.status_code == 422
    good = upload(
        catalog, GOOD.replace("forum_answer", "podcast"), headers={"Idempotency-Key": "k"}
    )
    assert good.status_code == 422  # the same request again: worked again, not replayed
    assert "Idempotent-Replayed" not in good.headers
    assert stored_touches(catalog) == []
