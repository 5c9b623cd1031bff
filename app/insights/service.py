"""Lift (win rate, deal size and speed with and without community, within account-size bands)
and coverage (how far the data behind every other report can be trusted)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, localcontext
from typing import Any, Literal

import numpy as np
import polars as pl
from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from app.insights import differences, repository, retention
from app.insights.bands import BandBy, band_labels, band_of
from app.insights.duplicates import duplicate_mask
from app.insights.repository import Deal
from app.insights.schemas import (
    AmountIssue,
    CoverageReport,
    DuplicateCoverage,
    LiftGroup,
    LiftReport,
    LiftSegment,
    MemberCoverage,
    RetentionGroup,
    RetentionReport,
    RetentionSegment,
    TouchCoverage,
    UnconvertedAmount,
)
from app.insights.statistics import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    bootstrap_mean_interval,
    wilson_interval,
)
from app.models import AttributionRun, Workspace
from app.models import RunOpportunity as RO
from app.money import round_half_up
from app.reports.filters import STAGES, ReportFilters

CONFIDENCE = 0.95
ALL = "all"
ISSUE_LIST_LIMIT = 100
_SECONDS_PER_DAY = 86_400


def _header(run: AttributionRun, workspace: Workspace, filters: ReportFilters) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "model": run.model,
        "currency": workspace.reporting_currency,
        "period_from": filters.period_from,
        "period_to": filters.period_to,
    }


def _minor(value: float | Decimal) -> int:
    return round_half_up(Decimal(value))


def _group(deals: Sequence[Deal]) -> LiftGroup:
    closed = [d for d in deals if d.is_closed]
    won = [d for d in closed if d.is_won]
    win = wilson_interval(len(won), len(closed), CONFIDENCE)
    with localcontext() as context:
        context.prec = 60  # exact: minor units times a 12-decimal rate, summed
        amounts = [
            d.amount * d.revenue_rate
            for d in won
            if d.amount is not None and d.revenue_rate is not None
        ]
        mean_amount = _minor(sum(amounts, Decimal(0)) / len(amounts)) if amounts else None
    amount_interval = bootstrap_mean_interval(
        [float(a) for a in amounts],
        confidence=CONFIDENCE,
        resamples=DEFAULT_RESAMPLES,
        seed=DEFAULT_SEED,
    )
    days = [
        (d.closed_at - d.created_at).total_seconds() / _SECONDS_PER_DAY
        for d in won
        if d.closed_at is not None
    ]
    days_interval = bootstrap_mean_interval(
        days, confidence=CONFIDENCE, resamples=DEFAULT_RESAMPLES, seed=DEFAULT_SEED
    )
    return LiftGroup(
        opportunities=len(deals),
        closed=len(closed),
        won=len(won),
        win_rate=len(won) / len(closed) if closed else None,
        win_rate_low=win[0] if win else None,
        win_rate_high=win[1] if win else None,
        won_with_amount=len(amounts),
        won_missing_amount=sum(1 for d in won if d.amount is None),
        won_without_rate=sum(1 for d in won if d.amount is not None and d.revenue_rate is None),
        avg_won_amount_minor=mean_amount,
        avg_won_amount_low_minor=_minor(amount_interval[0]) if amount_interval else None,
        avg_won_amount_high_minor=_minor(amount_interval[1]) if amount_interval else None,
        avg_days_to_close=round(float(np.mean(days)), 2) if days else None,
        avg_days_to_close_low=round(days_interval[0], 2) if days_interval else None,
        avg_days_to_close_high=round(days_interval[1], 2) if days_interval else None,
    )


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _samples(deals: Sequence[Deal]) -> differences.Samples:
    """A group's observations for the bootstrap (see app.insights.differences)."""
    samples = differences.Samples()
    for d in deals:
        if not d.is_closed:
            continue
        samples.win.append(1.0 if d.is_won else 0.0)
        if not d.is_won:
            continue
        if d.amount is not None and d.revenue_rate is not None:
            samples.amount.append(float(d.amount * d.revenue_rate))
        if d.closed_at is not None:
            samples.days.append((d.closed_at - d.created_at).total_seconds() / _SECONDS_PER_DAY)
    return samples


def _low(estimate: differences.Estimate) -> float | None:
    return None if estimate.interval is None else estimate.interval[0]


def _high(estimate: differences.Estimate) -> float | None:
    return None if estimate.interval is None else estimate.interval[1]


def _rounded_or_none(value: float | None, digits: int | None) -> float | int | None:
    if value is None:
        return None
    return _minor(value) if digits is None else round(value, digits)


def _difference_fields(
    prefix: str, estimate: differences.Estimate, suffix: str = "", digits: int | None = 4
) -> dict[str, Any]:
    """``{prefix}{suffix}``, ``{prefix}_low{suffix}``, ``{prefix}_high{suffix}`` and
    ``{prefix}_p_value`` (amounts: digits None rounds to minor units)."""
    return {
        f"{prefix}{suffix}": _rounded_or_none(estimate.value, digits),
        f"{prefix}_low{suffix}": _rounded_or_none(_low(estimate), digits),
        f"{prefix}_high{suffix}": _rounded_or_none(_high(estimate), digits),
        f"{prefix}_p_value": estimate.p_value,
    }


def _segment(band: str, deals: Sequence[Deal], index: int = 0) -> LiftSegment:
    influenced_deals = [d for d in deals if d.influenced]
    other_deals = [d for d in deals if not d.influenced]
    influenced, other = _group(influenced_deals), _group(other_deals)
    a, b = _samples(influenced_deals), _samples(other_deals)
    ratio = (
        influenced.avg_won_amount_minor / other.avg_won_amount_minor
        if influenced.avg_won_amount_minor is not None and other.avg_won_amount_minor
        else None
    )
    win = differences.win_rate(a, b, CONFIDENCE)
    amount = differences.mean_difference(a, b, "amount", index, CONFIDENCE)
    days = differences.mean_difference(a, b, "days", index, CONFIDENCE)
    return LiftSegment(
        band=band,
        influenced=influenced,
        not_influenced=other,
        win_rate_difference=_difference(influenced.win_rate, other.win_rate),
        win_rate_difference_low=_low(win),
        win_rate_difference_high=_high(win),
        win_rate_difference_p_value=win.p_value,
        avg_won_amount_ratio=ratio,
        **_difference_fields("avg_won_amount_difference", amount, "_minor", None),
        **_difference_fields("days_to_close_difference", days, "", 2),
    )


def _band_adjusted(
    by_band: dict[str, list[Deal]],
) -> dict[str, Any]:
    pairs = [
        (
            _samples([d for d in deals if d.influenced]),
            _samples([d for d in deals if not d.influenced]),
        )
        for deals in by_band.values()
    ]
    win = differences.band_adjusted(pairs, "win", CONFIDENCE)
    amount = differences.band_adjusted(pairs, "amount", CONFIDENCE)
    days = differences.band_adjusted(pairs, "days", CONFIDENCE)
    return {
        "band_adjusted_win_rate_difference_low": _low(win),
        "band_adjusted_win_rate_difference_high": _high(win),
        "band_adjusted_win_rate_difference_p_value": win.p_value,
        **_difference_fields("band_adjusted_avg_won_amount_difference", amount, "_minor", None),
        **_difference_fields("band_adjusted_days_to_close_difference", days, "", 2),
    }


def band_adjusted_difference(segments: Iterable[LiftSegment]) -> float | None:
    """Within-band win-rate differences averaged with the band's closed deals as weights."""
    weighted = [
        (s.influenced.closed + s.not_influenced.closed, s.win_rate_difference)
        for s in segments
        if s.win_rate_difference is not None
    ]
    total = sum(weight for weight, _ in weighted)
    if not total:
        return None
    return sum(weight * difference for weight, difference in weighted) / total


def lift(
    session: Session,
    *,
    workspace: Workspace,
    run: AttributionRun,
    filters: ReportFilters,
    band_by: BandBy,
) -> LiftReport:
    deals = repository.deals(session, filters.where(run.id, "pipeline"))
    by_band: dict[str, list[Deal]] = {label: [] for label in band_labels(band_by)}
    for deal in deals:
        size = deal.employees if band_by == "employees" else deal.annual_revenue
        by_band[band_of(size, band_by)].append(deal)
    bands = [
        _segment(label, members, index)
        for index, (label, members) in enumerate(by_band.items(), start=1)
    ]
    return LiftReport(
        **_header(run, workspace, filters),
        band_by=band_by,
        confidence=CONFIDENCE,
        bootstrap_resamples=DEFAULT_RESAMPLES,
        bootstrap_seed=DEFAULT_SEED,
        overall=_segment(ALL, deals),
        bands=bands,
        band_adjusted_win_rate_difference=band_adjusted_difference(bands),
        **_band_adjusted(by_band),
        methods=differences.__doc__ or "",
    )


def _members(session: Session, workspace: Workspace) -> MemberCoverage:
    counts = repository.member_categories(session, workspace.id)
    staff = counts.get("staff", 0)
    others = sum(counts.values()) - staff
    unmatched = counts.get("unmatched", 0)
    return MemberCoverage(
        members=sum(counts.values()),
        staff=staff,
        matched_to_contact=counts.get("contact", 0),
        matched_to_lead_only=counts.get("lead_only", 0),
        matched_to_account_only=counts.get("account_only", 0),
        unmatched=unmatched,
        match_rate=(others - unmatched) / others if others else None,
    )


def _touches(session: Session, run: AttributionRun) -> list[TouchCoverage]:
    counts = repository.touch_counts(
        session, workspace_id=run.workspace_id, run_id=run.id, as_of=run.as_of
    )
    channels: tuple[tuple[bool, Literal["community", "marketing"]], ...] = (
        (True, "community"),
        (False, "marketing"),
    )
    rows = []
    for community, channel in channels:
        stored, credited = counts.get(community, (0, 0))
        rows.append(
            TouchCoverage(
                channel=channel,
                stored=stored,
                credited=credited,
                outside_every_window=stored - credited,
            )
        )
    return rows


def count_duplicates(touches: pl.DataFrame, window_minutes: int) -> int:
    """Touches the engine's rule drops, over every given touch: one group per (the touch's own
    person, activity type), in touch order (occurred_at, source, external_id)."""
    if touches.height < 2:
        return 0
    ordered = touches.with_columns(
        pl.struct("member_id", "contact_id", "lead_id", "activity_type_id")
        .rank("dense")
        .cast(pl.Int64)
        .alias("group"),
        pl.col("occurred_at").dt.epoch("us").alias("time_us"),
    ).sort("group", "time_us", "source", "external_id")
    dropped = duplicate_mask(
        ordered["group"].to_numpy(),
        ordered["time_us"].to_numpy(),
        window_minutes * 60 * 1_000_000,
    )
    return int(dropped.sum())


def _duplicates(session: Session, workspace: Workspace, run: AttributionRun) -> DuplicateCoverage:
    parameters = run.parameters or {}
    window = int(parameters.get("duplicate_window_minutes", workspace.duplicate_window_minutes))
    stats = (run.channel_summary or {}).get("journey_stats")
    if isinstance(stats, dict) and isinstance(stats.get("duplicates_dropped"), int):
        return DuplicateCoverage(
            dropped=stats["duplicates_dropped"], window_minutes=window, basis="run"
        )
    touches = repository.touches_for_duplicates(session, workspace_id=workspace.id, as_of=run.as_of)
    return DuplicateCoverage(
        dropped=count_duplicates(touches, window), window_minutes=window, basis="recomputed"
    )


def _issue(session: Session, where: ColumnElement[bool], issue: ColumnElement[bool]) -> AmountIssue:
    count, external_ids = repository.amount_issue(session, where, issue, ISSUE_LIST_LIMIT)
    return AmountIssue(count=count, external_ids=external_ids)


def coverage(
    session: Session, *, workspace: Workspace, run: AttributionRun, filters: ReportFilters
) -> CoverageReport:
    opportunities, with_roles = repository.contact_role_counts(
        session, filters.where(run.id, "pipeline"), run.as_of
    )
    in_period = repository.in_period_any_amount(filters, run.id)
    return CoverageReport(
        **_header(run, workspace, filters),
        opportunities=opportunities,
        with_contact_roles=with_roles,
        contact_role_share=with_roles / opportunities if opportunities else None,
        members=_members(session, workspace),
        touches=_touches(session, run),
        duplicates=_duplicates(session, workspace, run),
        missing_amounts=_issue(session, in_period, RO.amount.is_(None)),
        negative_amounts=_issue(session, in_period, RO.amount < 0),
        unconverted=[
            UnconvertedAmount(
                stage=stage, currency=currency, opportunities=count, amount_minor=amount
            )
            for stage in STAGES
            for currency, count, amount in repository.unconverted(
                session, filters.where(run.id, stage), stage
            )
        ],
    )


def _retention_group(figures: retention.GroupFigures) -> RetentionGroup:
    def low(interval: tuple[float, float] | None) -> float | None:
        return None if interval is None else interval[0]

    def high(interval: tuple[float, float] | None) -> float | None:
        return None if interval is None else interval[1]

    return RetentionGroup(
        accounts=figures.accounts,
        accounts_with_base=figures.accounts_with_base,
        renewals_closed=figures.renewals_closed,
        renewals_won=figures.renewals_won,
        renewal_win_rate=figures.renewal_win_rate,
        renewal_win_rate_low=low(figures.renewal_win_rate_interval),
        renewal_win_rate_high=high(figures.renewal_win_rate_interval),
        base_minor=_minor(figures.base),
        renewed_minor=_minor(figures.renewed),
        expansion_minor=_minor(figures.expansion),
        gross_revenue_retention=figures.gross_retention,
        gross_revenue_retention_low=low(figures.gross_interval),
        gross_revenue_retention_high=high(figures.gross_interval),
        net_revenue_retention=figures.net_retention,
        net_revenue_retention_low=low(figures.net_interval),
        net_revenue_retention_high=high(figures.net_interval),
    )


def _retention_difference(name: str, difference: retention.Difference) -> dict[str, Any]:
    interval = difference.interval
    return {
        name: difference.value,
        f"{name}_low": None if interval is None else interval[0],
        f"{name}_high": None if interval is None else interval[1],
        f"{name}_p_value": difference.p_value,
    }


def _retention_segment(
    band: str, accounts: Sequence[retention.AccountFigures], index: int
) -> RetentionSegment:
    engaged, engaged_draws = retention.group([a for a in accounts if a.engaged], 2 * index)
    other, other_draws = retention.group([a for a in accounts if not a.engaged], 2 * index + 1)
    return RetentionSegment(
        band=band,
        engaged=_retention_group(engaged),
        not_engaged=_retention_group(other),
        **_retention_difference(
            "renewal_win_rate_difference", retention.win_rate_difference(engaged, other)
        ),
        **_retention_difference(
            "gross_revenue_retention_difference",
            retention.ratio_difference(
                engaged.gross_retention,
                other.gross_retention,
                engaged_draws["gross"],
                other_draws["gross"],
            ),
        ),
        **_retention_difference(
            "net_revenue_retention_difference",
            retention.ratio_difference(
                engaged.net_retention,
                other.net_retention,
                engaged_draws["net"],
                other_draws["net"],
            ),
        ),
    )


_ANY_DATE = (date(1, 1, 1), date(9998, 12, 31))


def retention_report(
    session: Session,
    *,
    workspace: Workspace,
    run: AttributionRun,
    filters: ReportFilters,
    band_by: BandBy,
) -> RetentionReport:
    """Renewal win rate, gross and net revenue retention, engaged accounts against the rest
    (see app.insights.retention)."""
    unbounded = dataclasses.replace(
        filters, period_from=_ANY_DATE[0], period_to=_ANY_DATE[1], types=()
    )
    deals = repository.retention_deals(session, run.id, unbounded.where(run.id, "pipeline"))
    accounts = retention.by_account(deals, filters.period_from, filters.period_to, band_by)
    unconverted: dict[str, int] = {}
    for figures in accounts.values():
        for currency, amount in figures.unconverted.items():
            unconverted[currency] = unconverted.get(currency, 0) + amount
    bands = retention.bands_of(accounts, band_by)
    prior_from, prior_to = retention.prior_period(filters.period_from, filters.period_to)
    return RetentionReport(
        **_header(run, workspace, filters),
        band_by=band_by,
        prior_from=prior_from,
        prior_to=prior_to,
        confidence=retention.CONFIDENCE,
        bootstrap_resamples=DEFAULT_RESAMPLES,
        bootstrap_seed=DEFAULT_SEED,
        overall=_retention_segment(ALL, list(accounts.values()), 0),
        bands=[
            _retention_segment(label, members, index)
            for index, (label, members) in enumerate(bands.items(), start=1)
        ],
        unconverted=dict(sorted(unconverted.items())),
        methods=retention.__doc__ or "",
    )
