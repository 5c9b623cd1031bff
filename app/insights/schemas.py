from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from app.reports.schemas import ReportHeader


class LiftGroup(BaseModel):
    opportunities: int = Field(description="Opportunities created in the period in this group.")
    closed: int = Field(description="Of which closed (won or lost) at the run's as_of.")
    won: int = Field(description="Of which won.")
    win_rate: float | None = Field(
        description="won / closed; null when none is closed. Open deals are left out, so a young "
        "cohort's rate is of the deals that closed fast."
    )
    win_rate_low: float | None = Field(
        description="Lower end of the 95% Wilson score interval of the win rate."
    )
    win_rate_high: float | None = Field(
        description="Upper end of the 95% Wilson score interval of the win rate."
    )
    won_with_amount: int = Field(
        description="Won deals in the deal-size mean: with an amount and a rate at the close date."
    )
    won_missing_amount: int = Field(description="Won deals left out of the mean: no amount.")
    won_without_rate: int = Field(
        description="Won deals left out of the mean: no exchange rate to the reporting currency "
        "at the close date."
    )
    avg_won_amount_minor: int | None = Field(
        description="Mean won amount, minor units of the reporting currency converted at the "
        "close date, rounded half up; null without a convertible won deal."
    )
    avg_won_amount_low_minor: int | None = Field(
        description="Lower end of the 95% bootstrap percentile interval of that mean."
    )
    avg_won_amount_high_minor: int | None = Field(
        description="Upper end of the 95% bootstrap percentile interval of that mean."
    )
    avg_days_to_close: float | None = Field(
        description="Mean days from creation to close (the end of the CloseDate's local day) of "
        "the won deals, to 2 decimals; null without one."
    )
    avg_days_to_close_low: float | None = Field(
        description="Lower end of the 95% bootstrap percentile interval of that mean."
    )
    avg_days_to_close_high: float | None = Field(
        description="Upper end of the 95% bootstrap percentile interval of that mean."
    )


class LiftSegment(BaseModel):
    band: str = Field(description="Account-size band, 'all' for every opportunity, or unknown.")
    influenced: LiftGroup = Field(
        description="Opportunities with a community touch in the pipeline window."
    )
    not_influenced: LiftGroup = Field(description="Opportunities without one.")
    win_rate_difference: float | None = Field(
        description="Influenced win rate minus the other's; null when either is null."
    )
    win_rate_difference_low: float | None = Field(
        None, description="Lower end of its 95% Newcombe (hybrid score) interval."
    )
    win_rate_difference_high: float | None = Field(
        None, description="Upper end of its 95% Newcombe (hybrid score) interval."
    )
    win_rate_difference_p_value: float | None = Field(
        None, description="Two-sided p-value of no difference (pooled two-proportion z-test)."
    )
    avg_won_amount_ratio: float | None = Field(
        description="Influenced mean won amount over the other's; null when either is null or 0."
    )
    avg_won_amount_difference_minor: int | None = Field(
        None,
        description="Influenced mean won amount minus the other's (minor units of the "
        "reporting currency); null when either group has no convertible won deal.",
    )
    avg_won_amount_difference_low_minor: int | None = Field(
        None, description="Lower end of its 95% bootstrap percentile interval."
    )
    avg_won_amount_difference_high_minor: int | None = Field(
        None, description="Upper end of its 95% bootstrap percentile interval."
    )
    avg_won_amount_difference_p_value: float | None = Field(
        None, description="Two-sided bootstrap p-value of no difference."
    )
    days_to_close_difference: float | None = Field(
        description="Influenced mean days to close minus the other's (negative: faster)."
    )
    days_to_close_difference_low: float | None = Field(
        None, description="Lower end of its 95% bootstrap percentile interval."
    )
    days_to_close_difference_high: float | None = Field(
        None, description="Upper end of its 95% bootstrap percentile interval."
    )
    days_to_close_difference_p_value: float | None = Field(
        None, description="Two-sided bootstrap p-value of no difference."
    )


class LiftReport(ReportHeader):
    band_by: Literal["employees", "annual_revenue"] = Field(
        description="What the account-size bands are of (the account's current CRM value)."
    )
    confidence: float = Field(description="Confidence level of every interval.")
    bootstrap_resamples: int = Field(description="Resamples of each bootstrap interval.")
    bootstrap_seed: int = Field(
        description="Seed of the bootstrap: the same data give the same intervals."
    )
    overall: LiftSegment = Field(description="Every opportunity created in the period.")
    bands: list[LiftSegment] = Field(
        description="The same comparison within each account-size band, smallest first, then "
        "unknown; every band is listed, empty ones too."
    )
    band_adjusted_win_rate_difference: float | None = Field(
        description="The bands' win-rate differences averaged with the band's closed deals as "
        "weights, over bands where both groups have a closed deal: the difference with "
        "account size held fixed. Null when no band compares."
    )
    band_adjusted_win_rate_difference_low: float | None = Field(
        None, description="Lower end of its 95% stratified bootstrap interval."
    )
    band_adjusted_win_rate_difference_high: float | None = Field(
        None, description="Upper end of its 95% stratified bootstrap interval."
    )
    band_adjusted_win_rate_difference_p_value: float | None = Field(
        None, description="Its two-sided stratified bootstrap p-value."
    )
    band_adjusted_avg_won_amount_difference_minor: int | None = Field(
        None,
        description="The bands' mean won amount differences averaged with their won deals with an amount as weights (minor units).",
    )
    band_adjusted_avg_won_amount_difference_low_minor: int | None = Field(
        None, description="Lower end of its 95% stratified bootstrap interval."
    )
    band_adjusted_avg_won_amount_difference_high_minor: int | None = Field(
        None, description="Upper end of its 95% stratified bootstrap interval."
    )
    band_adjusted_avg_won_amount_difference_p_value: float | None = Field(
        None, description="Its two-sided stratified bootstrap p-value."
    )
    band_adjusted_days_to_close_difference: float | None = Field(
        None,
        description="The bands' mean days-to-close differences averaged with their won deals as weights.",
    )
    band_adjusted_days_to_close_difference_low: float | None = Field(
        None, description="Lower end of its 95% stratified bootstrap interval."
    )
    band_adjusted_days_to_close_difference_high: float | None = Field(
        None, description="Upper end of its 95% stratified bootstrap interval."
    )
    band_adjusted_days_to_close_difference_p_value: float | None = Field(
        None, description="Its two-sided stratified bootstrap p-value."
    )
    methods: str = Field("", description="How every interval and p-value is computed.")


class MemberCoverage(BaseModel):
    members: int = Field(description="Members in the workspace now (links are live, not a run's).")
    staff: int = Field(description="Staff members, counted apart from the rest.")
    matched_to_contact: int = Field(description="Non-staff members linked to a contact.")
    matched_to_lead_only: int = Field(
        description="Non-staff members linked to a lead but no contact."
    )
    matched_to_account_only: int = Field(
        description="Non-staff members linked only to an account (by email domain)."
    )
    unmatched: int = Field(description="Non-staff members linked to nothing.")
    match_rate: float | None = Field(
        description="Non-staff members linked to anything over non-staff members; null without any."
    )


class TouchCoverage(BaseModel):
    channel: Literal["community", "marketing"] = Field(
        description="Community or marketing, by activity type."
    )
    stored: int = Field(description="Touches stored when the run started (received by as_of).")
    credited: int = Field(description="Of which got a credit row in some stage of the run.")
    outside_every_window: int = Field(
        description="Of which got none: outside every window of every opportunity, unreached "
        "(unmatched member, unconverted lead), a dropped duplicate or an excluded staff touch."
    )


class DuplicateCoverage(BaseModel):
    dropped: int = Field(
        description="Touches merged into an earlier touch of the same person and activity type "
        "within the duplicate window."
    )
    window_minutes: int = Field(description="The duplicate window the run used.")
    basis: Literal["run", "recomputed"] = Field(
        description="run: the count the engine recorded on the run (channel_summary."
        "journey_stats, over the touches some opportunity reached); recomputed (runs without "
        "it): the engine's rule applied now to every stored touch received by the run's as_of."
    )


class AmountIssue(BaseModel):
    count: int = Field(description="Opportunities with the issue.")
    external_ids: list[str] = Field(
        description="Their CRM ids, sorted, at most 100 (see count for the rest)."
    )


class UnconvertedAmount(BaseModel):
    stage: Literal["pipeline", "revenue"] = Field(
        description="pipeline converts at the creation date, revenue at the close date."
    )
    currency: str = Field(description="Currency with no rate to the reporting currency.")
    opportunities: int = Field(description="Opportunities of the stage in that currency unrated.")
    amount_minor: int = Field(
        description="Their amount, minor units of that currency: reported apart, never summed."
    )


class CoverageReport(ReportHeader):
    opportunities: int = Field(description="Opportunities created in the period (with filters).")
    with_contact_roles: int = Field(
        description="Of which had a live contact role (role and contact not deleted by the run's "
        "as_of); the others fall back to the account scope or have no people."
    )
    contact_role_share: float | None = Field(
        description="with_contact_roles / opportunities; null without opportunities."
    )
    members: MemberCoverage = Field(description="How well members resolve to the CRM.")
    touches: list[TouchCoverage] = Field(description="Stored touches, community then marketing.")
    duplicates: DuplicateCoverage = Field(description="Touches dropped as duplicates.")
    missing_amounts: AmountIssue = Field(
        description="Opportunities of either stage in the period with no amount (counted as 0)."
    )
    negative_amounts: AmountIssue = Field(
        description="Opportunities of either stage in the period with a negative amount "
        "(stored, left out of every report)."
    )
    unconverted: list[UnconvertedAmount] = Field(
        description="Per stage and currency, amounts with no exchange rate on their date."
    )


class RetentionGroup(BaseModel):
    accounts: int = Field(description="Accounts in the group (with a base or a renewal).")
    accounts_with_base: int = Field(description="Of which with won amounts in the prior period.")
    renewals_closed: int = Field(description="Renewal opportunities closed in the period.")
    renewals_won: int = Field(description="Of which won.")
    renewal_win_rate: float | None = Field(description="won / closed renewals; null without one.")
    renewal_win_rate_low: float | None = Field(description="95% Wilson interval, lower end.")
    renewal_win_rate_high: float | None = Field(description="95% Wilson interval, upper end.")
    base_minor: int = Field(
        description="Won amounts of the prior period (reporting currency, minor units)."
    )
    renewed_minor: int = Field(description="Won renewal amounts closed in the period.")
    expansion_minor: int = Field(description="Won expansion amounts closed in the period.")
    gross_revenue_retention: float | None = Field(
        description="Sum of min(renewed, base) over sum of base (accounts with a base)."
    )
    gross_revenue_retention_low: float | None = Field(
        description="95% bootstrap interval (accounts resampled), lower end."
    )
    gross_revenue_retention_high: float | None = Field(description="Its upper end.")
    net_revenue_retention: float | None = Field(
        description="Sum of (renewed + expansion) over sum of base (accounts with a base)."
    )
    net_revenue_retention_low: float | None = Field(
        description="95% bootstrap interval (accounts resampled), lower end."
    )
    net_revenue_retention_high: float | None = Field(description="Its upper end.")


class RetentionSegment(BaseModel):
    band: str = Field(description="Account-size band, or 'all'.")
    engaged: RetentionGroup = Field(
        description="Accounts with a community-influenced renewal or expansion in the period."
    )
    not_engaged: RetentionGroup = Field(description="The other accounts.")
    renewal_win_rate_difference: float | None = Field(description="Engaged minus not engaged.")
    renewal_win_rate_difference_low: float | None = Field(description="Newcombe 95%, lower.")
    renewal_win_rate_difference_high: float | None = Field(description="Newcombe 95%, upper.")
    renewal_win_rate_difference_p_value: float | None = Field(
        description="Two-proportion z-test, two-sided."
    )
    gross_revenue_retention_difference: float | None = Field(
        description="Engaged minus not engaged."
    )
    gross_revenue_retention_difference_low: float | None = Field(description="Bootstrap, lower.")
    gross_revenue_retention_difference_high: float | None = Field(description="Bootstrap, upper.")
    gross_revenue_retention_difference_p_value: float | None = Field(
        description="Two-sided bootstrap p-value."
    )
    net_revenue_retention_difference: float | None = Field(description="Engaged minus not engaged.")
    net_revenue_retention_difference_low: float | None = Field(description="Bootstrap, lower.")
    net_revenue_retention_difference_high: float | None = Field(description="Bootstrap, upper.")
    net_revenue_retention_difference_p_value: float | None = Field(
        description="Two-sided bootstrap p-value."
    )


class RetentionReport(ReportHeader):
    band_by: Literal["employees", "annual_revenue"] = Field(description="What the bands are of.")
    prior_from: date = Field(description="First date of the prior period (the base).")
    prior_to: date = Field(description="Last date of the prior period.")
    confidence: float = Field(description="Confidence level of every interval.")
    bootstrap_resamples: int = Field(description="Resamples of each bootstrap.")
    bootstrap_seed: int = Field(description="Seed: the same data give the same intervals.")
    overall: RetentionSegment = Field(description="Every account.")
    bands: list[RetentionSegment] = Field(description="Per account-size band, then unknown.")
    unconverted: dict[str, int] = Field(
        description="Won amounts with no exchange rate at their close date, by currency (minor "
        "units): left out of every figure, listed apart."
    )
    methods: str = Field(description="The definitions and how intervals are computed.")
