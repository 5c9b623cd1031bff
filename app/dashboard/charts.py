"""The data a page hands its charts: the figures of a report, in major units for the axis only
(the tables beside each chart show the exact amounts)."""

from __future__ import annotations

from typing import Any

from app.dashboard.formatting import Formatter
from app.insights.schemas import LiftReport, RetentionReport
from app.reports.schemas import Breakdown, Journey, ModelComparisonReport, Timeseries

TREND_SERIES = (
    ("total", "All"),
    ("influenced", "Community-influenced"),
    ("sourced", "Community-sourced"),
    ("attributed", "Attributed to community"),
)


def trend(report: Timeseries, stage: str, fmt: Formatter) -> dict[str, Any]:
    """A bar chart of one stage per bucket: all, influenced, sourced and attributed."""
    return {
        "type": "bar",
        "currency": fmt.currency,
        "locale": fmt.language,
        "labels": [row.bucket for row in report.rows],
        "datasets": [
            {
                "label": label,
                "data": [
                    float(fmt.major(getattr(row, f"{stage}_{measure}_minor")))
                    for row in report.rows
                ],
            }
            for measure, label in TREND_SERIES
        ],
    }


def _spec(fmt: Formatter, labels: list[str], series: dict[str, list[int]]) -> dict[str, Any]:
    """Horizontal bars, one per label, a bar per series (amounts in minor units)."""
    return {
        "type": "bar",
        "horizontal": True,
        "currency": fmt.currency,
        "locale": fmt.language,
        "labels": labels,
        "datasets": [
            {"label": name, "data": [float(fmt.major(value)) for value in values]}
            for name, values in series.items()
        ],
    }


def attributed(report: Breakdown, fmt: Formatter) -> dict[str, Any]:
    """Attributed pipeline and revenue per key (additive figures only)."""
    rows = report.rows
    return _spec(
        fmt,
        [row.name for row in rows],
        {
            "Attributed pipeline": [row.pipeline_attributed_minor for row in rows],
            "Attributed revenue": [row.revenue_attributed_minor for row in rows],
        },
    )


def roi(report: Breakdown, fmt: Formatter) -> dict[str, Any]:
    """Each program's cost beside the revenue attributed to it."""
    rows = report.rows
    return _spec(
        fmt,
        [row.name for row in rows],
        {
            "Cost": [row.cost_minor or 0 for row in rows],
            "Attributed revenue": [row.revenue_attributed_minor for row in rows],
        },
    )


def models(report: ModelComparisonReport, fmt: Formatter) -> dict[str, Any]:
    """Every model's attributed pipeline and revenue for the same period."""
    rows = report.rows
    return _spec(
        fmt,
        [row.model.replace("_", " ") for row in rows],
        {
            "Attributed pipeline": [row.pipeline_attributed_minor for row in rows],
            "Attributed revenue": [row.revenue_attributed_minor for row in rows],
        },
    )


def _percent_spec(
    fmt: Formatter, labels: list[str], series: dict[str, list[tuple[Any, Any, Any]]]
) -> dict[str, Any]:
    """Bars of rates (estimate) with their 95% intervals drawn as error bars."""
    return {
        "type": "bar",
        "unit": "percent",
        "currency": fmt.currency,
        "locale": fmt.language,
        "labels": labels,
        "datasets": [
            {
                "label": name,
                "data": [estimate for estimate, _, _ in values],
                "intervals": [[low, high] for _, low, high in values],
            }
            for name, values in series.items()
        ],
    }


def win_rates(report: LiftReport, fmt: Formatter) -> dict[str, Any]:
    segments = [report.overall, *report.bands]
    return _percent_spec(
        fmt,
        [segment.band for segment in segments],
        {
            name: [
                (group.win_rate, group.win_rate_low, group.win_rate_high)
                for group in (getattr(segment, side) for segment in segments)
            ]
            for side, name in (
                ("influenced", "Community-influenced"),
                ("not_influenced", "Not influenced"),
            )
        },
    )


def net_retention(report: RetentionReport, fmt: Formatter) -> dict[str, Any]:
    segments = [report.overall, *report.bands]
    return _percent_spec(
        fmt,
        [segment.band for segment in segments],
        {
            name: [
                (
                    group.net_revenue_retention,
                    group.net_revenue_retention_low,
                    group.net_revenue_retention_high,
                )
                for group in (getattr(segment, side) for segment in segments)
            ]
            for side, name in (("engaged", "Community-engaged"), ("not_engaged", "Not engaged"))
        },
    )


TouchKey = tuple[str, str]


def touch_credits(by_model: dict[str, Journey]) -> dict[str, dict[str, dict[TouchKey, int]]]:
    """Each model's credit of each touch, per stage: {model: {stage: {(source, id): minor}}}."""
    return {
        model: {
            stage: {
                (touch.touchpoint_source, touch.touchpoint_external_id): touch.credit_minor
                for touch in getattr(journey, stage)
            }
            for stage in ("pipeline", "revenue")
        }
        for model, journey in by_model.items()
    }


def deal_credit(
    journey: Journey,
    credits: dict[str, dict[str, dict[TouchKey, int]]],
    stage: str,
    fmt: Formatter,
) -> dict[str, Any]:
    """One bar group per touch, in order; one bar per model: what each model credits it."""
    touches = getattr(journey, stage)
    return {
        "type": "bar",
        "currency": fmt.currency,
        "locale": fmt.language,
        "labels": [
            f"{touch.occurred_at:%Y-%m-%d} {touch.activity_type.replace('_', ' ')}"
            for touch in touches
        ],
        "datasets": [
            {
                "label": model.replace("_", " "),
                "data": [
                    float(
                        fmt.major(
                            by_stage[stage].get(
                                (touch.touchpoint_source, touch.touchpoint_external_id), 0
                            )
                        )
                    )
                    for touch in touches
                ],
            }
            for model, by_stage in credits.items()
        ],
    }
