"""An attribution run: load every opportunity's touches, call the engine, store a snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from app import queue
from app.config import Settings
from app.currency import RateTable
from app.db import transaction
from app.exceptions import InvalidInput, NotFound
from app.localtime import end_of_local_day, local_date
from app.models import AttributionRun, Opportunity, Workspace
from app.queue import JobControl
from app.reports import rollups as report_rollups
from app.runs import repository
from app.runs.schemas import (
    CreditOut,
    CreditPage,
    RunCreate,
    RunOpportunityOut,
    RunOpportunityPage,
)
from attribution import (
    AttributionResult,
    InputFrameError,
    JourneySettings,
    ModelParameterError,
    ModelSpec,
    attribute,
    prepare,
)

_FLAGS = ("pipeline_influenced", "revenue_influenced", "sourced", "accelerated")


def queue_run(
    session: Session, *, workspace: Workspace, request: RunCreate, now: datetime
) -> AttributionRun:
    """Store the request as a queued run; `execute_run` (inline or in the worker) does the work."""
    run = AttributionRun(
        workspace_id=workspace.id,
        model=request.model,
        parameters=request.model_dump(),
        status="queued",
        as_of=now,
        created_at=now,
    )
    session.add(run)
    session.flush()
    return run


@dataclass
class _Inputs:
    """What a run reads from the database before the engine runs."""

    request: RunCreate
    parameters: dict[str, Any]
    lookback_days: int
    scope: str
    journey_settings: JourneySettings
    snapshot: list[dict[str, Any]]
    lead_times: dict[int, datetime]
    touches: pl.DataFrame


def execute_run(
    session: Session,
    *,
    workspace: Workspace,
    run: AttributionRun,
    now: datetime,
    settings: Settings,
) -> AttributionRun:
    """Compute the model over both stages and store the credits with the opportunity snapshot."""
    inputs = _load(session, workspace=workspace, run=run, now=now)
    result = _compute(inputs, settings=settings)
    _store(
        session,
        run=run,
        workspace=workspace,
        inputs=inputs,
        result=result,
        now=now,
        settings=settings,
    )
    return run


PHASES = ("loading", "computing", "writing")


def execute_claimed(
    factory: sessionmaker[Session],
    *,
    control: JobControl,
    settings: Settings,
) -> AttributionRun:
    """The worker's run: read, compute and write in separate steps, its progress and lease
    recorded between them, the results written in one transaction fenced by the worker's claim.
    Reports read succeeded runs only, and a run is never seen succeeded without all its rows, so
    a run killed at any point, and taken over, shows nothing half-written."""
    run_id = control.claim.job_id
    control.checkpoint(PHASES[0], 0, len(PHASES))
    now = control.clock()
    with transaction(factory) as session:
        run = session.get_one(AttributionRun, run_id)
        workspace = session.get_one(Workspace, run.workspace_id)
        inputs = _load(session, workspace=workspace, run=run, now=now)
    control.checkpoint(PHASES[1], 1, len(PHASES))
    result = _compute(inputs, settings=settings)
    control.checkpoint(PHASES[2], 2, len(PHASES))
    with transaction(factory) as session:
        control.record(session, None)  # the fence: taken first, held to the commit
        run = session.get_one(AttributionRun, run_id)
        workspace = session.get_one(Workspace, run.workspace_id)
        repository.delete_results(session, run_id)
        _store(
            session,
            run=run,
            workspace=workspace,
            inputs=inputs,
            result=result,
            now=now,
            settings=settings,
        )
        run.finished_at = control.clock()
        run.lease_until = None
        run.progress = None
    return run


def _load(session: Session, *, workspace: Workspace, run: AttributionRun, now: datetime) -> _Inputs:
    request = RunCreate.model_validate(run.parameters)
    lookback_days = request.lookback_days or workspace.default_lookback_days
    scope = request.scope or workspace.default_scope
    parameters = dict(request.parameters)
    if request.model == "time_decay":
        parameters.setdefault("half_life_days", workspace.default_half_life_days)
    journey_settings = JourneySettings(
        as_of=now,
        lookback=timedelta(days=lookback_days),
        duplicate_window=timedelta(minutes=workspace.duplicate_window_minutes),
        exclude_staff=request.exclude_staff,
    )
    zone = ZoneInfo(workspace.time_zone)
    rates = RateTable(
        repository.exchange_rates(session, workspace.id), workspace.reporting_currency
    )
    opportunities = repository.live_opportunities(session, workspace.id)
    return _Inputs(
        request=request,
        parameters=parameters,
        lookback_days=lookback_days,
        scope=scope,
        journey_settings=journey_settings,
        snapshot=[_snapshot_row(o, zone, rates) for o in opportunities],
        lead_times=repository.lead_creation_times(session, workspace_id=workspace.id, scope=scope),
        touches=repository.reached_touches(session, workspace_id=workspace.id, scope=scope),
    )


@dataclass
class _Computed:
    result: AttributionResult
    stats: Mapping[str, int]


def _compute(inputs: _Inputs, *, settings: Settings) -> _Computed:
    try:
        prepared = prepare(
            _engine_touches(inputs.touches),
            _engine_opportunities(inputs.snapshot, inputs.lead_times),
            inputs.journey_settings,
        )
        result = attribute(
            prepared,
            ModelSpec(
                name=inputs.request.model,
                params=inputs.parameters,
                max_markov_states=settings.markov_max_states,
            ),
        )
    except ModelParameterError as error:
        raise InvalidInput.at(("body", "parameters", error.field), error.message) from error
    except InputFrameError as error:
        # Stored CRM data the engine cannot allocate exactly (an amount above 10^15 minor
        # units): a clear 422 naming the opportunity, never a 500.
        raise InvalidInput.at(
            ("data", "opportunities", error.field or "input"), error.message
        ) from error
    return _Computed(result=result, stats=prepared.stats)


def _store(
    session: Session,
    *,
    run: AttributionRun,
    workspace: Workspace,
    inputs: _Inputs,
    result: _Computed,
    now: datetime,
    settings: Settings,
) -> None:
    run.parameters = {
        **result.result.parameters,
        "lookback_days": inputs.lookback_days,
        "scope": inputs.scope,
        "exclude_staff": inputs.request.exclude_staff,
        "duplicate_window_minutes": workspace.duplicate_window_minutes,
    }
    run.as_of = now
    run.status = "succeeded"
    run.finished_at = now
    run.channel_summary = _channel_summary(
        result.result.channels,
        result.stats,
        _unconverted(inputs.snapshot, result.result.unconverted_opportunities),
    )
    credits = _credits_with_touch_attributes(result.result.credits, inputs.touches)
    flags = {row["opportunity_id"]: row for row in result.result.flags.iter_rows(named=True)}
    attributed = _community_credit_by_opportunity(credits)
    repository.write_snapshot(
        session,
        [
            _with_results(
                row, run, flags.get(row["opportunity_id"]), attributed.get(row["opportunity_id"])
            )
            for row in inputs.snapshot
        ],
        settings.credit_insert_batch,
    )
    repository.write_credits(session, _credit_rows(credits, run), settings.credit_insert_batch)
    repository.write_rollups(session, _rollup_rows(credits, run), settings.credit_insert_batch)
    session.flush()
    report_rollups.write(session, run=run)


def _snapshot_row(opportunity: Opportunity, zone: ZoneInfo, rates: RateTable) -> dict[str, Any]:
    created_date = local_date(opportunity.created_at, zone)
    closed = opportunity.is_closed and opportunity.close_date is not None
    return {
        "opportunity_id": opportunity.id,
        "workspace_id": opportunity.workspace_id,
        "account_id": opportunity.account_id,
        "type": opportunity.type,
        "stage_name": opportunity.stage_name,
        "pipeline": opportunity.pipeline,
        "is_closed": opportunity.is_closed,
        "is_won": opportunity.is_won,
        "amount": opportunity.amount,
        "currency": opportunity.currency,
        "created_at": opportunity.created_at,
        "closed_at": end_of_local_day(opportunity.close_date, zone) if closed else None,  # type: ignore[arg-type]
        "created_date": created_date,
        "close_date": opportunity.close_date,
        "pipeline_rate": rates.rate(opportunity.currency, created_date),
        "revenue_rate": rates.rate(opportunity.currency, opportunity.close_date)
        if opportunity.close_date
        else None,
    }


def _engine_opportunities(
    snapshot: list[dict[str, Any]], lead_times: dict[int, datetime]
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "opportunity_id": [r["opportunity_id"] for r in snapshot],
            "amount": [r["amount"] for r in snapshot],
            "created_at": [r["created_at"] for r in snapshot],
            "closed_at": [r["closed_at"] for r in snapshot],
            "is_closed": [r["is_closed"] for r in snapshot],
            "is_won": [r["is_won"] for r in snapshot],
            "lead_created_at": [lead_times.get(r["opportunity_id"]) for r in snapshot],
            "value": [
                None
                if r["amount"] is None or r["revenue_rate"] is None
                else float(r["amount"] * r["revenue_rate"])
                for r in snapshot
            ],
        },
        schema={
            "opportunity_id": pl.Int64,
            "amount": pl.Int64,
            "created_at": pl.Datetime("us", "UTC"),
            "closed_at": pl.Datetime("us", "UTC"),
            "is_closed": pl.Boolean,
            "is_won": pl.Boolean,
            "lead_created_at": pl.Datetime("us", "UTC"),
            "value": pl.Float64,
        },
    )


def _engine_touches(touches: pl.DataFrame) -> pl.DataFrame:
    """The touch's own person decides duplicates: its member, or its contact or lead."""
    person = (
        pl.when(pl.col("member_id").is_not_null())
        .then(pl.lit("member:") + pl.col("member_id").cast(pl.Utf8))
        .when(pl.col("contact_id").is_not_null())
        .then(pl.lit("contact:") + pl.col("contact_id").cast(pl.Utf8))
        .otherwise(pl.lit("lead:") + pl.col("lead_id").cast(pl.Utf8))
    )
    return touches.with_columns(person.alias("person")).select(
        "opportunity_id",
        "touch_id",
        "occurred_at",
        "source",
        "external_id",
        "activity_type",
        "category",
        "program",
        "is_community",
        "is_staff",
        "person",
        "weight",
    )


def _with_results(
    row: dict[str, Any],
    run: AttributionRun,
    flags: dict[str, Any] | None,
    attributed: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        **row,
        "run_id": run.id,
        **{flag: bool(flags and flags[flag]) for flag in _FLAGS},
        **{
            column: (attributed or {}).get(column) or default
            for column, default in _ATTRIBUTED_DEFAULTS.items()
        },
    }


_ATTRIBUTED_DEFAULTS: dict[str, Any] = {
    "pipeline_attributed": 0,
    "revenue_attributed": 0,
    "pipeline_attributed_any": False,
    "revenue_attributed_any": False,
}


def _credits_with_touch_attributes(credits: pl.DataFrame, touches: pl.DataFrame) -> pl.DataFrame:
    attributes = touches.select(
        "touch_id", "is_community", "activity_type_id", "program_id"
    ).unique("touch_id")
    return credits.join(attributes, on="touch_id", how="left")


def _community_credit_by_opportunity(credits: pl.DataFrame) -> dict[int, dict[str, Any]]:
    """Per opportunity and stage: community credit, and whether community got a non-zero share."""
    community = credits.filter(pl.col("is_community"))
    by_stage = community.group_by("opportunity_id").agg(
        *(
            expression
            for stage in ("pipeline", "revenue")
            for expression in (
                pl.col("amount")
                .filter(pl.col("stage") == stage)
                .sum()
                .alias(f"{stage}_attributed"),
                (pl.col("fraction").filter(pl.col("stage") == stage) > 0)
                .any()
                .alias(f"{stage}_attributed_any"),
            )
        )
    )
    return {row["opportunity_id"]: row for row in by_stage.iter_rows(named=True)}


def _credit_rows(credits: pl.DataFrame, run: AttributionRun) -> list[dict[str, Any]]:
    return credits.select(
        pl.lit(run.workspace_id).alias("workspace_id"),
        pl.lit(run.id).alias("run_id"),
        "stage",
        "opportunity_id",
        pl.col("touch_id").alias("touchpoint_id"),
        "is_community",
        "activity_type_id",
        "program_id",
        "fraction",
        "amount",
    ).to_dicts()


def _rollup_rows(credits: pl.DataFrame, run: AttributionRun) -> list[dict[str, Any]]:
    return (
        credits.group_by(
            "stage", "opportunity_id", "activity_type_id", "program_id", "is_community"
        )
        .agg(
            pl.len().alias("touches"),
            pl.col("fraction").sum(),
            pl.col("amount").sum(),
        )
        .select(
            pl.lit(run.workspace_id).alias("workspace_id"),
            pl.lit(run.id).alias("run_id"),
            pl.all(),
        )
        .to_dicts()
    )


def _channel_summary(
    channels: pl.DataFrame | None, stats: Mapping[str, int], unconverted: list[dict[str, Any]]
) -> dict[str, Any]:
    """The data-driven models' channel table (its global value leaves out won deals in a
    currency with no rate, listed apart under ``unconverted``), and for every model the
    engine's journey counts (duplicates dropped, staff touches excluded...) that the
    coverage report reads."""
    summary: dict[str, Any] = {"journey_stats": dict(stats)}
    if channels is not None:
        summary["channels"] = channels.to_dicts()
        summary["unconverted"] = unconverted
    return summary


def _unconverted(snapshot: list[dict[str, Any]], ids: tuple[int, ...]) -> list[dict[str, Any]]:
    """Per currency, the won amounts the engine could not convert (minor units)."""
    wanted = set(ids)
    totals: dict[str, list[int]] = {}
    for row in snapshot:
        if row["opportunity_id"] in wanted:
            entry = totals.setdefault(row["currency"], [0, 0])
            entry[0] += int(row["amount"] or 0)
            entry[1] += 1
    return [
        {"currency": currency, "amount": amount, "opportunities": count}
        for currency, (amount, count) in sorted(totals.items())
    ]


def get_run(session: Session, *, workspace_id: int, run_id: int) -> AttributionRun:
    run = repository.get_run(session, workspace_id, run_id)
    if run is None:
        raise NotFound(f"attribution run {run_id} not found")
    return run


def cancel_run(session: Session, *, run: AttributionRun, now: datetime) -> AttributionRun:
    queue.cancel(session, AttributionRun, job_id=run.id, now=now)
    session.refresh(run)
    return run


def credits(session: Session, *, run: AttributionRun, cursor: int, limit: int) -> CreditPage:
    rows = repository.credit_page(session, run_id=run.id, after=cursor, limit=limit)
    items = [
        CreditOut(
            stage=credit.stage,
            opportunity_source=opportunity.source,
            opportunity_external_id=opportunity.external_id,
            touchpoint_source=touch.source,
            touchpoint_external_id=touch.external_id,
            is_community=credit.is_community,
            fraction=credit.fraction,
            amount_minor=credit.amount,
            currency=opportunity.currency,
        )
        for credit, opportunity, touch in rows
    ]
    next_cursor = str(rows[-1][0].id) if len(rows) == limit else None
    return CreditPage(items=items, next_cursor=next_cursor)


def snapshot(
    session: Session, *, run: AttributionRun, cursor: int, limit: int
) -> RunOpportunityPage:
    rows = repository.snapshot_page(session, run_id=run.id, after=cursor, limit=limit)
    items = [
        RunOpportunityOut(
            source=opportunity.source,
            external_id=opportunity.external_id,
            amount_minor=copy.amount,
            currency=copy.currency,
            stage_name=copy.stage_name,
            created_date=copy.created_date,
            close_date=copy.close_date,
            is_won=copy.is_won,
            pipeline_influenced=copy.pipeline_influenced,
            revenue_influenced=copy.revenue_influenced,
            sourced=copy.sourced,
            accelerated=copy.accelerated,
        )
        for copy, opportunity in rows
    ]
    next_cursor = str(rows[-1][0].opportunity_id) if len(rows) == limit else None
    return RunOpportunityPage(items=items, next_cursor=next_cursor)


def run_attribution(
    session: Session, *, workspace: Workspace, request: RunCreate, now: datetime, settings: Settings
) -> AttributionRun:
    """Queue and execute a run in the caller's transaction."""
    run = queue_run(session, workspace=workspace, request=request, now=now)
    run.started_at = now
    return execute_run(session, workspace=workspace, run=run, now=now, settings=settings)
