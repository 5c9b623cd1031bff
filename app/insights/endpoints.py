from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.deps import SessionDep
from app.insights import service
from app.insights.bands import BandBy
from app.insights.schemas import (
    CoverageReport,
    LiftGroup,
    LiftReport,
    LiftSegment,
    RetentionGroup,
    RetentionReport,
    RetentionSegment,
)
from app.reports.context import Report
from app.reports.endpoints import CSV_RESPONSES
from app.reports.rendering import FormatParam, header_columns, respond

router = APIRouter(prefix="/v1/reports", tags=["reports"])


DIFFERENCE_COLUMNS = [
    f for f in LiftSegment.model_fields if f not in ("band", "influenced", "not_influenced")
]
LIFT_COLUMNS = ["band", "group", *LiftGroup.model_fields, *DIFFERENCE_COLUMNS]


@router.get(
    "/lift",
    summary="Do community-touched deals win more often, bigger or faster?",
    description="Opportunities created in the period, influenced (a community touch in the "
    "pipeline window) against the rest: win rate with a Wilson interval, mean won amount and "
    "mean days to close with bootstrap intervals; overall and within account-size bands, so a "
    "bigger-accounts effect is not read as a community effect. Every difference (and the "
    "band-adjusted ones) has a 95% interval and a p-value: Newcombe's method and the "
    "two-proportion z-test for win rates, the seeded bootstrap for means and band-adjusted "
    "figures (see `methods`). A comparison, not a proof of cause.",
    response_model=LiftReport,
    responses=CSV_RESPONSES,
)
def lift(
    request: Request,
    session: SessionDep,
    context: Report,
    band_by: Annotated[
        BandBy,
        Query(description="Account-size bands by employees or by annual revenue."),
    ] = "employees",
    output: FormatParam = None,
) -> Response:
    workspace, chosen, filters = context.workspace, context.run, context.filters
    report = service.lift(
        session, workspace=workspace, run=chosen, filters=filters, band_by=band_by
    )
    head = header_columns(report)
    rows = _group_rows(head, report, ("influenced", "not_influenced"), set(DIFFERENCE_COLUMNS))
    return respond(request, output, report, rows, [*head, *LIFT_COLUMNS], "lift")


COVERAGE_COLUMNS = ["section", "metric", "key", "value"]


def coverage_rows(report: CoverageReport) -> list[dict[str, Any]]:
    """The report as a long table: one (section, metric, key, value) row per number or id."""
    rows: list[tuple[str, str, str, Any]] = [
        ("opportunities", "opportunities", "", report.opportunities),
        ("opportunities", "with_contact_roles", "", report.with_contact_roles),
        ("opportunities", "contact_role_share", "", report.contact_role_share),
    ]
    rows += [("members", name, "", value) for name, value in report.members.model_dump().items()]
    rows += [
        ("touches", metric, touch.channel, getattr(touch, metric))
        for touch in report.touches
        for metric in ("stored", "credited", "outside_every_window")
    ]
    rows += [
        ("duplicates", name, "", value) for name, value in report.duplicates.model_dump().items()
    ]
    for name, issue in (
        ("missing_amount", report.missing_amounts),
        ("negative_amount", report.negative_amounts),
    ):
        rows.append(("amounts", f"{name}_count", "", issue.count))
        rows += [("amounts", name, external_id, 1) for external_id in issue.external_ids]
    for item in report.unconverted:
        rows += [
            ("unconverted", f"{item.stage}_opportunities", item.currency, item.opportunities),
            ("unconverted", f"{item.stage}_amount_minor", item.currency, item.amount_minor),
        ]
    head = header_columns(report)
    return [head | dict(zip(COVERAGE_COLUMNS, row, strict=True)) for row in rows]


@router.get(
    "/coverage",
    summary="Data coverage: how far to trust the other reports",
    description="For the run (and the period and filters where they apply): contact roles on "
    "the period's opportunities, member match rates, touches no window credited, duplicates "
    "merged, missing and negative amounts, and amounts in currencies without a rate.",
    response_model=CoverageReport,
    responses=CSV_RESPONSES,
)
def coverage(
    request: Request,
    session: SessionDep,
    context: Report,
    output: FormatParam = None,
) -> Response:
    workspace, chosen, filters = context.workspace, context.run, context.filters
    report = service.coverage(session, workspace=workspace, run=chosen, filters=filters)
    head = header_columns(report)
    return respond(
        request, output, report, coverage_rows(report), [*head, *COVERAGE_COLUMNS], "coverage"
    )


RETENTION_COLUMNS = [
    "band",
    "group",
    *RetentionGroup.model_fields,
    *(f for f in RetentionSegment.model_fields if f not in ("band", "engaged", "not_engaged")),
]


@router.get(
    "/retention",
    summary="Do community-engaged accounts renew and grow more?",
    description="Renewal win rate, gross and net revenue retention (renewal and expansion "
    "won in the period against the prior period's won amounts, per account) of accounts "
    "with a community-influenced renewal or expansion in the period against the rest, "
    "overall and by account-size band, each with a 95% interval and every difference with "
    "a p-value (see `methods`). A comparison, not a proof of cause.",
    response_model=RetentionReport,
    responses=CSV_RESPONSES,
)
def retention(
    request: Request,
    session: SessionDep,
    context: Report,
    band_by: Annotated[
        BandBy,
        Query(description="Account-size bands by employees or by annual revenue."),
    ] = "employees",
    output: FormatParam = None,
) -> Response:
    report = service.retention_report(
        session,
        workspace=context.workspace,
        run=context.run,
        filters=context.filters,
        band_by=band_by,
    )
    head = header_columns(report)
    differences = {f for f in RETENTION_COLUMNS if f in RetentionSegment.model_fields}
    rows = _group_rows(head, report, ("engaged", "not_engaged"), differences)
    return respond(request, output, report, rows, [*head, *RETENTION_COLUMNS], "retention")


def _group_rows(
    head: dict[str, Any], report: Any, groups: tuple[str, str], differences: set[str]
) -> list[dict[str, Any]]:
    """One CSV row per band and group: the group's figures beside the band's differences."""
    return [
        {
            **head,
            "band": segment.band,
            "group": group,
            **getattr(segment, group).model_dump(),
            **segment.model_dump(include=differences),
        }
        for segment in (report.overall, *report.bands)
        for group in groups
    ]
