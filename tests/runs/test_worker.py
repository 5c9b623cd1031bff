"""Queued runs wait for `commattr worker`, which executes them one by one."""

from __future__ import annotations

from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.worker import drain
from tests.conftest import DEFAULT_NOW, Api


def test_a_queued_run_is_executed_by_the_worker(api: Api, settings: Settings) -> None:
    queued = api.post("/v1/attribution-runs", params={"wait": "false"}, json={"model": "linear"})
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"
    engine = build_engine(settings)
    done = drain(build_sessionmaker(engine), settings=settings, clock=lambda: DEFAULT_NOW)
    engine.dispose()
    assert queued.json()["id"] in done
    run = api.get(f"/v1/attribution-runs/{queued.json()['id']}").json()
    assert run["status"] == "succeeded"
    assert run["parameters"]["lookback_days"] == 365


def test_an_unknown_model_is_a_422_naming_the_field(api: Api) -> None:
    response = api.post("/v1/attribution-runs", json={"model": "magic"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "model"]
