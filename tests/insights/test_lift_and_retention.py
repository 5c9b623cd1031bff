"""The lift and retention reports on the demo company, against an independent computation
from the run's snapshot rows: exact sums, Newcombe's interval and the z-test written out from
their textbook formulas, and the bootstrap checked against Welch's normal-theory interval."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from fractions import Fraction
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
def demo(database_url: str) -> Iterator[tuple[dict[str, Any], list[Any], Api, int]]:
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
        lift = report(api, "lift", run_id)
        yield lift, rows, api, run_id
    engine.dispose()


def report(api: Api, name: str, run_id: int, **params: Any) -> Any:
    response = api.get(
        f"/v1/reports/{name}", params={"from": str(FROM), "to": str(TO), "run": run_id, **params}
    )
    assert response.status_code == 200, response.text
    return response.json() if "format" not in params else response.text


def in_period(row: Any) -> bool:
    return (row.amount is None or row.amount >= 0) and FROM <= row.created_date <= TO


def wilson(won: int, n: int) -> tuple[float, float]:
    p = won / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z / (1 + Z * Z / n) * sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return centre - half, centre + half


def test_win_rate_difference_matches_newcombe_and_the_z_test(demo: Any) -> None:
    lift, rows, _, _ = demo
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
    lift, rows, _, _ = demo
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
    lift, _, _, _ = demo
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


def _retention_by_hand(rows: list[Any]) -> dict[bool, dict[str, Any]]:
    """Per group (engaged or not), from the snapshot rows with exact fractions."""
    prior_from, prior_to = date(2023, 10, 2), date(2024, 9, 30)  # the 365 days before FROM
    accounts: dict[int, dict[str, Any]] = {}
    for r in rows:
        if r.account_id is None or not r.is_closed or r.close_date is None:
            continue
        if r.amount is not None and r.amount < 0:
            continue
        a = accounts.setdefault(
            r.account_id,
            {
                "base": Fraction(0),
                "renewed": Fraction(0),
                "expansion": Fraction(0),
                "closed": 0,
                "won": 0,
                "engaged": False,
            },
        )
        in_period = FROM <= r.close_date <= TO
        value = Fraction(r.amount or 0) * Fraction(r.revenue_rate or 0)
        if in_period and r.type in ("renewal", "expansion"):
            a["engaged"] |= bool(r.pipeline_influenced or r.revenue_influenced)
            if r.is_won:
                a["renewed" if r.type == "renewal" else "expansion"] += value
        if in_period and r.type == "renewal":
            a["closed"] += 1
            a["won"] += bool(r.is_won)
        if prior_from <= r.close_date <= prior_to and r.is_won:
            a["base"] += value
    groups: dict[bool, dict[str, Any]] = {}
    for engaged in (True, False):
        members = [
            a
            for a in accounts.values()
            if a["engaged"] == engaged
            and (a["base"] or a["closed"] or a["renewed"] or a["expansion"])
        ]
        with_base = [a for a in members if a["base"] > 0]
        base = sum((a["base"] for a in with_base), Fraction(0))
        groups[engaged] = {
            "accounts": len(members),
            "closed": sum(a["closed"] for a in members),
            "won": sum(a["won"] for a in members),
            "grr": sum((min(a["renewed"], a["base"]) for a in with_base), Fraction(0)) / base,
            "nrr": sum((a["renewed"] + a["expansion"] for a in with_base), Fraction(0)) / base,
        }
    return groups


def test_retention_equals_an_exact_computation_from_the_rows(demo: Any) -> None:
    _, rows, api, run_id = demo
    retention = report(api, "retention", run_id)
    assert (retention["prior_from"], retention["prior_to"]) == ("2023-10-02", "2024-09-30")
    expected = _retention_by_hand(rows)
    overall = retention["overall"]
    for engaged, name in ((True, "engaged"), (False, "not_engaged")):
        group, by_hand = overall[name], expected[engaged]
        assert group["accounts"] == by_hand["accounts"] > 5, name
        assert (group["renewals_closed"], group["renewals_won"]) == (
            by_hand["closed"],
            by_hand["won"],
        )
        assert group["gross_revenue_retention"] == pytest.approx(float(by_hand["grr"]), abs=1e-12)
        assert group["net_revenue_retention"] == pytest.approx(float(by_hand["nrr"]), abs=1e-12)
        low, high = wilson(by_hand["won"], by_hand["closed"])
        assert group["renewal_win_rate_low"] == pytest.approx(max(low, 0.0), abs=1e-12)
        assert group["renewal_win_rate_high"] == pytest.approx(min(high, 1.0), abs=1e-12)
        for metric in ("gross_revenue_retention", "net_revenue_retention"):
            assert group[f"{metric}_low"] <= group[metric] <= group[f"{metric}_high"]
    a, b = expected[True], expected[False]
    p_a, p_b = a["won"] / a["closed"], b["won"] / b["closed"]
    (l_a, u_a), (l_b, u_b) = wilson(a["won"], a["closed"]), wilson(b["won"], b["closed"])
    assert overall["renewal_win_rate_difference_low"] == pytest.approx(
        p_a - p_b - sqrt((p_a - l_a) ** 2 + (u_b - p_b) ** 2), abs=1e-12
    )
    assert overall["renewal_win_rate_difference_high"] == pytest.approx(
        p_a - p_b + sqrt((u_a - p_a) ** 2 + (p_b - l_b) ** 2), abs=1e-12
    )
    for metric in ("gross_revenue_retention_difference", "net_revenue_retention_difference"):
        low, high, p_value = (overall[f"{metric}{s}"] for s in ("_low", "_high", "_p_value"))
        assert low <= overall[metric] <= high
        assert (p_value < 0.05) == (low > 0 or high < 0)


def test_retention_answers_csv(demo: Any) -> None:
    _, _, api, run_id = demo
    text = report(api, "retention", run_id, format="csv")
    header = text.splitlines()[0].split(",")
    assert {
        "band",
        "group",
        "net_revenue_retention",
        "net_revenue_retention_difference_p_value",
    } <= set(header)
    assert len(text.splitlines()) == 1 + 2 * 7  # overall + 6 bands, two groups each
