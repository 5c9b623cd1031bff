"""Per-run report rollups: written once when a run finishes, by the same queries reports run on
the opportunity rows, so both paths give the same figures to the cent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import and_, func, insert, select
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
    if rows:
        session.execute(insert(ReportRollup), rows)


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


def read(
    session: Session,
    *,
    run_id: int,
    stage: Stage,
    filters: ReportFilters,
    dimension: str = "",
    by_day: bool = False,
) -> dict[str, list[Group]]:
    """Measures summed over the period and types, grouped by breakdown key (or by day) and rate."""
    key_column = ReportRollup.day if by_day else ReportRollup.key
    conditions = [
        ReportRollup.run_id == run_id,
        ReportRollup.stage == stage,
        ReportRollup.dimension == dimension,
        ReportRollup.day.between(filters.period_from, filters.period_to),
    ]
    if filters.types:
        conditions.append(ReportRollup.type.in_(filters.types))
    query = (
        select(
            key_column,
            ReportRollup.currency,
            ReportRollup.rate,
            ReportRollup.measure,
            func.sum(ReportRollup.amount),
            func.sum(ReportRollup.opportunities),
        )
        .where(and_(*conditions))
        .group_by(key_column, ReportRollup.currency, ReportRollup.rate, ReportRollup.measure)
    )
    convert: Callable[[str], Any] = _KEY_TYPES.get(dimension, str)
    measures: dict[str, list[Group]] = {}
    for key, currency, rate, measure, amount, count in session.execute(query):
        group_key = key if by_day else (convert(str(key)) if dimension else None)
        measures.setdefault(measure, []).append(
            (group_key, currency, rate, int(amount), int(count))
        )
    return measures
