"""Retention: do accounts whose people engage with the community renew and grow more?

For the period [from, to] and the prior period of the same length just before it, per account:
- base: the account's won amounts (any type) closed in the prior period;
- renewals: its renewal opportunities closed (won or lost) in the period;
- renewed and expansion: its won renewal and expansion amounts closed in the period.
An account is **engaged** when one of its renewal or expansion opportunities closed in the
period had a community touch in its window (the run's influenced flags: the window before the
renewal). Per group (engaged or not), overall and by account-size band:
- renewal win rate = won renewals / closed renewals (Wilson interval);
- gross revenue retention (GRR) = sum over accounts of min(renewed, base) / sum of base;
- net revenue retention (NRR) = sum of (renewed + expansion) / sum of base
  (over the accounts with a base; bootstrap intervals resampling accounts, seeded).
Differences (engaged minus not): Newcombe's interval and the z-test for the win rate, the
bootstrap (percentile interval, p = twice the share of draws beyond 0) for GRR and NRR.
Amounts convert at the close date; amounts with no rate are listed apart, never summed. A
comparison, not a proof of cause: engaged accounts may differ in other ways.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from app.insights.bands import BandBy, band_labels, band_of
from app.insights.statistics import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    newcombe_interval,
    percentile_interval_and_p,
    two_proportion_p_value,
    wilson_interval,
)

CONFIDENCE = 0.95


@dataclass(frozen=True)
class RetentionDeal:
    account_id: int | None
    type: str
    is_won: bool
    is_closed: bool
    close_date: date | None
    amount: int | None
    currency: str
    revenue_rate: Decimal | None
    influenced: bool
    employees: int | None
    annual_revenue: int | None


@dataclass
class AccountFigures:
    base: Decimal = Decimal(0)
    renewed: Decimal = Decimal(0)
    expansion: Decimal = Decimal(0)
    renewals_closed: int = 0
    renewals_won: int = 0
    engaged: bool = False
    size: int | None = None
    unconverted: dict[str, int] = field(default_factory=dict)


def prior_period(first: date, last: date) -> tuple[date, date]:
    length = (last - first).days + 1
    return first - timedelta(days=length), first - timedelta(days=1)


def by_account(
    deals: Sequence[RetentionDeal], first: date, last: date, band_by: BandBy
) -> dict[int, AccountFigures]:
    prior_first, prior_last = prior_period(first, last)
    accounts: dict[int, AccountFigures] = {}
    for deal in deals:
        if deal.account_id is None or deal.close_date is None or not deal.is_closed:
            continue
        figures = accounts.setdefault(deal.account_id, AccountFigures())
        figures.size = deal.employees if band_by == "employees" else deal.annual_revenue
        in_period = first <= deal.close_date <= last
        in_prior = prior_first <= deal.close_date <= prior_last
        if in_period and deal.type in ("renewal", "expansion") and deal.influenced:
            figures.engaged = True
        if in_period and deal.type == "renewal":
            figures.renewals_closed += 1
            figures.renewals_won += deal.is_won
        counted = deal.is_won and (
            in_prior or (in_period and deal.type in ("renewal", "expansion"))
        )
        if not counted or deal.amount is None:
            continue
        if deal.revenue_rate is None:
            figures.unconverted[deal.currency] = (
                figures.unconverted.get(deal.currency, 0) + deal.amount
            )
            continue
        value = Decimal(deal.amount) * deal.revenue_rate
        if in_prior:
            figures.base += value
        elif deal.type == "renewal":
            figures.renewed += value
        else:
            figures.expansion += value
    return {
        k: v
        for k, v in accounts.items()
        if v.base > 0 or v.renewals_closed or v.renewed or v.expansion
    }


@dataclass(frozen=True)
class GroupFigures:
    accounts: int
    accounts_with_base: int
    renewals_closed: int
    renewals_won: int
    renewal_win_rate: float | None
    renewal_win_rate_interval: tuple[float, float] | None
    base: Decimal
    renewed: Decimal
    expansion: Decimal
    gross_retention: float | None
    gross_interval: tuple[float, float] | None
    net_retention: float | None
    net_interval: tuple[float, float] | None


def _ratio_draws(numerator: np.ndarray, denominator: np.ndarray, stream: int) -> np.ndarray | None:
    """Bootstrap draws of sum(numerator) / sum(denominator), resampling accounts (seeded)."""
    n = denominator.size
    if n == 0:
        return None
    generator = np.random.default_rng(np.random.SeedSequence([DEFAULT_SEED, 7, stream]))
    order = np.lexsort((numerator, denominator))
    numerator, denominator = numerator[order], denominator[order]
    picks = generator.integers(0, n, size=(DEFAULT_RESAMPLES, n))
    totals = denominator[picks].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        draws = numerator[picks].sum(axis=1) / totals
    finite: np.ndarray = draws[np.isfinite(draws)]
    return finite


def _interval(draws: np.ndarray | None) -> tuple[float, float] | None:
    if draws is None or draws.size == 0:
        return None
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return float(low), float(high)


def group(
    accounts: Sequence[AccountFigures], stream: int
) -> tuple[GroupFigures, dict[str, np.ndarray | None]]:
    """A group's figures, and its bootstrap draws of GRR and NRR (for the differences)."""
    with_base = [a for a in accounts if a.base > 0]
    closed = sum(a.renewals_closed for a in accounts)
    won = sum(a.renewals_won for a in accounts)
    base = sum((a.base for a in with_base), Decimal(0))
    gross = sum((min(a.renewed, a.base) for a in with_base), Decimal(0))
    net = sum((a.renewed + a.expansion for a in with_base), Decimal(0))
    denominators = np.array([float(a.base) for a in with_base], dtype=np.float64)
    draws = {
        "gross": _ratio_draws(
            np.array([float(min(a.renewed, a.base)) for a in with_base]), denominators, 2 * stream
        ),
        "net": _ratio_draws(
            np.array([float(a.renewed + a.expansion) for a in with_base]),
            denominators,
            2 * stream + 1,
        ),
    }
    figures = GroupFigures(
        accounts=len(accounts),
        accounts_with_base=len(with_base),
        renewals_closed=closed,
        renewals_won=won,
        renewal_win_rate=won / closed if closed else None,
        renewal_win_rate_interval=wilson_interval(won, closed, CONFIDENCE),
        base=base,
        renewed=sum((a.renewed for a in accounts), Decimal(0)),
        expansion=sum((a.expansion for a in accounts), Decimal(0)),
        gross_retention=float(gross / base) if base else None,
        gross_interval=_interval(draws["gross"]),
        net_retention=float(net / base) if base else None,
        net_interval=_interval(draws["net"]),
    )
    return figures, draws


@dataclass(frozen=True)
class Difference:
    value: float | None = None
    interval: tuple[float, float] | None = None
    p_value: float | None = None


def win_rate_difference(a: GroupFigures, b: GroupFigures) -> Difference:
    if not a.renewals_closed or not b.renewals_closed:
        return Difference()
    return Difference(
        value=a.renewals_won / a.renewals_closed - b.renewals_won / b.renewals_closed,
        interval=newcombe_interval(
            a.renewals_won, a.renewals_closed, b.renewals_won, b.renewals_closed, CONFIDENCE
        ),
        p_value=two_proportion_p_value(
            a.renewals_won, a.renewals_closed, b.renewals_won, b.renewals_closed
        ),
    )


def ratio_difference(
    value_a: float | None,
    value_b: float | None,
    draws_a: np.ndarray | None,
    draws_b: np.ndarray | None,
) -> Difference:
    if value_a is None or value_b is None or draws_a is None or draws_b is None:
        return Difference()
    size = min(draws_a.size, draws_b.size)
    if size == 0:
        return Difference()
    interval, p_value = percentile_interval_and_p(draws_a[:size] - draws_b[:size], CONFIDENCE)
    return Difference(value=value_a - value_b, interval=interval, p_value=p_value)


def bands_of(
    accounts: dict[int, AccountFigures], band_by: BandBy
) -> dict[str, list[AccountFigures]]:
    grouped: dict[str, list[AccountFigures]] = {label: [] for label in band_labels(band_by)}
    for figures in accounts.values():
        grouped[band_of(figures.size, band_by)].append(figures)
    return grouped
