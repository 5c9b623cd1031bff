"""Frozen runs keep their figures; default runs refresh after syncs; diff explains what moved."""

from __future__ import annotations

from datetime import timedelta

from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.worker import drain
from tests.conftest import Api, SettableClock
from tests.golden import loader

PERIOD = {"from": "2024-10-31", "to": "2025-09-12"}


def _summary(api: Api, **params: object) -> dict:  # type: ignore[type-arg]
    response = api.get("/v1/reports/summary", params={**PERIOD, **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_frozen_run_is_the_figure_of_record_and_an_import_after_it_changes_nothing(
    api: Api, clock: SettableClock
) -> None:
    loader.load(api)
    frozen = loader.run(api, "linear")
    response = api.post(
        f"/v1/attribution-runs/{frozen['id']}/freeze",
        json={"from": "2024-10-01", "to": "2025-09-30", "note": "FY board deck"},
    )
    assert response.status_code == 200, response.text
    before = _summary(api, model="linear")
    clock.now += timedelta(days=1)
    # the CRM changes after the freeze: O02 grows from 15,000.00 to 25,000.00
    o02 = next(o for o in loader.dataset()["opportunities"] if o["external_id"] == "006-O02")
    changed = {**{k: v for k, v in o02.items() if k != "notes"}, "amount": "25000.00"}
    assert (
        api.post(
            "/v1/crm/import", json={"source": "salesforce", "opportunities": [changed]}
        ).status_code
        == 200
    )
    later = loader.run(api, "linear")
    assert _summary(api, model="linear") == before
    assert _summary(api, run=later["id"])["pipeline"]["total"]["amount_minor"] == (
        before["pipeline"]["total"]["amount_minor"] + 1_000_000
    )
    diff = api.get(f"/v1/attribution-runs/{frozen['id']}/diff/{later['id']}").json()
    assert diff["parameters_changed"] == {}
    assert [(o["external_id"], o["reasons"]) for o in diff["opportunities"]] == [
        ("006-O02", ["crm_change:amount"])
    ]
    o02_diff = diff["opportunities"][0]
    assert (o02_diff["pipeline_attributed_before"], o02_diff["pipeline_attributed_after"]) == (
        1_125_000,  # 3 of 4 pipeline touches are community: 15,000.00 x 3/4
        1_875_000,
    )


def test_a_second_freeze_over_the_same_period_is_a_conflict(api: Api) -> None:
    loader.load(api)
    first, second = loader.run(api, "linear"), loader.run(api, "linear")
    body = {"from": "2025-01-01", "to": "2025-03-31"}
    assert api.post(f"/v1/attribution-runs/{first['id']}/freeze", json=body).status_code == 200
    response = api.post(f"/v1/attribution-runs/{second['id']}/freeze", json=body)
    assert response.status_code == 409


def test_diff_names_new_touches_and_parameter_changes(api: Api, clock: SettableClock) -> None:
    loader.load(api)
    before = loader.run(api, "linear")
    clock.now += timedelta(days=1)
    touch = {
        "source": "discourse",
        "external_id": "dsc-new",
        "activity_type": "forum_answer",
        "occurred_at": "2025-08-01T12:00:00Z",
        "member_email": "bob.smith@globex.com",
    }
    assert api.post("/v1/touchpoints:batch", json={"touchpoints": [touch]}).status_code == 200
    after = loader.run(api, "linear", {})
    diff = api.get(f"/v1/attribution-runs/{before['id']}/diff/{after['id']}").json()
    # Bob's new answer falls in O02's pipeline window (created 2025-08-12)
    assert [(o["external_id"], o["reasons"]) for o in diff["opportunities"]] == [
        ("006-O02", ["new_touches"])
    ]
    decayed = api.post("/v1/attribution-runs", json={"model": "linear", "lookback_days": 90}).json()
    changed = api.get(f"/v1/attribution-runs/{after['id']}/diff/{decayed['id']}").json()
    assert changed["parameters_changed"] == {"lookback_days": [365, 90]}
    assert all(o["reasons"][0] == "parameters" for o in changed["opportunities"])


def test_default_runs_are_queued_by_the_worker_and_read_by_model(
    api: Api, settings: Settings, clock: SettableClock
) -> None:
    loader.load(api)
    put = api.client.put(
        "/v1/workspace/default-runs",
        headers=api.headers,
        json={
            "runs": [
                {"model": "linear"},
                {"model": "time_decay", "parameters": {"half_life_days": 7}},
            ]
        },
    )
    assert put.status_code == 200, put.text
    ad_hoc = loader.run(api, "linear", {})
    engine = build_engine(settings)
    from app.db import transaction
    from app.models import Workspace
    from app.runs.defaults import queue_defaults

    factory = build_sessionmaker(engine)
    with transaction(factory) as session:
        queued = queue_defaults(
            session, workspace=session.get_one(Workspace, api.workspace_id), now=clock()
        )
        queued_ids = [run.id for run in queued]
    done = drain(factory, settings=settings, clock=clock)
    engine.dispose()
    assert sorted(done) == sorted(queued_ids)
    assert _summary(api, model="linear")["run_id"] != ad_hoc["id"]
    assert _summary(api, model="linear")["run_id"] in queued_ids
