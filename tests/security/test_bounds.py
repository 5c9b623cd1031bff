"""Issue 10, findings 2, 3, 4 and 6 (lengths): what a caller controls is bounded at the edge.

Every value outside its range answers 422 naming the field, never a 500, a hang or an echo of a
huge input; records already stored far outside the calendar never break a run.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import update

from app.cli import render_openapi
from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.models import Opportunity, Touchpoint
from app.reports import service as report_service
from tests.conftest import Api
from tests.golden import loader

TOO_BIG_ID = 2**63
PERIOD = {"from": "2024-10-01", "to": "2025-09-30"}


def _raw(api: Api, method: str, path: str, body: str | bytes) -> Any:
    headers = {**api.headers, "Content-Type": "application/json"}
    return api.client.request(method, path, content=body, headers=headers)


def _locs(response: Any) -> list[list[Any]]:
    return [error["loc"] for error in response.json()["detail"]]


# Finding 2: engine work bounded in advance.


def test_a_markov_order_of_10_to_the_30_answers_422_at_once(api: Api) -> None:
    loader.load(api)
    response = api.post(
        "/v1/attribution-runs", json={"model": "markov", "parameters": {"order": 10**30}}
    )
    assert response.status_code == 422, response.text
    assert _locs(response) == [["body", "parameters", "order"]]
    assert api.get("/v1/attribution-runs").json() == []


def test_a_queued_run_is_checked_before_it_is_queued(api: Api) -> None:
    response = api.post(
        "/v1/attribution-runs",
        params={"wait": "false"},
        json={"model": "markov", "parameters": {"order": 10**30}},
    )
    assert response.status_code == 422, response.text
    assert _locs(response) == [["body", "parameters", "order"]]
    assert api.get("/v1/attribution-runs").json() == []


def test_markov_order_is_1_to_4_by_default(api: Api) -> None:
    response = api.post(
        "/v1/attribution-runs", json={"model": "markov", "parameters": {"order": 5}}
    )
    assert response.status_code == 422
    assert "COMMATTR_MARKOV_MAX_ORDER" in response.json()["detail"][0]["msg"]
    assert (
        api.post(
            "/v1/attribution-runs", json={"model": "markov", "parameters": {"order": 4}}
        ).status_code
        == 201
    )


def test_default_runs_name_the_run_and_parameter_at_fault(api: Api) -> None:
    runs = [{"model": "linear"}, {"model": "time_decay", "parameters": {"half_life_days": 1e-300}}]
    response = api.client.put(
        "/v1/workspace/default-runs", headers=api.headers, json={"runs": runs}
    )
    assert response.status_code == 422
    assert _locs(response) == [["body", "runs", 1, "parameters", "half_life_days"]]


# Finding 3: far-dated records.


def _store(settings: Settings, statement: Any) -> None:
    engine = build_engine(settings)
    try:
        with transaction(build_sessionmaker(engine)) as session:
            session.execute(statement)
    finally:
        engine.dispose()


def test_an_opportunity_closing_on_9999_12_31_does_not_break_runs(
    api: Api, settings: Settings
) -> None:
    """A CRM sync may bring any date the CRM allows: the run goes on."""
    loader.load(api)
    _store(
        settings,
        update(Opportunity)
        .where(Opportunity.workspace_id == api.workspace_id, Opportunity.is_won.is_(True))
        .values(close_date=date(9999, 12, 31)),
    )
    for model in ("linear", "markov", "time_decay"):
        response = api.post("/v1/attribution-runs", json={"model": model})
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "succeeded"
    assert api.get("/v1/reports/summary", params=PERIOD).status_code == 200


def test_touches_stored_at_the_ends_of_the_calendar_do_not_break_runs(
    api: Api, settings: Settings
) -> None:
    loader.load(api)
    touches = Touchpoint.workspace_id == api.workspace_id
    first, last = datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    _store(
        settings,
        update(Touchpoint).where(touches, Touchpoint.id % 2 == 0).values(occurred_at=first),
    )
    _store(
        settings, update(Touchpoint).where(touches, Touchpoint.id % 2 == 1).values(occurred_at=last)
    )
    for model in ("linear", "time_decay", "w_shaped"):
        response = api.post("/v1/attribution-runs", json={"model": model})
        assert response.status_code == 201, response.text


def test_reports_over_0001_to_9999_answer_422_naming_the_dates(api: Api) -> None:
    loader.load(api)
    loader.run(api, "linear")
    response = api.get(
        "/v1/reports/timeseries",
        params={"from": "0001-01-01", "to": "9999-12-31", "interval": "week"},
    )
    assert response.status_code == 422
    assert sorted(_locs(response)) == [["query", "from"], ["query", "to"]]


def test_a_timeseries_is_bounded_before_any_work(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    loader.load(api)
    loader.run(api, "linear")

    def no_bucket_may_be_built(*args: object) -> None:
        raise AssertionError("a bucket was built before the bound was checked")

    with monkeypatch.context() as patched:
        patched.setattr(report_service, "clipped_buckets", no_bucket_may_be_built)
        patched.setattr(report_service, "bucket_of", no_bucket_may_be_built)
        response = api.get(
            "/v1/reports/timeseries",
            params={"from": "1900-01-01", "to": "2200-12-31", "interval": "week"},
        )
    assert response.status_code == 422
    assert _locs(response) == [["query", "interval"]]
    century = {"from": "1925-01-01", "to": "2024-12-31", "interval": "month"}
    assert len(api.get("/v1/reports/timeseries", params=century).json()["rows"]) == 1200


@pytest.mark.parametrize(
    "occurred_at",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z"],
)
def test_touch_times_at_the_ends_of_the_calendar_are_rejected_at_ingestion(
    api: Api, occurred_at: str
) -> None:
    touch = {
        "source": "discourse",
        "external_id": "t1",
        "activity_type": "forum_answer",
        "occurred_at": occurred_at,
        "member_email": "ada@example.com",
    }
    response = api.post("/v1/touchpoints:batch", json={"touchpoints": [touch]})
    assert response.status_code == 422
    assert _locs(response) == [["body", "touchpoints", 0, "occurred_at"]]


def test_a_crm_import_with_a_close_date_in_9999_is_rejected_naming_it(api: Api) -> None:
    opportunity = {
        "external_id": "o1",
        "is_closed": True,
        "is_won": True,
        "amount": "10.00",
        "currency": "USD",
        "created_at": "2025-01-01T00:00:00Z",
        "close_date": "9999-12-31",
    }
    response = api.post("/v1/crm/import", json={"opportunities": [opportunity]})
    assert response.status_code == 422
    assert _locs(response) == [["body", "opportunities", 0, "close_date"]]


# Finding 4: 500s from numbers and text.


def _id_routes() -> list[tuple[str, str]]:
    spec = json.loads(render_openapi())
    return [
        (method, path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any(
            p["in"] == "path" and p["schema"].get("type") == "integer"
            for p in operation.get("parameters", [])
        )
    ]


@pytest.mark.parametrize(("method", "path"), _id_routes())
def test_every_id_past_2_to_the_63_answers_422(api: Api, method: str, path: str) -> None:
    url = path
    for name in ("run_id", "run_a", "run_b", "connection_id", "job_id", "opportunity_id"):
        url = url.replace("{" + name + "}", str(TOO_BIG_ID))
    response = api.client.request(method.upper(), url, headers=api.headers, json={})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/reports/summary", {**PERIOD, "run": TOO_BIG_ID}),
        ("/v1/attribution-runs/1/credits", {"cursor": TOO_BIG_ID}),
        ("/v1/sync-runs", {"connection_id": TOO_BIG_ID}),
        ("/v1/exports/credits.csv", {"run": TOO_BIG_ID}),
    ],
)
def test_ids_and_cursors_in_queries_past_2_to_the_63_answer_422(
    api: Api, path: str, params: dict[str, Any]
) -> None:
    response = api.get(path, params=params)
    assert response.status_code == 422, response.text


def test_a_report_cursor_past_2_to_the_63_answers_422(api: Api) -> None:
    loader.load(api)
    loader.run(api, "linear")
    response = api.get("/v1/reports/opportunities", params={**PERIOD, "cursor": TOO_BIG_ID})
    assert response.status_code == 422, response.text
    assert _locs(response) == [["query", "cursor"]]


def test_a_program_cost_of_1e17_answers_422_naming_cost(api: Api) -> None:
    response = api.put(
        "/v1/programs/summit", json={"name": "Summit", "cost": 1e17, "currency": "USD"}
    )
    assert response.status_code == 422
    assert _locs(response) == [["body", "cost"]]


def test_amount_min_of_1e30_answers_422(api: Api) -> None:
    response = api.get("/v1/reports/summary", params={**PERIOD, "amount_min": "1e30"})
    assert response.status_code == 422
    assert _locs(response) == [["query", "amount_min"]]


def test_amount_min_above_amount_max_answers_422(api: Api) -> None:
    loader.load(api)
    loader.run(api, "linear")
    response = api.get("/v1/reports/summary", params={**PERIOD, "amount_min": 10, "amount_max": 5})
    assert response.status_code == 422
    assert _locs(response) == [["query", "amount_min"]]


def test_a_lone_surrogate_in_a_member_id_answers_422_naming_the_field(api: Api) -> None:
    response = _raw(api, "POST", "/v1/members:batch", '{"members": [{"external_id": "a\\ud800"}]}')
    assert response.status_code == 422, response.text
    assert _locs(response) == [["body", "members", 0, "external_id"]]


def test_a_lone_surrogate_in_properties_answers_422(api: Api) -> None:
    body = '{"members": [{"external_id": "m1", "properties": {"k\\udfff": 1}}]}'
    response = _raw(api, "POST", "/v1/members:batch", body)
    assert response.status_code == 422, response.text
    assert _locs(response) == [["body", "members", 0, "properties"]]


def test_a_nul_character_answers_422_naming_the_field(api: Api) -> None:
    body = '{"members": [{"external_id": "m1", "name": "a\\u0000b"}]}'
    response = _raw(api, "POST", "/v1/members:batch", body)
    assert response.status_code == 422, response.text
    assert _locs(response) == [["body", "members", 0, "name"]]


def test_an_infinite_half_life_answers_422(api: Api) -> None:
    response = _raw(api, "PATCH", "/v1/workspace", '{"default_half_life_days": 1e309}')
    assert response.status_code == 422, response.text
    assert _locs(response) == [["body", "default_half_life_days"]]
    assert api.get("/v1/workspace").json()["default_half_life_days"] == 7


def test_a_body_that_is_not_utf8_json_answers_the_documented_422(api: Api) -> None:
    response = _raw(api, "POST", "/v1/members:batch", b"\xff\xfe{")
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/v1/activity-types/a",
            {"name": "A", "category": "product", "is_community": 0},
            "is_community",
        ),
        ("/v1/programs/p", {"name": "P", "currency": "USD", "start_date": 0}, "start_date"),
    ],
)
def test_types_are_strict_at_the_edge(
    api: Api, path: str, body: dict[str, Any], field: str
) -> None:
    response = api.put(path, json=body)
    assert response.status_code == 422, response.text
    assert _locs(response) == [["body", field]]


def test_patch_workspace_refuses_a_boolean_for_a_number(api: Api) -> None:
    response = api.patch("/v1/workspace", json={"duplicate_window_minutes": False})
    assert response.status_code == 422
    assert _locs(response) == [["body", "duplicate_window_minutes"]]


# Finding 6 (field lengths): long text and big blobs are refused without an echo.


def test_a_huge_workspace_name_answers_a_small_422(api: Api) -> None:
    name = "N" * 1_000_000
    response = api.patch("/v1/workspace", json={"name": name})
    assert response.status_code == 422
    assert _locs(response) == [["body", "name"]]
    assert len(response.content) < 2_000


def test_a_big_properties_blob_is_refused(api: Api) -> None:
    member = {"external_id": "m1", "properties": {"blob": "x" * 100_000}}
    response = api.post("/v1/members:batch", json={"members": [member]})
    assert response.status_code == 422
    assert _locs(response) == [["body", "members", 0, "properties"]]
    assert len(response.content) < 2_000


def test_a_deep_properties_blob_is_refused(api: Api) -> None:
    deep: dict[str, Any] = {}
    for _ in range(20):
        deep = {"d": deep}
    response = api.post(
        "/v1/members:batch", json={"members": [{"external_id": "m1", "properties": deep}]}
    )
    assert response.status_code == 422
    assert _locs(response) == [["body", "members", 0, "properties"]]
