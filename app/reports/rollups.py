"""Per-run report rollups: written once when a run finishes, by the same queries reports run on
the opportunity rows, so both paths give the same figures to the cent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select
from sqlalchemy.orm import Session

from app.models import AttributionRun, ReportRollup
from app.models import RunOpportunity as RO
from app.reports import repository
from app.reports.filters import STAGES, ReportFilters, Stage
from app.reports.repository import BREAKDOWN_KEYS, DATE_OF_STAGE, Group

EVERYTHING = ReportFilters(period_from=date.min, period_to=date.max)


def _key_text(value: Any) -> str:
    return "" if value is None else str(value)


def write(session: Session, *, run: AttributionRun) -> None:
    rows: list[dict[str, Any]] = []
    for stage in STAGES:
        where = EVERYTHING.where(run.id, stage)
        by_day_and_type = (DATE_OF_STAGE[stage], RO.type)
        measures = repository.stage_measures(session, where, stage, key=by_day_and_type)
        rows += _rows(run, stage, "", measures)
        for dimension in BREAKDOWN_KEYS:
            keyed = repository.breakdown_measures(
                session, where, stage, dimension, also_by=by_day_and_type
            )
            rows += _rows(run, stage, dimension, keyed)
    rows += _months(rows)
    if rows:
        session.execute(insert(ReportRollup), rows)


def _months(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The day rows summed per calendar month (every measure is a sum, counts included: an
    opportunity falls on one day of a stage)."""
    months: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in days:
        first = row["day"].replace(day=1)
        key = (
            row["stage"],
            row["dimension"],
            row["key"],
            first,
            row["type"],
            row["currency"],
            row["rate"],
            row["measure"],
        )
        month = months.setdefault(
            key, {**row, "span": "month", "day": first, "amount": 0, "opportunities": 0}
        )
        month["amount"] += row["amount"]
        month["opportunities"] += row["opportunities"]
    return list(months.values())


def _spans(start: date, end: date) -> list[tuple[str, date, date]]:
    """Whole months of [start, end] from month rows, the days at its edges from day rows."""
    first_full = start if start.day == 1 else _month_after(start)
    after_last_full = (
        _month_after(end) if _month_after(end) - timedelta(days=1) == end else end.replace(day=1)
    )
    if first_full >= after_last_full:
        return [("day", start, end)]
    spans = [("month", first_full, after_last_full - timedelta(days=1))]
    if start < first_full:
        spans.append(("day", start, first_full - timedelta(days=1)))
    if after_last_full <= end:
        spans.append(("day", after_last_full, end))
    return spans


def _month_after(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _rows(
    run: AttributionRun, stage: Stage, dimension: str, measures: dict[str, list[Group]]
) -> list[dict[str, Any]]:
    return [
        {
            "workspace_id": run.workspace_id,
            "run_id": run.id,
            "stage": stage,
            "dimension": dimension,
            "key": _key_text(key[0]) if dimension else "",
            "span": "day",
            "day": key[-2],
            "type": key[-1],
            "currency": currency,
            "rate": rate,
            "measure": measure,
            "amount": amount,
            "opportunities": count,
        }
        for measure, groups in measures.items()
        for key, currency, rate, amount, count in groups
        if count or amount
    ]


def covers(filters: ReportFilters) -> bool:
    """Rollups answer periods and opportunity types; any other filter reads the rows."""
    return not (
        filters.pipelines
        or filters.stages
        or filters.account_ids is not None
        or filters.amount_min is not None
        or filters.amount_max is not None
    )


_KEY_TYPES: dict[str, Callable[[str], Any]] = {
    "activity_type": int,
    "program": int,
    "channel": lambda text: text == "True",
}


_TABLE = ReportRollup.__table__
_NO_SPAN = ("", date.min, date.min)  # pads the statement's three spans; matches no row


def _read_statement(by_day: bool, typed: bool) -> Any:
    """Measures of some stages summed over up to three (span, first day, last day) ranges, per
    stage, key (or day), currency, rate and measure; built once, then only bound."""
    column = _TABLE.c
    key_column = column.day if by_day else column.key
    conditions = [
        column.run_id == bindparam("run_id"),
        column.stage.in_(bindparam("stages", expanding=True)),
        column.dimension == bindparam("dimension"),
        or_(
            *(
                and_(
                    column.span == bindparam(f"span_{n}"),
                    column.day.between(bindparam(f"first_{n}"), bindparam(f"last_{n}")),
                )
                for n in range(3)
            )
        ),
    ]
    if typed:
        conditions.append(column.type.in_(bindparam("types", expanding=True)))
    grouping = (column.stage, key_column, column.currency, column.rate, column.measure)
    return (
        select(*grouping, func.sum(column.amount), func.sum(column.opportunities))
        .where(*conditions)
        .group_by(*grouping)
    )


_READ = {
    (by_day, typed): _read_statement(by_day, typed)
    for by_day in (False, True)
    for typed in (False, True)
}


def read_stages(
    session: Session,
    *,
    run_id: int,
    stages: tuple[Stage, ...],
    filters: ReportFilters,
    dimension: str = "",
    by_day: bool = False,
    days_only: bool = False,
) -> dict[Stage, dict[str, list[Group]]]:
    """Per stage, in one query, the measures summed over the period and types, grouped by
    breakdown key (or by day: the first day of a whole month stands for it, unless ``days_only``)
    and rate."""
    spans = (
        [("day", filters.period_from, filters.period_to)]
        if days_only
        else _spans(filters.period_from, filters.period_to)
    )
    parameters: dict[str, Any] = {"run_id": run_id, "stages": list(stages), "dimension": dimension}
    for n, (span, first, last) in enumerate([*spans, _NO_SPAN, _NO_SPAN][:3]):
        parameters.update({f"span_{n}": span, f"first_{n}": first, f"last_{n}": last})
    if filters.types:
        parameters["types"] = list(filters.types)
    rows = session.connection().execute(_READ[(by_day, bool(filters.types))], parameters).all()
    convert: Callable[[str], Any] | None = (
        None if by_day or not dimension else _KEY_TYPES.get(dimension, str)
    )
    measures: dict[Stage, dict[str, list[Group]]] = {stage: {} for stage in stages}
    for stage, key, currency, rate, measure, amount, count in rows:
        group_key = key if by_day else (convert(str(key)) if convert else None)
        measures[stage].setdefault(measure, []).append(
            (group_key, currency, rate, int(amount), int(count))
        )
    return measures


def read(
    session: Session,
    *,
    run_id: int,
    stage: Stage,
    filters: ReportFilters,
    dimension: str = "",
    by_day: bool = False,
    days_only: bool = False,
) -> dict[str, list[Group]]:
    """One stage's measures (see ``read_stages``)."""
    return read_stages(
        session,
        run_id=run_id,
        stages=(stage,),
        filters=filters,
        dimension=dimension,
        by_day=by_day,
        days_only=days_only,
    )[stage]
