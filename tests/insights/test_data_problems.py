"""Lift and coverage where the data has problems the golden dataset lacks: an amount in a currency
without rates, a missing and a negative amount, deleted contact roles, a run of duplicates.

Workspace: USD, UTC. Account A1 (10 employees) with contact C1, whose member m1 has four
forum questions on 2024-12-01 at 10:00, 10:40, 11:20 and 11:40 (UTC): 10:40 is within 60 min of
the kept 10:00 and dropped; 11:20 is 80 min after it, kept, and drops 11:40. Opportunities of A1
(period 2025-01-01 .. 2025-03-31), every one influenced by the kept touches:
  E1 won GBP 1,000.00 (no GBP rate)  E2 won, no amount  E3 won USD -500.00
  E4 lost USD 2,000.00               E5 won USD 3,000.00
Roles: E1 live; E2 deleted before the run; E4 deleted after the run (live at its as_of)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.models import AttributionRun, Opportunity, OpportunityContact
from tests.conftest import DEFAULT_NOW, Api

PERIOD = {"from": "2025-01-01", "to": "2025-03-31"}


def _opportunity(
    external_id: str, amount: str | None, currency: str, **fields: Any
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "account": "A1",
        "amount": amount,
        "currency": currency,
        "is_closed": True,
        "is_won": True,
        **fields,
    }


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _set_role_deleted(database_url: str, opportunity: str, deleted_at: Any) -> None:
    engine = build_engine(Settings(database_url=database_url))
    try:
        with transaction(build_sessionmaker(engine)) as session:
            session.execute(
                update(OpportunityContact)
                .where(
                    OpportunityContact.opportunity_id
                    == select(Opportunity.id)
                    .where(Opportunity.external_id == opportunity)
                    .scalar_subquery()
                )
                .values(deleted_at=deleted_at)
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def problems(insights_api: Api, database_url: str) -> Iterator[tuple[Api, int]]:
    api = insights_api
    _ok(
        api.put(
            "/v1/activity-types/forum_question",
            json={"name": "Forum question", "category": "support", "is_community": True},
        )
    )
    _ok(
        api.post(
            "/v1/crm/import",
            json={
                "source": "salesforce",
                "accounts": [
                    {"external_id": "A1", "name": "Alpha", "domain": "alpha.com", "employees": 10}
                ],
                "contacts": [
                    {
                        "external_id": "C1",
                        "account": "A1",
                        "email": "c1@alpha.com",
                        "created_at": "2024-06-01T00:00:00Z",
                    }
                ],
                "opportunities": [
                    _opportunity(
                        "E1",
                        "1000.00",
                        "GBP",
                        created_at="2025-01-10T12:00:00Z",
                        close_date="2025-02-10",
                    ),
                    _opportunity(
                        "E2",
                        None,
                        "USD",
                        created_at="2025-01-12T12:00:00Z",
                        close_date="2025-02-12",
                    ),
                    _opportunity(
                        "E3",
                        "-500.00",
                        "USD",
                        created_at="2025-01-15T12:00:00Z",
                        close_date="2025-02-15",
                    ),
                    _opportunity(
                        "E4",
                        "2000.00",
                        "USD",
                        created_at="2025-01-20T12:00:00Z",
                        close_date="2025-03-01",
                        is_won=False,
                    ),
                    _opportunity(
                        "E5",
                        "3000.00",
                        "USD",
                        created_at="2025-01-05T12:00:00Z",
                        close_date="2025-01-25",
                    ),
                ],
                "contact_roles": [
                    {"external_id": f"R{n}", "opportunity": f"E{n}", "contact": "C1"}
                    for n in (1, 2, 4)
                ],
            },
        )
    )
    _ok(
        api.post(
            "/v1/members:batch",
            json={"members": [{"external_id": "m1", "emails": ["c1@alpha.com"]}]},
        )
    )
    _ok(
        api.post(
            "/v1/touchpoints:batch",
            json={
                "touchpoints": [
                    {
                        "source": "discourse",
                        "external_id": f"q-{minute}",
                        "activity_type": "forum_question",
                        "occurred_at": f"2024-12-01T{10 + minute // 60:02d}:{minute % 60:02d}:00Z",
                        "member_email": "c1@alpha.com",
                    }
                    for minute in (0, 40, 80, 100)
                ]
            },
        )
    )
    _set_role_deleted(database_url, "E2", DEFAULT_NOW - timedelta(days=30))
    run = _ok(api.post("/v1/attribution-runs", json={"model": "linear"}))
    _set_role_deleted(database_url, "E4", DEFAULT_NOW + timedelta(days=1))
    yield api, run["id"]


def report(api: Api, name: str, **params: Any) -> Any:
    response = api.get(f"/v1/reports/{name}", params={**PERIOD, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_lift_leaves_unconvertible_and_missing_amounts_out_of_the_mean(
    problems: tuple[Api, int],
) -> None:
    api, _ = problems
    lift = report(api, "lift")
    influenced = lift["overall"]["influenced"]
    # E3's negative amount is left out of every report: E1 E2 E4 E5, all influenced
    assert (influenced["opportunities"], influenced["closed"], influenced["won"]) == (4, 4, 3)
    assert influenced["win_rate"] == 0.75
    assert (
        influenced["won_with_amount"],
        influenced["won_missing_amount"],
        influenced["won_without_rate"],
    ) == (1, 1, 1)
    assert influenced["avg_won_amount_minor"] == 300_000  # E5 alone
    assert (
        influenced["avg_won_amount_low_minor"] == influenced["avg_won_amount_high_minor"] == 300_000
    )
    # Days still count for every won deal: E1 and E2 31.5 (12:00 to the end of day 31 days
    # later), E5 20.5: 83.5 / 3 = 27.83
    assert influenced["avg_days_to_close"] == 27.83
    assert lift["overall"]["not_influenced"]["opportunities"] == 0
    assert {s["band"]: s["influenced"]["opportunities"] for s in lift["bands"]}["1-50"] == 4


def test_coverage_lists_the_problems(problems: tuple[Api, int]) -> None:
    api, _ = problems
    coverage = report(api, "coverage")
    # E1 E2 E4 E5; roles live at the run's as_of: E1, E4 (deleted only after the run)
    assert (coverage["opportunities"], coverage["with_contact_roles"]) == (4, 2)
    assert coverage["missing_amounts"] == {"count": 1, "external_ids": ["E2"]}
    assert coverage["negative_amounts"] == {"count": 1, "external_ids": ["E3"]}
    assert coverage["unconverted"] == [
        {"stage": "pipeline", "currency": "GBP", "opportunities": 1, "amount_minor": 100_000},
        {"stage": "revenue", "currency": "GBP", "opportunities": 1, "amount_minor": 100_000},
    ]
    assert coverage["members"]["match_rate"] == 1.0
    assert coverage["touches"] == [
        {"channel": "community", "stored": 4, "credited": 2, "outside_every_window": 2},
        {"channel": "marketing", "stored": 0, "credited": 0, "outside_every_window": 0},
    ]
    assert coverage["duplicates"]["dropped"] == 2


def test_an_amount_range_does_not_hide_amount_problems(problems: tuple[Api, int]) -> None:
    api, _ = problems
    coverage = report(api, "coverage", amount_min="1000")
    assert coverage["opportunities"] == 2  # E4 and E5; E1 has no rate, E2 no amount
    assert coverage["missing_amounts"]["external_ids"] == ["E2"]
    assert coverage["negative_amounts"]["external_ids"] == ["E3"]


def _journey_stats(database_url: str, run_id: int, stats: dict[str, int] | None) -> Any:
    """Set (or, with None, remove) the engine counts recorded on the run; the old ones back."""
    engine = build_engine(Settings(database_url=database_url))
    try:
        with transaction(build_sessionmaker(engine)) as session:
            run = session.get(AttributionRun, run_id)
            assert run is not None
            summary = dict(run.channel_summary or {})
            before = summary.pop("journey_stats", None)
            if stats is not None:
                summary["journey_stats"] = stats
            run.channel_summary = summary or None
            return before
    finally:
        engine.dispose()


def test_duplicates_come_from_the_run_when_it_recorded_them(
    problems: tuple[Api, int], database_url: str
) -> None:
    api, run_id = problems
    recorded = _journey_stats(database_url, run_id, None)
    try:
        assert report(api, "coverage")["duplicates"] == {
            "dropped": 2,
            "window_minutes": 60,
            "basis": "recomputed",
        }
        _journey_stats(database_url, run_id, {"duplicates_dropped": 7, "staff_excluded": 0})
        assert report(api, "coverage")["duplicates"] == {
            "dropped": 7,
            "window_minutes": 60,
            "basis": "run",
        }
    finally:
        _journey_stats(database_url, run_id, recorded)
