"""Report figures: exact sums converted to the reporting currency and rounded half up once per
reported figure (DESIGN.md section 3, Fine print)."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import and_, bindparam, case, false, or_, select
from sqlalchemy.orm import Session

from app.currency import RateTable
from app.exceptions import InvalidInput, NotFound
from app.localtime import local_date
from app.models import Account, AttributionRun, Category, Opportunity, Program, Workspace
from app.models import RunOpportunity as RO
from app.money import exponent, round_half_up
from app.reports import repository, rollups, typos
from app.reports.apportion import apportion
from app.reports.apportion import round_half_up as apportion_round
from app.reports.filters import STAGES, FilterParams, ReportFilters, Stage
from app.reports.periods import Interval, bucket_of, clipped_buckets, preset_period
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
    check_model(model)
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
    check_model(model)
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


def check_model(model: str | None) -> None:
    """An unknown model name is a 422 listing the models, not a missing run."""
    if model is not None and model not in MODEL_NAMES:
        raise InvalidInput.at(
            ("query", "model"),
            f"unknown model {model!r}; {typos.suggestions(model, MODEL_NAMES)} "
            f"(models: {', '.join(MODEL_NAMES)})",
        )


def resolve_period(
    session: Session, *, workspace_id: int, params: FilterParams, now: datetime
) -> tuple[date, date]:
    """``from`` and ``to`` as given, or the dates of the ``period`` preset in the workspace's
    time zone and fiscal year (one more query, for the workspace)."""
    if params.preset is None:
        if params.period_from is None or params.period_to is None:
            missing = "from" if params.period_from is None else "to"
            raise InvalidInput.at(
                ("query", missing), "required: give from and to, or a period", "missing"
            )
        if params.period_to < params.period_from:
            raise InvalidInput.at(("query", "to"), "must not be before 'from'")
        return params.period_from, params.period_to
    if params.period_from is not None or params.period_to is not None:
        raise InvalidInput.at(("query", "period"), "give either a period or from and to, not both")
    workspace = get_workspace(session, workspace_id)
    today = local_date(now, ZoneInfo(workspace.time_zone))
    return preset_period(params.preset, today, workspace.fiscal_year_start_month)


def resolve_filters(
    session: Session,
    *,
    workspace: Workspace,
    params: FilterParams,
    period: tuple[date, date],
    run: AttributionRun | None = None,
) -> ReportFilters:
    """The filters, checked: every stage, pipeline and account must exist (in the run's
    snapshot, or the workspace's opportunities without a run); the amount range is checked at
    the edge (``filter_params``)."""
    run_id = None if run is None else run.id
    if params.stages:
        known = repository.known_values(session, workspace.id, run_id, "stage_name")
        typos.check_known("stage", params.stages, known, "stage")
    if params.pipelines:
        known = repository.known_values(session, workspace.id, run_id, "pipeline")
        typos.check_known("pipeline", params.pipelines, known, "pipeline")
    account_ids = None
    if params.account is not None:
        account_ids = repository.account_ids(session, workspace.id, params.account)
        if not account_ids:
            known = repository.account_external_ids(session, workspace.id)
            raise typos.unknown("account", params.account, known, "account (CRM id)")
    scale = exponent(workspace.reporting_currency)
    return ReportFilters(
        period_from=period[0],
        period_to=period[1],
        types=params.types,
        pipelines=params.pipelines,
        stages=params.stages,
        account_ids=account_ids,
        amount_min=None if params.amount_min is None else int(params.amount_min.scaleb(scale)),
        amount_max=None if params.amount_max is None else int(params.amount_max.scaleb(scale)),
    )


RowT = TypeVar("RowT", bound=BaseModel)
_EARLIEST, _LATEST = date(1, 1, 1), date(9998, 12, 31)  # "whatever the date" (whole months)

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


def _program_cost(program: Program, rates: RateTable, period_to: date) -> int | None:
    """The whole cost in the reporting currency, converted at the program's start (or end) date;
    an undated program's at the period's end, so that an answer never depends on the day asked."""
    on = program.start_date or program.end_date or period_to
    rate = rates.rate(program.currency, on)
    return None if rate is None else round_half_up(Decimal(program.cost) * rate)


def breakdown(
    session: Session,
    *,
    workspace: Workspace,
    run: AttributionRun,
    filters: ReportFilters,
    dimension: str,
    sort: str | None = None,
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
    costs = _program_costs(session, workspace, filters) if dimension == "program" else {}
    lifetime = _lifetime_program_revenue(session, run, filters) if dimension == "program" else {}
    rows = [
        _breakdown_row(
            labels.get(key, {"key": str(key), "name": str(key)}),
            values,
            costs.get(key),
            lifetime.get(key, 0) if dimension == "program" else None,
        )
        for key, values in columns.items()
    ]
    if dimension == "program":
        covered = set(columns)
        rows += [
            _breakdown_row(labels[key], {}, costs.get(key), lifetime.get(key, 0))
            for key in labels
            if key not in covered
        ]
    rows.sort(
        key=lambda row: (-row.revenue_attributed_minor, -row.pipeline_attributed_minor, row.key)
    )
    rows = sort_rows(rows, sort, BreakdownRow)
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


@dataclass(frozen=True)
class _ProgramCost:
    """A program's cost in the reporting currency: whole, and prorated to the period by the
    days of its dates in it (None without dates or without a rate)."""

    whole: int | None
    prorated: int | None


def _program_costs(
    session: Session, workspace: Workspace, filters: ReportFilters
) -> dict[int, _ProgramCost]:
    rates = RateTable(runs.exchange_rates(session, workspace.id), workspace.reporting_currency)
    return {
        p.id: _ProgramCost(
            _program_cost(p, rates, filters.period_to), _prorated_cost(p, rates, filters)
        )
        for p in repository.programs(session, workspace.id)
    }


def _prorated_cost(program: Program, rates: RateTable, filters: ReportFilters) -> int | None:
    """The cost times the share of the program's days (its dates, inclusive) in the period,
    converted and rounded half up once."""
    start = program.start_date or program.end_date
    end = program.end_date or program.start_date
    if start is None or end is None:
        return None
    rate = rates.rate(program.currency, start)
    if rate is None:
        return None
    days = (end - start).days + 1
    inside = (min(end, filters.period_to) - max(start, filters.period_from)).days + 1
    share = Decimal(max(inside, 0)) / Decimal(days) if days > 0 else Decimal(0)
    return apportion_round(_EXACT.multiply(_EXACT.multiply(Decimal(program.cost), rate), share))


def _lifetime_program_revenue(
    session: Session, run: AttributionRun, filters: ReportFilters
) -> dict[Any, int]:
    """Per program, all the revenue credited to its touches whatever the close date (the
    other filters kept), rounded half up once."""
    lifetime = dataclasses.replace(filters, period_from=_EARLIEST, period_to=_LATEST)
    if rollups.covers(lifetime):
        credited = rollups.read_stages(
            session, run_id=run.id, stages=("revenue",), filters=lifetime, dimension="program"
        )["revenue"].get("credited", [])
    else:
        credited = repository.breakdown_measures(
            session, lifetime.where(run.id, "revenue"), "revenue", "program"
        )["credited"]
    return {key: _rounded(amount) for key, (amount, _) in _exact_by_key(credited).items()}


_ZERO_COLUMNS = {
    f"{stage}_{measure}_{unit}": 0
    for stage in STAGES
    for measure in ("influenced", "attributed")
    for unit in ("minor", "opportunities")
}


def _ratios(revenue: int, cost: int | None) -> tuple[float | None, float | None]:
    """(ROI, revenue multiple) of a revenue against a cost; None without a positive cost."""
    if not cost:
        return None, None
    return float((Decimal(revenue) - cost) / cost), float(Decimal(revenue) / cost)


def _breakdown_row(
    label: dict[str, Any],
    values: dict[str, Any],
    cost: _ProgramCost | None,
    lifetime_revenue: int | None = None,
) -> BreakdownRow:
    row = BreakdownRow(**label, **{**_ZERO_COLUMNS, **values})
    if lifetime_revenue is not None:
        row.lifetime_revenue_attributed_minor = lifetime_revenue
    if cost is None:
        return row
    row.cost_minor = cost.whole
    row.roi, row.revenue_multiple = _ratios(row.revenue_attributed_minor, cost.whole)
    if lifetime_revenue is not None:
        row.lifetime_roi, row.lifetime_revenue_multiple = _ratios(lifetime_revenue, cost.whole)
    row.prorated_cost_minor = cost.prorated
    row.prorated_roi, row.prorated_revenue_multiple = _ratios(
        row.revenue_attributed_minor, cost.prorated
    )
    return row


def sort_rows(rows: list[RowT], sort: str | None, model: type[BaseModel]) -> list[RowT]:
    """Rows ordered by ``sort``: comma-separated columns, each descending with a leading
    ``-``; nulls last either way. An unknown column is a 422 naming close ones."""
    if not sort:
        return rows
    fields = list(model.model_fields)
    ordered = list(rows)
    for part in reversed([p.strip() for p in sort.split(",") if p.strip()]):
        descending = part.startswith("-")
        field = part.lstrip("-+")
        if field not in fields:
            raise typos.unknown("sort", field, fields, "column")
        present = [r for r in ordered if getattr(r, field) is not None]
        absent = [r for r in ordered if getattr(r, field) is None]
        present.sort(key=lambda r: getattr(r, field), reverse=descending)
        ordered = present + absent
    return ordered


def accounts(
    session: Session,
    *,
    workspace: Workspace,
    run: AttributionRun,
    filters: ReportFilters,
    sort: str | None = None,
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
    return AccountBreakdown(
        **_header(run, workspace, filters), rows=sort_rows(rows, sort, AccountRow)
    )


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
    periods = list(clipped_buckets(filters.period_from, filters.period_to, interval, fiscal))
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


def opportunity_by_crm_id(
    session: Session, *, workspace_id: int, external_id: str, source: str | None
) -> int:
    """The internal id of the opportunity with this CRM id (and source, when given)."""
    found = repository.opportunity_ids_by_external_id(session, workspace_id, external_id, source)
    if not found:
        raise NotFound(f"no opportunity with CRM id {external_id!r}")
    if len(found) > 1:
        sources = ", ".join(sorted(s for _, s in found))
        raise InvalidInput.at(
            ("query", "source"), f"CRM id {external_id!r} is in several CRMs ({sources}): name one"
        )
    return found[0][0]


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
