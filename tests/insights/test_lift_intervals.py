"""The lift report's intervals and p-values on the demo company, against an independent
computation from the run's snapshot rows: Newcombe's interval and the z-test written out from
their textbook formulas, and the bootstrap checked against Welch's normal-theory interval."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from math import sqrt
from statistics import NormalDist, mean, variance
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.demo import load_demo
from app.main import create_app
from app.models import RunOpportunity
from tests.conftest import DEFAULT_NOW, Api, SettableClock

FROM, TO = date(2024, 10, 1), date(2025, 9, 30)
Z = NormalDist().inv_cdf(0.975)


@pytest.fixture(scope="module")
def demo(database_url: str) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    settings = Settings(database_url=database_url)
    engine = build_engine(settings)
    factory = build_sessionmaker(engine)
    loaded = load_demo(
        factory, settings=settings, seed=5, now=DEFAULT_NOW, scale=0.25, models=("linear",)
    )
    assert loaded is not None
    run_id = dict(loaded.run_ids)["linear"]
    with factory() as session:
        rows = list(session.scalars(select(RunOpportunity).where(RunOpportunity.run_id == run_id)))
    with TestClient(create_app(settings, clock=SettableClock(DEFAULT_NOW))) as client:
        api = Api(client, loaded.workspace_id, loaded.api_key)
        response = api.get(
            "/v1/reports/lift", params={"from": str(FROM), "to": str(TO), "run": run_id}
        )
        assert response.status_code == 200, response.text
        yield response.json(), rows
    engine.dispose()


def in_period(row: Any) -> bool:
    return (row.amount is None or row.amount >= 0) and FROM <= row.created_date <= TO


def wilson(won: int, n: int) -> tuple[float, float]:
    p = won / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


def test_win_rate_difference_matches_newcombe_and_the_z_test(demo: Any) -> None:
    lift, rows = demo
    closed = [r for r in rows if in_period(r) and r.is_closed]
    groups = [[r for r in closed if r.pipeline_influenced == flag] for flag in (True, False)]
    (won_a, n_a), (won_b, n_b) = [(sum(1 for r in g if r.is_won), len(g)) for g in groups]
    assert n_a > 20 and n_b > 20, "the demo compares real groups"
    p_a, p_b = won_a / n_a, won_b / n_b
    (l_a, u_a), (l_b, u_b) = wilson(won_a, n_a), wilson(won_b, n_b)
    low = p_a - p_b - sqrt((p_a - l_a) ** 2 + (u_b - p_b) ** 2)
    high = p_a - p_b + sqrt((u_a - p_a) ** 2 + (p_b - l_b) ** 2)
    pooled = (won_a + won_b) / (n_a + n_b)
    z = (p_a - p_b) / sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    overall = lift["overall"]
    assert overall["win_rate_difference"] == pytest.approx(p_a - p_b, abs=1e-12)
    assert overall["win_rate_difference_low"] == pytest.approx(low, abs=1e-12)
    assert overall["win_rate_difference_high"] == pytest.approx(high, abs=1e-12)
    assert overall["win_rate_difference_p_value"] == pytest.approx(
        2 * (1 - NormalDist().cdf(abs(z))), abs=1e-12
    )


def welch(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """Welch's normal-theory interval and p-value of mean(a) - mean(b)."""
    difference = mean(a) - mean(b)
    error = sqrt(variance(a) / len(a) + variance(b) / len(b))
    p_value = 2 * (1 - NormalDist().cdf(abs(difference) / error))
    return difference - Z * error, difference + Z * error, p_value


def test_bootstrap_differences_agree_with_welch(demo: Any) -> None:
    lift, rows = demo
    won = [r for r in rows if in_period(r) and r.is_won]
    days = {
        flag: [
            (r.closed_at - r.created_at).total_seconds() / 86_400
            for r in won
            if r.pipeline_influenced == flag
        ]
        for flag in (True, False)
    }
    low, high, p_value = welch(days[True], days[False])
    overall = lift["overall"]
    width = high - low
    assert overall["days_to_close_difference"] == pytest.approx(
        mean(days[True]) - mean(days[False]), abs=0.006
    )
    # The percentile bootstrap of 2,000 resamples lands within a tenth of the interval's width
    # of the normal-theory ends, and its p-value within 0.05 of Welch's.
    assert overall["days_to_close_difference_low"] == pytest.approx(low, abs=width / 10)
    assert overall["days_to_close_difference_high"] == pytest.approx(high, abs=width / 10)
    assert overall["days_to_close_difference_p_value"] == pytest.approx(p_value, abs=0.05)
    amounts = {
        flag: [
            float(r.amount * r.revenue_rate)
            for r in won
            if r.pipeline_influenced == flag and r.amount is not None and r.revenue_rate
        ]
        for flag in (True, False)
    }
    low, high, p_value = welch(amounts[True], amounts[False])
    width = high - low
    assert overall["avg_won_amount_difference_minor"] == pytest.approx(
        mean(amounts[True]) - mean(amounts[False]), abs=1
    )
    assert overall["avg_won_amount_difference_low_minor"] == pytest.approx(low, abs=width / 10)
    assert overall["avg_won_amount_difference_high_minor"] == pytest.approx(high, abs=width / 10)
    assert overall["avg_won_amount_difference_p_value"] == pytest.approx(p_value, abs=0.05)


def test_every_interval_holds_its_estimate_and_agrees_with_its_p_value(demo: Any) -> None:
    lift, _ = demo
    segments = [lift["overall"], *lift["bands"]]
    checked = 0
    for fields in (
        (
            "win_rate_difference",
            "win_rate_difference_low",
            "win_rate_difference_high",
            "win_rate_difference_p_value",
        ),
        (
            "days_to_close_difference",
            "days_to_close_difference_low",
            "days_to_close_difference_high",
            "days_to_close_difference_p_value",
        ),
    ):
        for holder in [*segments, {k.removeprefix("band_adjusted_"): v for k, v in lift.items()}]:
            value, low, high, p_value = (holder.get(f) for f in fields)
            if value is None or low is None:
                continue
            checked += 1
            assert low <= value <= high
            if fields[0].startswith("days"):  # bootstrap: p < 0.05 exactly when 0 is outside
                assert (p_value < 0.05) == (low > 0 or high < 0)
    assert checked >= 4
    assert lift["band_adjusted_win_rate_difference_p_value"] is not None
    assert "Newcombe" in lift["methods"]
