from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from app.bounds import Cursor, Id
from app.deps import ClockDep, ReadKey, SessionDep
from app.reports import service
from app.reports.context import ModelParam, Report, RunParam
from app.reports.filters import FilterParams, Stage, filter_params
from app.reports.periods import Interval, check_bucket_count
from app.reports.rendering import FormatParam, header_columns, respond
from app.reports.schemas import (
    AccountBreakdown,
    AccountRow,
    Breakdown,
    BreakdownRow,
    Journey,
    ModelComparison,
    ModelComparisonReport,
    OpportunityPage,
    OpportunityRow,
    Summary,
    Timeseries,
    TimeseriesRow,
)
from app.workspaces.service import get_workspace

router = APIRouter(prefix="/v1/reports", tags=["reports"])

Filters = Annotated[FilterParams, Depends(filter_params)]
SortParam = Annotated[
    str | None,
    Query(
        description="Order rows by these columns (comma-separated; a leading - for "
        "descending; nulls last), e.g. -revenue_attributed_minor,key."
    ),
]

CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with Accept: text/csv."},
    304: {"description": "Not modified (If-None-Match matched the ETag)."},
}


@router.get(
    "/summary",
    summary="Community-influenced, -sourced, -accelerated and -attributed pipeline and revenue",
    response_model=Summary,
    responses=CSV_RESPONSES,
)
def summary(
    request: Request,
    session: SessionDep,
    context: Report,
    output: FormatParam = None,
) -> Response:
    workspace, chosen, filters = context.workspace, context.run, context.filters
    report = service.summary(session, workspace=workspace, run=chosen, filters=filters)
    head = header_columns(report)
    rows = [
        {
            **head,
            "stage": stage,
            "measure": measure,
            **getattr(getattr(report, stage), measure).model_dump(),
        }
        for stage in ("pipeline", "revenue")
        for measure in ("total", "influenced", "sourced", "accelerated", "attributed")
    ]
    columns = [*head, "stage", "measure", "amount_minor", "opportunities"]
    return respond(request, output, report, rows, columns, "summary")


def _breakdown_endpoint(
    dimension: Literal["activity_type", "category", "program", "channel"],
) -> Any:
    def endpoint(
        request: Request,
        session: SessionDep,
        context: Report,
        output: FormatParam = None,
        sort: SortParam = None,
    ) -> Response:
        workspace, chosen, filters = context.workspace, context.run, context.filters
        report = service.breakdown(
            session,
            workspace=workspace,
            run=chosen,
            filters=filters,
            dimension=dimension,
            sort=sort,
        )
        head = header_columns(report)
        rows = [{**head, **row.model_dump()} for row in report.rows]
        return respond(
            request, output, report, rows, [*head, *BreakdownRow.model_fields], f"by-{dimension}"
        )

    return endpoint


for _path, _dimension, _summary in (
    ("/by-activity-type", "activity_type", "Pipeline and revenue by activity type"),
    ("/by-category", "category", "Pipeline and revenue by SPACES category"),
    ("/by-program", "program", "Pipeline, revenue, cost and ROI by program"),
    ("/by-channel", "channel", "Community against marketing"),
):
    router.add_api_route(
        _path,
        _breakdown_endpoint(_dimension),  # type: ignore[arg-type]
        methods=["GET"],
        summary=_summary,
        response_model=Breakdown,
        responses=CSV_RESPONSES,
    )


@router.get(
    "/by-account",
    summary="Pipeline and revenue by account",
    response_model=AccountBreakdown,
    responses=CSV_RESPONSES,
)
def by_account(
    request: Request,
    session: SessionDep,
    context: Report,
    output: FormatParam = None,
    sort: SortParam = None,
) -> Response:
    workspace, chosen, filters = context.workspace, context.run, context.filters
    report = service.accounts(session, workspace=workspace, run=chosen, filters=filters, sort=sort)
    head = header_columns(report)
    rows = [{**head, **row.model_dump()} for row in report.rows]
    return respond(request, output, report, rows, [*head, *AccountRow.model_fields], "by-account")


@router.get(
    "/timeseries",
    summary="Pipeline and revenue per week, month or fiscal quarter",
    response_model=Timeseries,
    responses=CSV_RESPONSES,
)
def timeseries(
    request: Request,
    session: SessionDep,
    context: Report,
    interval: Annotated[Interval, Query(description="week, month or fiscal_quarter.")] = "month",
    output: FormatParam = None,
) -> Response:
    workspace, chosen, filters = context.workspace, context.run, context.filters
    check_bucket_count(filters.period_from, filters.period_to, interval)
    report = service.timeseries(
        session, workspace=workspace, run=chosen, filters=filters, interval=interval
    )
    head = header_columns(report)
    rows = [{**head, **row.model_dump(mode="json")} for row in report.rows]
    return respond(
        request, output, report, rows, [*head, *TimeseriesRow.model_fields], "timeseries"
    )


@router.get(
    "/opportunities",
    summary="Opportunities with their amounts, flags and community credit, page by page",
    response_model=OpportunityPage,
    responses=CSV_RESPONSES,
)
def opportunities(
    request: Request,
    session: SessionDep,
    context: Report,
    basis: Annotated[
        Stage, Query(description="pipeline: created in the period; revenue: won and closed in it.")
    ] = "pipeline",
    cursor: Annotated[Cursor, Query(description="`next_cursor` of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000, description="Most items per page.")] = 500,
    output: FormatParam = None,
) -> Response:
    workspace, chosen, filters = context.workspace, context.run, context.filters
    page = service.opportunities(
        session,
        workspace=workspace,
        run=chosen,
        filters=filters,
        basis=basis,
        cursor=cursor,
        limit=limit,
    )
    head = header_columns(page)
    rows = [{**head, **row.model_dump(mode="json")} for row in page.items]
    response = respond(
        request, output, page, rows, [*head, *OpportunityRow.model_fields], "opportunities"
    )
    if page.next_cursor is not None:
        response.headers["Link"] = (
            f'<{request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
        )
    return response


@router.get(
    "/opportunities/{opportunity_id}/journey",
    summary="An opportunity's touches in order, with each one's credit, per stage",
)
def journey(
    opportunity_id: Id,
    session: SessionDep,
    principal: ReadKey,
    run: RunParam = None,
    model: ModelParam = None,
) -> Journey:
    chosen = service.choose_run(
        session, workspace_id=principal.workspace_id, run_id=run, model=model
    )
    return service.journey(session, run=chosen, opportunity_id=opportunity_id)


@router.get(
    "/opportunities/by-crm-id/{external_id}/journey",
    summary="An opportunity's journey, found by its CRM id",
)
def journey_by_crm_id(
    external_id: str,
    session: SessionDep,
    principal: ReadKey,
    source: Annotated[
        str | None,
        Query(description="The CRM (salesforce, hubspot...), when two CRMs share the id."),
    ] = None,
    run: RunParam = None,
    model: ModelParam = None,
) -> Journey:
    chosen = service.choose_run(
        session, workspace_id=principal.workspace_id, run_id=run, model=model
    )
    opportunity_id = service.opportunity_by_crm_id(
        session, workspace_id=principal.workspace_id, external_id=external_id, source=source
    )
    return service.journey(session, run=chosen, opportunity_id=opportunity_id)


@router.get(
    "/models/compare",
    summary="Every model side by side for the same period and filters",
    response_model=ModelComparisonReport,
    responses=CSV_RESPONSES,
)
def compare_models(
    request: Request,
    session: SessionDep,
    principal: ReadKey,
    clock: ClockDep,
    params: Filters,
    output: FormatParam = None,
) -> Response:
    period = service.resolve_period(
        session, workspace_id=principal.workspace_id, params=params, now=clock()
    )
    workspace = get_workspace(session, principal.workspace_id)
    filters = service.resolve_filters(session, workspace=workspace, params=params, period=period)
    report = service.compare_models(session, workspace=workspace, filters=filters)
    head = report.model_dump(
        by_alias=True, mode="json", include={"currency", "period_from", "period_to"}
    )
    rows = [{**head, **row.model_dump(mode="json", exclude={"parameters"})} for row in report.rows]
    columns = [*head, *(f for f in ModelComparison.model_fields if f != "parameters")]
    return respond(request, output, report, rows, columns, "models-compare")
