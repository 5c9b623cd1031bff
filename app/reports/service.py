"""Report figures: exact sums converted to the reporting currency and rounded half up once per
reported figure (DESIGN.md section 3, Fine print)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from sqlalchemy import and_, bindparam, case, false, or_, select
from sqlalchemy.orm import Session

from app.currency import RateTable
from app.exceptions import InvalidInput, NotFound
from app.models import Account, AttributionRun, Category, Opportunity, Program, Workspace
from app.models import RunOpportunity as RO
from app.money import exponent, round_half_up
from app.reports import repository, rollups
from app.reports.apportion import apportion
from app.reports.filters import STAGES, FilterParams, ReportFilters, Stage
from app.reports.periods import Interval, bucket_of, buckets
from app.reports.repository import DATE_OF_STAGE, Group
from app.reports.schemas import (
    AccountBreakdown,
    AccountRow,
    Breakdown,
    BreakdownRow,
    Figure,
    Journey,
    JourneyTouch,
    ModelComparison,
    ModelComparisonReport,
    OpportunityPage,
    OpportunityRow,
    StageSummary,
    Summary,
    Timeseries,
    TimeseriesRow,
)
from app.runs import repository as runs
from app.workspaces.service import get_workspace
from attribution import MODEL_NAMES


def _choice(with_period: bool) -> Any:
    """The run ``choose_run`` reads, and its workspace, in one query: the model's frozen run
    covering the period (newest first, as app.runs.freeze.frozen_covering), else its latest
    default run, else its latest run."""
    covering = (
        and_(
            AttributionRun.frozen_from.is_not(None),
            AttributionRun.frozen_from <= bindparam("start"),
            AttributionRun.frozen_to >= bindparam("end"),
        )
        if with_period
        else false()
    )
    tier = case(
        (covering, 0),
        (and_(AttributionRun.status == "succeeded", AttributionRun.is_default.is_(True)), 1),
        else_=2,
    )
    return (
        select(AttributionRun, Workspace)
        .join(Workspace, Workspace.id == AttributionRun.workspace_id)
        .where(
            AttributionRun.workspace_id == bindparam("workspace_id"),
            AttributionRun.model == bindparam("model"),
            or_(covering, AttributionRun.status == "succeeded"),
        )
        .order_by(tier, AttributionRun.id.desc())
        .limit(1)
    )


_CHOICE = {with_period: _choice(with_period) for with_period in (False, True)}
_EXPLICIT = (
    select(AttributionRun, Workspace)
    .join(Workspace, Workspace.id == AttributionRun.workspace_id)
    .where(
        AttributionRun.workspace_id == bindparam("workspace_id"),
        AttributionRun.id == bindparam("run_id"),
    )
)


def workspace_and_run(
    session: Session,
    *,
    workspace_id: int,
    run_id: int | None,
    model: str | None,
    period: tuple[date, date] | None = None,
) -> tuple[Workspace, AttributionRun]:
    """The workspace and ``choose_run``'s run, in one query when the run exists."""
    if run_id is not None:
        found = session.execute(_EXPLICIT, {"workspace_id": workspace_id, "run_id": run_id}).first()
        if found is not None and found[0].status == "succeeded":
            return found[1], found[0]
        get_workspace(session, workspace_id)
        raise NotFound(f"no finished attribution run {run_id}")
    model = model or "linear"
    found = _chosen(session, workspace_id, model, period)
    if found is None:
        get_workspace(session, workspace_id)
        raise NotFound(
            f"no successful attribution run of model '{model}': POST /v1/attribution-runs"
        )
    return found[1], found[0]


def _chosen(
    session: Session, workspace_id: int, model: str, period: tuple[date, date] | None
) -> Any:
    """The (run, workspace) row of ``_choice``, or None."""
    parameters: dict[str, Any] = {"workspace_id": workspace_id, "model": model}
    if period:
        parameters.update(start=period[0], end=period[1])
    return session.execute(_CHOICE[bool(period)], parameters).first()


def choose_run(
    session: Session,
    *,
    workspace_id: int,
    run_id: int | None,
    model: str | None,
    period: tuple[date, date] | None = None,
) -> AttributionRun:
    """An explicit run; else, for the model (default linear), the frozen run covering the period,
    else its latest default run, else its latest run."""
    if run_id is not None:
        run = runs.get_run(session, workspace_id, run_id)
        if run is None or run.status != "succeeded":
            raise NotFound(f"no finished attribution run {run_id}")
        return run
    model = model or "linear"
    found = _chosen(session, workspace_id, model, period)
    if found is None:
        raise NotFound(
            f"no successful attribution run of model '{model}': POST /v1/attribution-runs"
        )
    chosen: AttributionRun = found[0]
    return chosen


def resolve_filters(
    session: Session, *, workspace: Workspace, params: FilterParams
) -> ReportFilters:
    if params.period_to < params.period_from:
        raise InvalidInput.at(("query", "to"), "must not be before 'from'")
    scale = exponent(workspace.reporting_currency)
    return ReportFilters(
        period_from=params.period_from,
        period_to=params.period_to,
        types=params.types,
        pipelines=params.pipelines,
        stages=params.stages,
        account_ids=None
        if params.account is None
        else repository.account_ids(session, workspace.id, params.account),
        amount_min=None if params.amount_min is None else int(params.amount_min.scaleb(scale)),
        amount_max=None if params.amount_max is None else int(params.amount_max.scaleb(scale)),
    )


_EXACT = Context(prec=60)  # sums of amount * rate never round before the one rounding
_ONE = Decimal(1)


def _converted(groups: Iterable[Group]) -> tuple[Decimal, dict[str, int], int]:
    total = Decimal(0)
    unconverted: dict[str, int] = {}
    count = 0
    add, multiply = _EXACT.add, _EXACT.multiply
    for _key, currency, rate, amount, opportunities in groups:
        count += opportunities
        if rate is None:
            unconverted[currency] = unconverted.get(currency, 0) + amount
        else:
            total = add(total, multiply(Decimal(amount), rate))
    return total, unconverted, count


def _rounded(total: Decimal) -> int:
    """``round_half_up`` at the sums' precision."""
    return int(total.quantize(_ONE, rounding=ROUND_HALF_UP, context=_EXACT))


def to_figure(groups: Iterable[Group]) -> Figure:
    total, unconverted, count = _converted(groups)
    return Figure(amount_minor=_rounded(total), opportunities=count, unconverted=unconverted)


def by_key(groups: Iterable[Group]) -> dict[Any, Figure]:
    grouped: dict[Any, list[Group]] = defaultdict(list)
    for group in groups:
        grouped[group[0]].append(group)
    return {key: to_figure(rows) for key, rows in grouped.items()}


def _header(run: AttributionRun, workspace: Workspace, filters: ReportFilters) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "model": run.model,
        "currency": workspace.reporting_currency,
        "period_from": filters.period_from,
        "period_to": filters.period_to,
    }


def _stage_summaries(
    session: Session, run: AttributionRun, filters: ReportFilters
) -> dict[Stage, StageSummary]:
    if rollups.covers(filters):
        by_stage = rollups.read_stages(session, run_id=run.id, stages=STAGES, filters=filters)
    else:
        by_stage = {
            stage: repository.stage_measures(session, filters.where(run.id, stage), stage)
            for stage in STAGES
        }
    return {stage: _stage_summary(measures) for stage, measures in by_stage.items()}


def _stage_summary(measures: dict[str, list[Group]]) -> StageSummary:
    figures = {name: to_figure(measures.get(name, [])) for name in repository.MEASURES}
    total, attributed = figures["total"], figures["attributed"]
    return StageSummary(
        **figures,
        community_share=attributed.amount_minor / total.amount_minor
        if total.amount_minor
        else None,
    )


def summary(
    session: Session, *, workspace: Workspace, run: AttributionRun, filters: ReportFilters
) -> Summary:
    stages = _stage_summaries(session, run, filters)
    return Summary(
        **_header(run, workspace, filters),
        pipeline=stages["pipeline"],
        revenue=stages["revenue"],
    )


def _labels(session: Session, workspace: Workspace, dimension: str) -> dict[Any, dict[str, Any]]:
    if dimension == "activity_type":
        return {
            id_: {"key": key, "name": name, "category": str(category)}
            for id_, key, name, category in repository.activity_type_labels(session, workspace.id)
        }
    if dimension == "program":
        return {
            p.id: {"key": p.key, "name": p.name} for p in repository.programs(session, workspace.id)
        }
    if dimension == "channel":
        return {
            True: {"key": "community", "name": "Community"},
            False: {"key": "marketing", "name": "Marketing"},
        }
    return {
        category.value: {
            "key": category.value,
            "name": category.value.title(),
            "category": category.value,
        }
        for category in Category
    }


def _program_cost(program: Program, rates: RateTable) -> int | None:
    """The whole cost in the reporting currency, converted at the program's start (or end) date."""
    on = program.start_date or program.end_date
    rate = rates.rate(program.currency, on) if on else rates.rate(program.currency, date.today())
    return None if rate is None else round_half_up(Decimal(program.cost) * rate)


def breakdown(
    session: Session,
    *,
    workspace: Workspace,
    run: AttributionRun,
    filters: ReportFilters,
    dimension: str,
) -> Breakdown:
    columns: dict[Any, dict[str, Any]] = defaultdict(dict)
    if rollups.covers(filters):
        by_stage = rollups.read_stages(
            session, run_id=run.id, stages=STAGES, filters=filters, dimension=dimension
        )
    else:
        by_stage = {
            stage: repository.breakdown_measures(
                session, filters.where(run.id, stage), stage, dimension
            )
            for stage in STAGES
        }
    labels = _labels(session, workspace, dimension)
    for stage in STAGES:
        measures = by_stage[stage]
        for key, figure in by_key(measures.get("touched", [])).items():
            columns[key][f"{stage}_influenced_minor"] = figure.amount_minor
            columns[key][f"{stage}_influenced_opportunities"] = figure.opportunities
        credited = _exact_by_key(measures.get("credited", []))
        for key, (amount, count) in credited.items():
            columns[key][f"{stage}_attributed_minor"] = amount
            columns[key][f"{stage}_attributed_opportunities"] = count
        _apportion_rows(
            columns,
            f"{stage}_attributed_minor",
            _addends(dimension, labels),
            lambda key: str(labels.get(key, {}).get("key", key)),
        )
    costs = _program_costs(session, workspace) if dimension == "program" else {}
    rows = [
        _breakdown_row(labels.get(key, {"key": str(key), "name": str(key)}), values, costs.get(key))
        for key, values in columns.items()
    ]
    if dimension == "program":
        covered = set(columns)
        rows += [
            _breakdown_row(labels[key], {}, costs.get(key)) for key in labels if key not in covered
        ]
    rows.sort(
        key=lambda row: (-row.revenue_attributed_minor, -row.pipeline_attributed_minor, row.key)
    )
    return Breakdown(
        **_header(run, workspace, filters),
        dimension=dimension,
        non_additive_columns=[
            "pipeline_influenced_minor",
            "pipeline_influenced_opportunities",
            "revenue_influenced_minor",
            "revenue_influenced_opportunities",
        ],
        rows=rows,
    )


def _exact_by_key(groups: Iterable[Group]) -> dict[Any, tuple[Decimal, int]]:
    """Per key, the exact converted sum (not rounded yet) and the opportunities counted."""
    grouped: dict[Any, list[Group]] = defaultdict(list)
    for group in groups:
        grouped[group[0]].append(group)
    exact = {}
    for key, rows in grouped.items():
        total, _unconverted, count = _converted(rows)
        exact[key] = (total, count)
    return exact


def _addends(dimension: str, labels: dict[Any, dict[str, Any]]) -> Callable[[Any], Any] | None:
    """Which rows add up to one of the report's totals: community rows to the attributed
    figure, marketing rows to the marketing credit. Programs are not additive (a touch may
    belong to none): each row is rounded on its own."""
    if dimension == "program":
        return None
    if dimension == "category":
        return lambda key: key == "marketing"
    if dimension == "activity_type":
        return lambda key: labels.get(key, {}).get("category") == "marketing"
    return lambda key: key


def _apportion_rows(
    columns: dict[Any, dict[str, Any]],
    column: str,
    group_of: Callable[[Any], Any] | None,
    order: Callable[[Any], str],
) -> None:
    """Round one column's exact sums in place: by largest remainder within each group of rows
    (ties in the order of the rows' keys), so that the group sums exactly to its total
    rounded half up once."""
    keys = sorted((k for k in columns if column in columns[k]), key=order)
    groups: dict[Any, list[Any]] = defaultdict(list)
    for key in keys:
        groups[None if group_of is None else group_of(key)].append(key)
    for members in groups.values():
        if group_of is None:
            for key in members:
                columns[key][column] = _rounded(columns[key][column])
            continue
        for key, amount in zip(
            members, apportion([columns[k][column] for k in members]), strict=True
        ):
            columns[key][column] = amount


def _program_costs(session: Session, workspace: Workspace) -> dict[int, int | None]:
    rates = RateTable(runs.exchange_rates(session, workspace.id), workspace.reporting_currency)
    return {p.id: _program_cost(p, rates) for p in repository.programs(session, workspace.id)}


_ZERO_COLUMNS = {
    f"{stage}_{measure}_{unit}": 0
    for stage in STAGES
    for measure in ("influenced", "attributed")
    for unit in ("minor", "opportunities")
}


def _breakdown_row(label: dict[str, Any], values: dict[str, Any], cost: int | None) -> BreakdownRow:
    row = BreakdownRow(**label, **{**_ZERO_COLUMNS, **values})
    if cost:
        revenue = Decimal(row.revenue_attributed_minor)
        row.cost_minor = cost
        row.roi = float((revenue - cost) / cost)
        row.revenue_multiple = float(revenue / cost)
    elif cost == 0:
        row.cost_minor = 0
    return row


def accounts(
    session: Session, *, workspace: Workspace, run: AttributionRun, filters: ReportFilters
) -> AccountBreakdown:
    values: dict[Any, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_ACCOUNT_COLUMNS, 0))
    for stage in STAGES:
        measures = repository.stage_measures(
            session, filters.where(run.id, stage), stage, key=RO.account_id
        )
        for measure in ("total", "influenced", "attributed"):
            for key, figure in by_key(measures[measure]).items():
                values[key][f"{stage}_{measure}_minor"] = figure.amount_minor
                if measure == "total":
                    values[key][f"{stage}_opportunities"] = figure.opportunities
    names = repository.accounts(session, [k for k in values if k is not None])
    rows = [
        AccountRow(
            account_external_id=names.get(key, (None, None))[0],
            account_name=names.get(key, (None, None))[1],
            **columns,
        )
        for key, columns in values.items()
    ]
    rows.sort(
        key=lambda r: (-r.revenue_total_minor, -r.pipeline_total_minor, r.account_external_id or "")
    )
    return AccountBreakdown(**_header(run, workspace, filters), rows=rows)


_ACCOUNT_COLUMNS = [
    f"{stage}_{measure}"
    for stage in STAGES
    for measure in ("total_minor", "influenced_minor", "attributed_minor", "opportunities")
]


_TIMESERIES_COLUMNS = [
    f"{stage}_{measure}_minor"
    for stage in STAGES
    for measure in ("total", "influenced", "sourced", "attributed")
]


def timeseries(
    session: Session,
    *,
    workspace: Workspace,
    run: AttributionRun,
    filters: ReportFilters,
    interval: Interval,
) -> Timeseries:
    fiscal = workspace.fiscal_year_start_month
    grouped: dict[tuple[str, str], list[Group]] = defaultdict(list)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    if rollups.covers(filters):
        by_stage = rollups.read_stages(
            session,
            run_id=run.id,
            stages=STAGES,
            filters=filters,
            by_day=True,
            days_only=interval == "week",
        )
    else:
        by_stage = {
            stage: repository.stage_measures(
                session, filters.where(run.id, stage), stage, key=DATE_OF_STAGE[stage]
            )
            for stage in STAGES
        }
    for stage in STAGES:
        measures = by_stage[stage]
        for measure in ("total", "influenced", "sourced", "attributed"):
            for group in measures.get(measure, []):
                label = bucket_of(group[0], interval, fiscal)[0]
                grouped[(label, f"{stage}_{measure}_minor")].append(group)
                if measure == "total":
                    counts[(label, f"{stage}_opportunities")] += group[4]
    periods = list(buckets(filters.period_from, filters.period_to, interval, fiscal))
    # Every column adds up over the buckets (an opportunity falls in one): largest remainder.
    amounts = {
        column: apportion(
            [_converted(grouped.get((label, column), ()))[0] for label, _, _ in periods]
        )
        for column in _TIMESERIES_COLUMNS
    }
    rows = [
        TimeseriesRow(
            bucket=label,
            bucket_start=start,
            bucket_end=end,
            pipeline_opportunities=counts[(label, "pipeline_opportunities")],
            revenue_opportunities=counts[(label, "revenue_opportunities")],
            **{column: amounts[column][index] for column in _TIMESERIES_COLUMNS},
        )
        for index, (label, start, end) in enumerate(periods)
    ]
    return Timeseries(**_header(run, workspace, filters), interval=interval, rows=rows)


def _opportunity_row(
    ro: RO, opportunity: Opportunity, account: Account | None, basis: Stage
) -> OpportunityRow:
    rate = ro.pipeline_rate if basis == "pipeline" else ro.revenue_rate
    return OpportunityRow(
        id=ro.opportunity_id,
        source=opportunity.source,
        external_id=opportunity.external_id,
        name=opportunity.name,
        account_external_id=account.external_id if account else None,
        account_name=account.name if account else None,
        type=ro.type,
        stage_name=ro.stage_name,
        pipeline=ro.pipeline,
        currency=ro.currency,
        amount_minor=ro.amount,
        amount_reporting_minor=None
        if ro.amount is None or rate is None
        else round_half_up(Decimal(ro.amount) * rate),
        created_date=ro.created_date,
        close_date=ro.close_date,
        is_closed=ro.is_closed,
        is_won=ro.is_won,
        pipeline_influenced=ro.pipeline_influenced,
        revenue_influenced=ro.revenue_influenced,
        sourced=ro.sourced,
        accelerated=ro.accelerated,
        pipeline_attributed_minor=ro.pipeline_attributed,
        revenue_attributed_minor=ro.revenue_attributed,
    )


def opportunities(
    session: Session,
    *,
    workspace: Workspace,
    run: AttributionRun,
    filters: ReportFilters,
    basis: Stage,
    cursor: int,
    limit: int,
) -> OpportunityPage:
    rows = repository.opportunity_page(
        session, filters.where(run.id, basis), after=cursor, limit=limit
    )
    return OpportunityPage(
        **_header(run, workspace, filters),
        basis=basis,
        items=[_opportunity_row(*row, basis=basis) for row in rows],
        next_cursor=str(rows[-1][0].opportunity_id) if len(rows) == limit else None,
    )


def journey(session: Session, *, run: AttributionRun, opportunity_id: int) -> Journey:
    found = repository.snapshot_of(session, run.id, opportunity_id)
    if found is None:
        raise NotFound(f"opportunity {opportunity_id} is not in attribution run {run.id}")
    touches: dict[str, list[JourneyTouch]] = {"pipeline": [], "revenue": []}
    for (
        stage,
        source,
        external_id,
        occurred_at,
        person,
        activity,
        category,
        program,
        community,
        fraction,
        amount,
    ) in repository.journey(session, run.id, opportunity_id):
        touches[stage].append(
            JourneyTouch(
                touchpoint_source=source,
                touchpoint_external_id=external_id,
                occurred_at=occurred_at,
                person=person,
                activity_type=activity,
                category=str(category),
                program=program,
                is_community=community,
                fraction=fraction,
                credit_minor=amount,
            )
        )
    return Journey(
        run_id=run.id,
        model=run.model,
        opportunity=_opportunity_row(*found, basis="pipeline"),
        pipeline=touches["pipeline"],
        revenue=touches["revenue"],
    )


def compare_models(
    session: Session, *, workspace: Workspace, filters: ReportFilters
) -> ModelComparisonReport:
    rows: list[ModelComparison] = []
    totals = {"pipeline": 0, "revenue": 0}
    for model in MODEL_NAMES:
        run = runs.latest_run(session, workspace.id, model)
        if run is None:
            continue
        figures = _stage_summaries(session, run, filters)
        totals = {stage: figures[stage].total.amount_minor for stage in STAGES}
        rows.append(
            ModelComparison(
                model=model,
                run_id=run.id,
                parameters=run.parameters,
                pipeline_attributed_minor=figures["pipeline"].attributed.amount_minor,
                pipeline_attributed_opportunities=figures["pipeline"].attributed.opportunities,
                revenue_attributed_minor=figures["revenue"].attributed.amount_minor,
                revenue_attributed_opportunities=figures["revenue"].attributed.opportunities,
                pipeline_share=figures["pipeline"].community_share,
                revenue_share=figures["revenue"].community_share,
            )
        )
    return ModelComparisonReport(
        currency=workspace.reporting_currency,
        period_from=filters.period_from,
        period_to=filters.period_to,
        pipeline_total_minor=totals["pipeline"],
        revenue_total_minor=totals["revenue"],
        rows=rows,
    )
