"""Report figures: exact sums converted to the reporting currency and rounded half up once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext

from sqlalchemy.orm import Session

from app.exceptions import InvalidInput, NotFound
from app.models import AttributionRun, Workspace
from app.money import round_half_up
from app.reports import repository
from app.reports.repository import FLAG, RateGroup
from app.reports.schemas import Figure, StageSummary, Summary
from app.runs import repository as runs


def choose_run(
    session: Session, *, workspace_id: int, run_id: int | None, model: str | None
) -> AttributionRun:
    """An explicit run, else the latest successful run of the model (default linear)."""
    if run_id is not None:
        run = runs.get_run(session, workspace_id, run_id)
        if run is None:
            raise NotFound(f"attribution run {run_id} not found")
        return run
    model = model or "linear"
    run = runs.latest_run(session, workspace_id, model)
    if run is None:
        raise NotFound(
            f"no successful attribution run of model '{model}': POST /v1/attribution-runs"
        )
    return run


def to_figure(groups: list[RateGroup]) -> Figure:
    with localcontext() as context:
        context.prec = 60
        total = Decimal(0)
        unconverted: dict[str, int] = {}
        count = 0
        for currency, rate, amount, opportunities in groups:
            count += opportunities
            if rate is None:
                unconverted[currency] = unconverted.get(currency, 0) + amount
            else:
                total += Decimal(amount) * rate
        return Figure(
            amount_minor=round_half_up(total), opportunities=count, unconverted=unconverted
        )


def _stage(
    session: Session, run: AttributionRun, stage: str, period: tuple[date, date]
) -> StageSummary:
    where = repository.stage_filter(run.id, stage, *period)
    total = to_figure(repository.opportunity_sums(session, where, stage, None))
    attributed = to_figure(repository.attributed_sums(session, where, stage))
    figures = {
        name: to_figure(repository.opportunity_sums(session, where, stage, flags[stage]))
        for name, flags in FLAG.items()
    }
    return StageSummary(
        total=total,
        attributed=attributed,
        community_share=attributed.amount_minor / total.amount_minor
        if total.amount_minor
        else None,
        **figures,
    )


def summary(
    session: Session,
    *,
    workspace: Workspace,
    run: AttributionRun,
    period_from: date,
    period_to: date,
) -> Summary:
    if period_to < period_from:
        raise InvalidInput.at(("query", "to"), "must not be before 'from'")
    period = (period_from, period_to)
    return Summary(
        run_id=run.id,
        model=run.model,
        currency=workspace.reporting_currency,
        period_from=period_from,
        period_to=period_to,
        pipeline=_stage(session, run, "pipeline", period),
        revenue=_stage(session, run, "revenue", period),
    )
