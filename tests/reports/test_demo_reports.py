"""Every report on the demo company against an independent computation over the same rows: the
run's snapshot and credits, summed with exact fractions, converted and rounded half up once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.demo import load_demo
from app.main import create_app
from app.models import ActivityType, Credit, Program, RunOpportunity
from attribution import MODEL_NAMES
from tests.conftest import DEFAULT_NOW, Api, SettableClock

FROM, TO = date(2024, 10, 1), date(2025, 9, 30)


@dataclass
class Demo:
    api: Api
    run_id: int
    snapshot: list[Any]
    credits: list[Any]
    categories: dict[int, str]
    activity_types: dict[int, str]
    programs: dict[int, str]
    run_ids: dict[str, int]


@pytest.fixture(scope="module")
def demo(database_url: str) -> Iterator[Demo]:
    settings = Settings(database_url=database_url)
    engine = build_engine(settings)
    factory = build_sessionmaker(engine)
    loaded = load_demo(
        factory, settings=settings, seed=11, now=DEFAULT_NOW, scale=0.04, models=MODEL_NAMES
    )
    assert loaded is not None
    run_id = dict(loaded.run_ids)["linear"]
    with factory() as session:
        snapshot = list(
            session.execute(select(RunOpportunity).where(RunOpportunity.run_id == run_id)).scalars()
        )
        credits = list(session.execute(select(Credit).where(Credit.run_id == run_id)).scalars())
        activity_types = {
            t.id: t.key
            for t in session.scalars(
                select(ActivityType).where(ActivityType.workspace_id == loaded.workspace_id)
            )
        }
        programs = {
            p.id: p.key
            for p in session.scalars(
                select(Program).where(Program.workspace_id == loaded.workspace_id)
            )
        }
        categories = {
            t.id: str(t.category)
            for t in session.scalars(
                select(ActivityType).where(ActivityType.workspace_id == loaded.workspace_id)
            )
        }
    with TestClient(create_app(settings, clock=SettableClock(DEFAULT_NOW))) as client:
        yield Demo(
            Api(client, loaded.workspace_id, loaded.api_key),
            run_id,
            snapshot,
            credits,
            categories,
            activity_types,
            programs,
            dict(loaded.run_ids),
        )
    engine.dispose()


def rounded(value: Fraction) -> int:
    """Half up, exactly: floor(value + 1/2) for non-negative values."""
    assert value >= 0
    return int(value + Fraction(1, 2))


def largest_remainder(exact: dict[Any, Fraction]) -> dict[Any, int]:
    """The rows of an additive breakdown: floors, then the units left to reach the total
    rounded half up once go to the largest remainders, ties in the given key order."""
    keys = list(exact)
    total = rounded(sum(exact.values(), Fraction(0)))
    floors = {k: int(exact[k]) for k in keys}
    ranked = sorted(range(len(keys)), key=lambda i: (-(exact[keys[i]] - floors[keys[i]]), i))
    for i in ranked[: total - sum(floors.values())]:
        floors[keys[i]] += 1
    return floors


def in_stage(row: Any, stage: str, start: date = FROM, end: date = TO) -> bool:
    if row.amount is not None and row.amount < 0:
        return False
    if stage == "pipeline":
        return start <= row.created_date <= end
    return bool(row.is_won) and row.close_date is not None and start <= row.close_date <= end


def rate(row: Any, stage: str) -> Fraction:
    value = row.pipeline_rate if stage == "pipeline" else row.revenue_rate
    assert value is not None, "the demo converts every currency"
    return Fraction(value)


def report(demo: Demo, name: str, **params: Any) -> Any:
    response = demo.api.get(
        f"/v1/reports/{name}",
        params={"from": str(FROM), "to": str(TO), "run": demo.run_id, **params},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_summary_equals_the_rows(demo: Demo) -> None:
    summary = report(demo, "summary")
    for stage in ("pipeline", "revenue"):
        rows = [r for r in demo.snapshot if in_stage(r, stage)]
        expected = {
            "total": rows,
            "influenced": [r for r in rows if getattr(r, f"{stage}_influenced")],
            "sourced": [r for r in rows if r.sourced],
            "accelerated": [r for r in rows if r.accelerated],
        }
        for measure, chosen in expected.items():
            amount = sum((Fraction(r.amount or 0) * rate(r, stage) for r in chosen), Fraction(0))
            assert (
                summary[stage][measure]["amount_minor"],
                summary[stage][measure]["opportunities"],
            ) == (
                rounded(amount),
                len(chosen),
            ), (stage, measure)
        by_opportunity = {r.opportunity_id: r for r in rows}
        community = [
            c
            for c in demo.credits
            if c.stage == stage and c.is_community and c.opportunity_id in by_opportunity
        ]
        attributed = sum(
            (c.amount * rate(by_opportunity[c.opportunity_id], stage) for c in community),
            Fraction(0),
        )
        assert summary[stage]["attributed"]["amount_minor"] == rounded(attributed)
        assert summary[stage]["attributed"]["opportunities"] == len(
            {c.opportunity_id for c in community if c.fraction > 0}
        )


def _key_of(demo: Demo, dimension: str, credit: Any) -> str | None:
    """The breakdown key a credit falls under, computed from the stored ids alone."""
    if dimension == "category":
        return demo.categories[credit.activity_type_id]
    if dimension == "activity-type":
        return demo.activity_types[credit.activity_type_id]
    if dimension == "program":
        return None if credit.program_id is None else demo.programs[credit.program_id]
    return "community" if credit.is_community else "marketing"


def _attributed_rows(demo: Demo, dimension: str, credited: dict[str, Fraction]) -> dict[str, int]:
    """Programs: each rounded half up. Other dimensions: community rows and marketing rows
    each by largest remainder (rows in key order) to their own total."""
    if dimension == "program":
        return {key: rounded(amount) for key, amount in credited.items()}
    marketing_types = {
        key for i, key in demo.activity_types.items() if demo.categories[i] == "marketing"
    }
    expected: dict[str, int] = {}
    for marketing in (False, True):
        group = {
            key: credited[key]
            for key in sorted(credited)
            if (key in ("marketing",) or key in marketing_types) == marketing
        }
        expected.update(largest_remainder(group))
    return expected


@pytest.mark.parametrize("dimension", ["category", "activity-type", "program", "channel"])
def test_breakdowns_equal_the_rows(demo: Demo, dimension: str) -> None:
    rows = {row["key"]: row for row in report(demo, f"by-{dimension}")["rows"]}
    for stage in ("pipeline", "revenue"):
        by_opportunity = {r.opportunity_id: r for r in demo.snapshot if in_stage(r, stage)}
        credited: dict[str, Fraction] = defaultdict(Fraction)
        touched: dict[str, set[int]] = defaultdict(set)
        for credit in demo.credits:
            key = _key_of(demo, dimension, credit)
            if (
                key is not None
                and credit.stage == stage
                and credit.opportunity_id in by_opportunity
            ):
                credited[key] += credit.amount * rate(by_opportunity[credit.opportunity_id], stage)
                touched[key].add(credit.opportunity_id)
        assert set(credited) <= set(rows)
        expected = _attributed_rows(demo, dimension, credited)
        for key in credited:
            assert rows[key][f"{stage}_attributed_minor"] == expected[key], (stage, key)
            influenced = sum(
                (
                    Fraction(by_opportunity[o].amount or 0) * rate(by_opportunity[o], stage)
                    for o in touched[key]
                ),
                Fraction(0),
            )
            assert rows[key][f"{stage}_influenced_minor"] == rounded(influenced), (stage, key)
            assert rows[key][f"{stage}_influenced_opportunities"] == len(touched[key])


def test_opportunities_list_every_row_with_its_own_figures(demo: Demo) -> None:
    items: list[dict[str, Any]] = []
    cursor: str | None = "0"
    while cursor is not None:
        page = report(demo, "opportunities", cursor=cursor, limit=40)
        items += page["items"]
        cursor = page["next_cursor"]
    expected = {r.opportunity_id: r for r in demo.snapshot if in_stage(r, "pipeline")}
    assert sorted(item["id"] for item in items) == sorted(expected)
    for item in items:
        row = expected[item["id"]]
        assert (
            item["amount_minor"],
            item["pipeline_attributed_minor"],
            item["revenue_attributed_minor"],
            item["sourced"],
            item["accelerated"],
        ) == (
            row.amount,
            row.pipeline_attributed,
            row.revenue_attributed,
            row.sourced,
            row.accelerated,
        )


def test_months_equal_the_rows(demo: Demo) -> None:
    series = report(demo, "timeseries", interval="month")["rows"]
    for stage in ("pipeline", "revenue"):
        exact: dict[str, Fraction] = {}
        for row in series:
            start = date.fromisoformat(row["bucket_start"])
            end = date.fromisoformat(row["bucket_end"])
            chosen = [
                r for r in demo.snapshot if in_stage(r, stage, max(start, FROM), min(end, TO))
            ]
            exact[row["bucket"]] = sum(
                (Fraction(r.amount or 0) * rate(r, stage) for r in chosen), Fraction(0)
            )
            assert row[f"{stage}_opportunities"] == len(chosen)
        expected = largest_remainder(exact)
        assert [row[f"{stage}_total_minor"] for row in series] == list(expected.values())


def test_accounts_equal_the_rows(demo: Demo) -> None:
    rows = report(demo, "by-account")["rows"]
    expected: dict[Any, Fraction] = defaultdict(Fraction)
    for r in demo.snapshot:
        if in_stage(r, "revenue"):
            expected[r.account_id] += Fraction(r.amount or 0) * rate(r, "revenue")
    assert sorted(
        row["revenue_total_minor"] for row in rows if row["revenue_total_minor"]
    ) == sorted(rounded(v) for v in expected.values() if rounded(v))


def test_an_amount_range_equals_the_rows(demo: Demo) -> None:
    low, high = 20_000, 80_000  # reporting currency, major units
    pipeline = report(demo, "summary", amount_min=str(low), amount_max=str(high))["pipeline"][
        "total"
    ]
    chosen = [
        r
        for r in demo.snapshot
        if in_stage(r, "pipeline")
        and r.amount is not None
        and low * 100 <= Fraction(r.amount) * rate(r, "pipeline") <= high * 100
    ]
    total = sum((Fraction(r.amount) * rate(r, "pipeline") for r in chosen), Fraction(0))
    assert (pipeline["amount_minor"], pipeline["opportunities"]) == (rounded(total), len(chosen))


ADDITIVE = ("by-category", "by-activity-type", "by-channel")


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_every_additive_breakdown_sums_to_its_total(demo: Demo, model: str) -> None:
    """For every model, to the cent: community rows of every additive breakdown sum to the
    summary's attributed figure, and every timeseries column to the summary's figure, over
    the whole period and over a quarter cut mid-month."""
    for start, end in ((FROM, TO), (date(2024, 11, 15), date(2025, 2, 14))):
        params = {"run": demo.run_ids[model], "from": str(start), "to": str(end)}
        summary = report(demo, "summary", **params)
        for name in ADDITIVE:
            rows = report(demo, name, **params)["rows"]
            community = [
                r for r in rows if r["key"] != "marketing" and r["category"] != "marketing"
            ]
            for stage in ("pipeline", "revenue"):
                assert (
                    sum(r[f"{stage}_attributed_minor"] for r in community)
                    == (summary[stage]["attributed"]["amount_minor"])
                ), (model, name, stage)
        for interval in ("week", "month", "fiscal_quarter"):
            series = report(demo, "timeseries", interval=interval, **params)["rows"]
            for stage in ("pipeline", "revenue"):
                for measure in ("total", "influenced", "sourced", "attributed"):
                    assert (
                        sum(r[f"{stage}_{measure}_minor"] for r in series)
                        == (summary[stage][measure]["amount_minor"])
                    ), (model, interval, stage, measure)


def test_category_rows_carry_their_category(demo: Demo) -> None:
    rows = report(demo, "by-category")["rows"]
    assert rows and all(row["category"] == row["key"] for row in rows)
