"""The CSV exports on the golden dataset: headers, exact rows, run choice, batching, isolation."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import text

from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.exports import service
from app.exports.schemas import (
    CREDIT_COLUMNS,
    OPPORTUNITY_COLUMNS,
    TOUCHPOINT_COLUMNS,
    ExportColumn,
    names,
)
from app.money import round_half_up
from tests.exports.conftest import Workspaces, csv_rows, export
from tests.golden import loader

PERIOD = (date(2024, 10, 31), date(2025, 9, 12))
# O09 is in EUR: pipeline at its local creation date, revenue at its close date (golden README)
EUR_RATES = {"pipeline": Decimal("1.0898"), "revenue": Decimal("1.03531")}


def header(text: str) -> str:
    return text.split("\n", 1)[0]


def expected_opportunities() -> dict[str, Any]:
    opportunities: dict[str, Any] = loader.expected()["opportunities"]
    return opportunities


def accounts() -> dict[str, str]:
    return {o["external_id"]: o["account"] for o in loader.dataset()["opportunities"]}


def test_each_export_starts_with_its_documented_header(workspaces: Workspaces) -> None:
    golden = workspaces.golden
    for name, columns in (
        ("credits", CREDIT_COLUMNS),
        ("opportunities", OPPORTUNITY_COLUMNS),
        ("touchpoints", TOUCHPOINT_COLUMNS),
    ):
        assert header(export(golden, name)) == ",".join(names(columns))


def test_column_names_are_unique_flat_and_snake_case() -> None:
    for columns in (CREDIT_COLUMNS, OPPORTUNITY_COLUMNS, TOUCHPOINT_COLUMNS):
        assert len(set(names(columns))) == len(columns)
        assert all(c.name.isidentifier() and c.name == c.name.lower() for c in columns)
        assert all(c.description.endswith(".") for c in columns)


def test_exports_are_streamed_csv_attachments(workspaces: Workspaces) -> None:
    response = workspaces.golden.get("/v1/exports/credits.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="credits-run-{workspaces.golden_run}.csv"'
    )
    assert "content-length" not in response.headers  # chunked: written as the rows arrive


def _expected_credit_rows() -> list[dict[str, str]]:
    """Stage, then opportunity, then the touches in order, as expected.json has them."""
    rows = []
    for stage in ("pipeline", "revenue"):
        for external_id, opportunity in expected_opportunities().items():
            window = opportunity["stages"][stage]
            if window is None:
                continue
            touches = {t["touch"]: t for t in window["touches"]}
            for credit in window["models"]["linear"]["credits"]:
                touch = touches[credit["touch"]]
                source, touch_id = credit["touch"].split("/", 1)
                rate = EUR_RATES[stage] if opportunity["currency"] == "EUR" else Decimal(1)
                reporting = format((credit["cents"] * rate).normalize(), "f")
                rows.append(
                    {
                        "model": "linear",
                        "stage": stage,
                        "opportunity_source": "salesforce",
                        "opportunity_external_id": external_id,
                        "opportunity_name": opportunity["name"],
                        "account_external_id": accounts()[external_id],
                        "created_date": opportunity["created_local_date"],
                        "close_date": opportunity["close_date"] or "",
                        "is_won": str(opportunity["status"] == "won"),
                        "currency": opportunity["currency"],
                        "touchpoint_source": source,
                        "touchpoint_external_id": touch_id,
                        "occurred_at": touch["occurred_at"],
                        "activity_type": touch["activity_type"],
                        "category": touch["category"],
                        "program": touch["program"] or "",
                        "is_community": str(touch["is_community"]),
                        "credit_minor": str(credit["cents"]),
                        "credit_reporting_minor": reporting,
                        "reporting_currency": "USD",
                        "fraction": credit["fraction"],
                    }
                )
    return rows


def test_credits_are_the_golden_linear_credits_row_for_row(workspaces: Workspaces) -> None:
    rows = csv_rows(export(workspaces.golden, "credits"))
    expected = _expected_credit_rows()
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        fraction = Fraction(want.pop("fraction"))
        assert {k: row[k] for k in want} == want
        assert math.isclose(float(row["fraction"]), fraction, abs_tol=1e-12)
        assert row["run_id"] == str(workspaces.golden_run)
        assert row["opportunity_type"] in {"new_business", "expansion", "renewal", "other"}


def test_a_euro_credit_is_converted_exactly(workspaces: Workspaces) -> None:
    lines = export(workspaces.golden, "credits").splitlines()
    eur = [line for line in lines if ",006-O09," in line and ",revenue," in line]
    # 1/6 of 25,000.00 EUR is 416,666.67 cents, largest remainder: 416,667 (x4), then 416,666
    assert eur[0] == (
        f"{workspaces.golden_run},linear,revenue,salesforce,006-O09,Stark - Werk Berlin,"
        "001-STARK,new_business,2024-10-31,2025-01-20,True,EUR,salesforce,00v-0008,"
        "2024-06-20T08:00:00Z,webinar_attended,marketing,,False,0.16666666666666666,416667,"
        "431379.51177,USD"
    )


def test_summing_reporting_credits_then_rounding_once_gives_the_report(
    workspaces: Workspaces,
) -> None:
    rows = csv_rows(export(workspaces.golden, "credits"))
    summary = loader.expected()["summary"]
    first, last = (d.isoformat() for d in PERIOD)
    pipeline = sum(
        Decimal(r["credit_reporting_minor"])
        for r in rows
        if r["stage"] == "pipeline"
        and r["is_community"] == "True"
        and first <= r["created_date"] <= last
    )
    revenue = sum(
        Decimal(r["credit_reporting_minor"])
        for r in rows
        if r["stage"] == "revenue"
        and r["is_community"] == "True"
        and r["is_won"] == "True"
        and first <= r["close_date"] <= last
    )
    assert (
        round_half_up(Decimal(pipeline)) == summary["pipeline"]["attributed"]["linear"]["usd_cents"]
    )
    assert (
        round_half_up(Decimal(revenue)) == summary["revenue"]["attributed"]["linear"]["usd_cents"]
    )


def test_opportunities_are_the_runs_snapshot(workspaces: Workspaces) -> None:
    rows = csv_rows(export(workspaces.golden, "opportunities"))
    expected = expected_opportunities()
    assert [r["opportunity_external_id"] for r in rows] == list(expected)
    for row in rows:
        want = expected[row["opportunity_external_id"]]
        stages = want["stages"]
        revenue = stages["revenue"]
        eur = want["currency"] == "EUR"
        rates = {s: EUR_RATES[s] if eur else Decimal(1) for s in ("pipeline", "revenue")}
        amount = None if want["amount_missing"] else want["amount_cents"]
        won = want["status"] == "won"

        def converted(minor: int | None, stage: str, rates: dict[str, Decimal] = rates) -> str:
            return "" if minor is None else format((minor * rates[stage]).normalize(), "f")

        pipeline_credit = stages["pipeline"]["attributed"]["linear"]
        revenue_credit = revenue["attributed"]["linear"] if revenue else None
        assert row == {
            "run_id": str(workspaces.golden_run),
            "model": "linear",
            "opportunity_source": "salesforce",
            "opportunity_external_id": row["opportunity_external_id"],
            "opportunity_name": want["name"],
            "account_external_id": accounts()[row["opportunity_external_id"]],
            "account_name": row["account_name"],
            "opportunity_type": row["opportunity_type"],
            "stage_name": row["stage_name"],
            "pipeline": "",
            "is_closed": str(want["status"] in ("won", "lost")),
            "is_won": str(won),
            "currency": want["currency"],
            "amount_minor": "" if amount is None else str(amount),
            "created_at": want["created_at"],
            "closed_at": want["closed_at"] if want["status"] != "open" else "",
            "created_date": want["created_local_date"],
            "close_date": want["close_date"],
            "pipeline_rate": str(rates["pipeline"]),
            "revenue_rate": str(rates["revenue"]),
            "pipeline_influenced": str(stages["pipeline"]["influenced"]),
            "revenue_influenced": str(bool(revenue and revenue["influenced"])),
            "sourced": str(want["sourced"]),
            "accelerated": str(want["accelerated"]),
            "pipeline_attributed_minor": str(pipeline_credit["community_cents"]),
            "revenue_attributed_minor": str(
                revenue_credit["community_cents"] if revenue_credit else 0
            ),
            "pipeline_attributed_any": str(pipeline_credit["has_credit"]),
            "revenue_attributed_any": str(bool(revenue_credit and revenue_credit["has_credit"])),
            "pipeline_amount_reporting_minor": converted(amount, "pipeline"),
            "revenue_amount_reporting_minor": converted(amount, "revenue") if won else "",
            "pipeline_attributed_reporting_minor": converted(
                pipeline_credit["community_cents"], "pipeline"
            ),
            "revenue_attributed_reporting_minor": converted(
                revenue_credit["community_cents"] if revenue_credit else 0, "revenue"
            ),
            "reporting_currency": "USD",
        }


def test_touchpoints_are_every_stored_touch_in_touch_order(workspaces: Workspaces) -> None:
    rows = csv_rows(export(workspaces.golden, "touchpoints"))
    stored = loader.expected()["stored_touches"]
    assert len(rows) == stored["count"] == 53
    order = [(r["occurred_at"], r["touchpoint_source"], r["touchpoint_external_id"]) for r in rows]
    assert order == sorted(order)
    types = {t["key"]: t for t in loader.dataset()["activity_types"]}
    for row in rows:
        want = stored["status"][f"{row['touchpoint_source']}/{row['touchpoint_external_id']}"]
        kind, person = want["person"].split(":", 1)
        assert (row["person_kind"], row["person_external_id"]) == (kind, person)
        assert row["person_source"] == ("" if kind == "member" else "salesforce")
        assert row["member_is_staff"] == (str(want["staff"]) if kind == "member" else "")
        activity_type = types[row["activity_type"]]
        assert row["category"] == activity_type["category"]
        assert row["is_community"] == str(activity_type["is_community"])
        assert row["received_at"] == "2025-09-30T16:00:00Z"
    assert sum(r["member_is_staff"] == "True" for r in rows) == 2  # DANA: dsc-1013, ev-3004


def test_a_run_is_chosen_by_id_or_by_model(workspaces: Workspaces) -> None:
    golden = workspaces.golden
    latest = export(golden, "credits")
    assert export(golden, "credits", run=workspaces.golden_run) == latest
    assert export(golden, "credits", model="linear") == latest
    assert golden.get("/v1/exports/credits.csv", params={"model": "markov"}).status_code == 404
    assert golden.get("/v1/exports/opportunities.csv", params={"run": 10**9}).status_code == 404


def test_batches_join_into_the_same_table(workspaces: Workspaces, settings: Settings) -> None:
    engine = build_engine(settings)
    try:
        factory = build_sessionmaker(engine)
        workspace_id = workspaces.golden.workspace_id
        for name, chunks in (
            (
                "credits",
                service.credits_csv(
                    factory, workspace_id=workspace_id, run_id=workspaces.golden_run, batch_size=7
                ),
            ),
            (
                "touchpoints",
                list(service.touchpoints_csv(factory, workspace_id=workspace_id, batch_size=7)),
            ),
        ):
            parts = list(chunks)
            whole = export(workspaces.golden, name)
            assert "".join(parts) == whole
            assert len(parts) == 1 + math.ceil((len(whole.splitlines()) - 1) / 7)
    finally:
        engine.dispose()


def test_a_workspace_sees_only_its_own_rows(workspaces: Workspaces) -> None:
    golden, small, empty = workspaces.golden, workspaces.small, workspaces.empty
    mine = csv_rows(export(small, "touchpoints"))
    assert mine
    assert all(r["touchpoint_external_id"].startswith("b-") for r in mine)
    golden_touches = csv_rows(export(golden, "touchpoints"))
    assert not any(r["touchpoint_external_id"].startswith("b-") for r in golden_touches)
    credits = csv_rows(export(small, "credits"))
    assert {r["opportunity_external_id"] for r in credits} == {"006-O10"}
    assert {r["run_id"] for r in credits} == {str(workspaces.small_run)}
    assert all(r["touchpoint_external_id"].startswith("b-") for r in credits)
    # another workspace's run is not found; nothing leaks into an empty workspace
    for name in ("credits", "opportunities"):
        response = small.get(f"/v1/exports/{name}.csv", params={"run": workspaces.golden_run})
        assert response.status_code == 404
        assert empty.get(f"/v1/exports/{name}.csv").status_code == 404
    assert export(empty, "touchpoints") == ",".join(names(TOUCHPOINT_COLUMNS)) + "\n"


def test_the_requests_connection_is_free_before_the_body_streams(
    workspaces: Workspaces, backend: str, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "postgresql":
        pytest.skip("pg_stat_activity is PostgreSQL's")
    engine = build_engine(settings)
    idle_in_transaction: list[int] = []

    def probe(*_args: Any, **_kwargs: Any) -> Iterator[str]:
        with engine.connect() as connection:
            idle_in_transaction.append(
                connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            )
        yield "run_id\n"

    monkeypatch.setattr(service, "credits_csv", probe)
    try:
        assert export(workspaces.golden, "credits") == "run_id\n"
    finally:
        engine.dispose()
    # the key lookup and the run choice left no transaction open for the length of the export
    assert idle_in_transaction == [0]


def test_exports_need_a_key(workspaces: Workspaces) -> None:
    client = workspaces.golden.client
    for name in ("credits", "opportunities", "touchpoints"):
        assert client.get(f"/v1/exports/{name}.csv").status_code == 401


def test_every_column_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "bi-tools.md").read_text()
    columns: tuple[ExportColumn, ...]
    for columns in (CREDIT_COLUMNS, OPPORTUNITY_COLUMNS, TOUCHPOINT_COLUMNS):
        for column in columns:
            assert f"| `{column.name}` | {column.type} | {column.description} |" in doc
