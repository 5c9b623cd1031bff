"""The data a page hands its charts: the figures of a report, in major units for the axis only
(the tables beside each chart show the exact amounts)."""

from __future__ import annotations

from typing import Any

from app.dashboard.formatting import Formatter
from app.reports.schemas import Breakdown, ModelComparisonReport, Timeseries

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
