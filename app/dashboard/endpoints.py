"""The dashboard's pages (server-rendered HTML) under /dashboard, signed in by cookie."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from app.bounds import Id
from app.dashboard import charts, service
from app.dashboard.formatting import Formatter, negotiate_locale
from app.dashboard.session import (
    AdminOnly,
    SignInRequired,
    Viewer,
    check_form_token,
    check_sign_in_token,
    current_viewer,
    end_session,
    new_sign_in_token,
    remember_sign_in_token,
    start_session,
)
from app.deps import ClockDep, SessionDep, SettingsDep, authenticate_request
from app.exceptions import AppError
from app.insights import endpoints as insights_endpoints
from app.insights.bands import BandBy
from app.models import Workspace
from app.reports import endpoints as report_endpoints
from app.reports.context import ModelParam
from app.reports.filters import STAGES, FilterParams, filter_params
from app.reports.periods import Preset
from app.runs.schemas import FreezeRequest
from app.workspaces.service import get_workspace
from attribution import MODEL_NAMES

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = HERE / "static"
CHART_LIBRARY = STATIC / "vendor" / "chart.umd.min.js"
PERIODS = {
    "this_quarter": "This quarter",
    "last_quarter": "Last quarter",
    "this_fiscal_year": "This fiscal year",
    "last_fiscal_year": "Last fiscal year",
    "last_12_months": "Last 12 months",
}
DEFAULT_PERIOD: Preset = "last_12_months"
MEASURES = (
    ("total", "All"),
    ("influenced", "Influenced"),
    ("sourced", "Sourced"),
    ("accelerated", "Accelerated"),
    ("attributed", "Attributed"),
)
NAV = (
    ("overview", "/dashboard", "Overview"),
    ("sources", "/dashboard/sources", "Where it comes from"),
    ("impact", "/dashboard/impact", "Does it work"),
    ("deal", "/dashboard/deal", "One deal"),
    ("quality", "/dashboard/quality", "Data quality"),
)
ADMIN_NAV = (("admin", "/dashboard/admin", "Admin"),)
EXPIRED = "The form had expired: reload the page and try again."
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Filters = Annotated[FilterParams, Depends(filter_params)]
TrendInterval = Literal["month", "fiscal_quarter"]


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    return Jinja2Templates(directory=HERE / "templates")


def _viewer(request: Request, session: SessionDep, clock: ClockDep) -> Viewer:
    return current_viewer(request, session, clock)


SignedIn = Annotated[Viewer, Depends(_viewer)]


def _page(
    request: Request, name: str, values: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = templates().TemplateResponse(request, name, values, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def _formatter(request: Request, workspace: Workspace) -> Formatter:
    """Amounts in the workspace's currency and instants in its time zone, in the reader's
    locale."""
    return Formatter(
        currency=workspace.reporting_currency,
        locale=negotiate_locale(request.headers.get("accept-language")),
        time_zone=workspace.time_zone,
    )


def _with_default_period(params: FilterParams) -> FilterParams:
    if params.preset is None and params.period_from is None and params.period_to is None:
        return replace(params, preset=DEFAULT_PERIOD)
    return params


def _chrome(request: Request, viewer: Viewer, page: str, fmt: Formatter) -> dict[str, Any]:
    """What every signed-in page shows around its content."""
    return {
        "viewer": viewer,
        "page": page,
        "fmt": fmt,
        "query": request.url.query,
        "periods": PERIODS,
        "models": MODEL_NAMES,
        "chart_library": CHART_LIBRARY.exists(),
        "nav": NAV + ADMIN_NAV if viewer.is_admin else NAV,
        "measures": MEASURES,
    }


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> HTMLResponse:
    return _sign_in_page(request, None, 200)


def _sign_in_page(request: Request, error: str | None, status_code: int) -> HTMLResponse:
    """The sign-in form with a fresh token, and the cookie it must match."""
    token = new_sign_in_token()
    response = _page(request, "sign_in.html", {"error": error, "token": token}, status_code)
    remember_sign_in_token(response, token)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    api_key: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    if not check_sign_in_token(request, csrf_token):
        return _sign_in_page(request, "The form had expired. Please sign in again.", 403)
    principal = authenticate_request(request, session, api_key.strip(), clock())
    if principal is None:
        return _sign_in_page(request, "That API key is unknown, expired or revoked.", 401)
    response = RedirectResponse("/dashboard", status_code=303)
    start_session(response, api_key.strip())
    return response


@router.post("/sign-out")
def sign_out(viewer: SignedIn, csrf_token: Annotated[str, Form(max_length=256)] = "") -> Response:
    if not check_form_token(viewer, csrf_token):
        return Response(EXPIRED, status_code=403)
    response = RedirectResponse("/dashboard/sign-in", status_code=303)
    end_session(response)
    return response


@router.get("", response_class=HTMLResponse)
def overview(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    viewer: SignedIn,
    params: Filters,
    model: ModelParam = None,
    interval: TrendInterval = "month",
) -> HTMLResponse:
    try:
        page = service.overview(
            session,
            principal=viewer.principal,
            params=_with_default_period(params),
            model=model,
            interval=interval,
            clock=clock,
        )
    except AppError as error:
        return _error_page(request, session, viewer, error)
    fmt = _formatter(request, page.workspace)
    values = {
        **_chrome(request, viewer, "overview", fmt),
        "workspace": page.workspace,
        "overview": page,
        "charts": {stage: charts.trend(page.timeseries, stage, fmt) for stage in STAGES},
        "selected": _selected(params, page.summary.model, interval),
    }
    return _page(request, "overview.html", values)


def _error_page(
    request: Request, session: SessionDep, viewer: Viewer, error: AppError
) -> HTMLResponse:
    workspace = get_workspace(session, viewer.workspace_id)
    fmt = _formatter(request, workspace)
    values = {**_chrome(request, viewer, "error", fmt), "workspace": workspace, "error": error}
    return _page(request, "error.html", values, error.status_code)


@router.get("/sources", response_class=HTMLResponse)
def sources(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    viewer: SignedIn,
    params: Filters,
    model: ModelParam = None,
) -> HTMLResponse:
    try:
        page = service.sources(
            session,
            principal=viewer.principal,
            params=_with_default_period(params),
            model=model,
            clock=clock,
        )
    except AppError as error:
        return _error_page(request, session, viewer, error)
    fmt = _formatter(request, page.workspace)
    values = {
        **_chrome(request, viewer, "sources", fmt),
        "workspace": page.workspace,
        "sources": page,
        "charts": {
            "category": charts.attributed(page.categories, fmt),
            "activity-type": charts.attributed(page.activity_types, fmt),
            "program": charts.roi(page.programs, fmt),
            "models": charts.models(page.models, fmt),
        },
        "selected": _selected(params, page.categories.model),
    }
    return _page(request, "sources.html", values)


def _selected(params: FilterParams, model: str, interval: str = "month") -> dict[str, str]:
    """What the period picker shows as chosen."""
    period = params.preset or ("" if params.period_from else DEFAULT_PERIOD)
    return {"period": period, "model": model, "interval": interval}


CSV_REPORTS = {
    "summary": "/v1/reports/summary",
    "timeseries": "/v1/reports/timeseries",
    "by-category": "/v1/reports/by-category",
    "by-activity-type": "/v1/reports/by-activity-type",
    "by-program": "/v1/reports/by-program",
    "models-compare": "/v1/reports/models/compare",
    "lift": "/v1/reports/lift",
    "retention": "/v1/reports/retention",
    "coverage": "/v1/reports/coverage",
}
CsvReport = Literal[
    "summary",
    "timeseries",
    "by-category",
    "by-activity-type",
    "by-program",
    "models-compare",
    "lift",
    "retention",
    "coverage",
]


def _report_endpoint(path: str) -> Callable[..., Response]:
    """The API's own handler of a report path."""
    for route in (*report_endpoints.router.routes, *insights_endpoints.router.routes):
        if isinstance(route, APIRoute) and route.path == path:
            endpoint: Callable[..., Response] = route.endpoint
            return endpoint
    raise LookupError(path)


@router.get("/csv/{report}")
def csv(
    request: Request,
    report: CsvReport,
    session: SessionDep,
    clock: ClockDep,
    viewer: SignedIn,
    params: Filters,
    model: ModelParam = None,
    interval: TrendInterval = "month",
    band_by: BandBy = "employees",
) -> Response:
    """The report endpoint's own CSV for the page's period and model: its handler, called with
    the same arguments the API would give it."""
    params = _with_default_period(params)
    endpoint = _report_endpoint(CSV_REPORTS[report])
    wanted = inspect.signature(endpoint).parameters
    given: dict[str, Any] = {
        "request": request,
        "session": session,
        "clock": clock,
        "principal": viewer.principal,
        "params": params,
        "output": "csv",
        "interval": interval,
        "band_by": band_by,
        "sort": None,
    }
    if "context" in wanted:
        given["context"] = service.context(
            session, principal=viewer.principal, params=params, model=model, clock=clock
        )
    return endpoint(**{name: value for name, value in given.items() if name in wanted})


@router.get("/impact", response_class=HTMLResponse)
def impact(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    viewer: SignedIn,
    params: Filters,
    model: ModelParam = None,
    band_by: BandBy = "employees",
) -> HTMLResponse:
    try:
        page = service.impact(
            session,
            principal=viewer.principal,
            params=_with_default_period(params),
            model=model,
            band_by=band_by,
            clock=clock,
        )
    except AppError as error:
        return _error_page(request, session, viewer, error)
    fmt = _formatter(request, page.workspace)
    values = {
        **_chrome(request, viewer, "impact", fmt),
        "workspace": page.workspace,
        "impact": page,
        "charts": {
            "win-rates": charts.win_rates(page.lift, fmt),
            "net-retention": charts.net_retention(page.retention, fmt),
        },
        "selected": {**_selected(params, page.lift.model), "band_by": band_by},
    }
    return _page(request, "impact.html", values)


@router.get("/deal", response_class=HTMLResponse)
def deal(
    request: Request,
    session: SessionDep,
    viewer: SignedIn,
    q: Annotated[str, Query(max_length=255)] = "",
    opportunity: Id | None = None,
    model: ModelParam = None,
) -> HTMLResponse:
    try:
        page = service.deal(
            session,
            principal=viewer.principal,
            query=q.strip(),
            opportunity_id=opportunity,
            model=model,
        )
    except AppError as error:
        return _error_page(request, session, viewer, error)
    fmt = _formatter(request, page.workspace)
    values: dict[str, Any] = {
        **_chrome(request, viewer, "deal", fmt),
        "workspace": page.workspace,
        "deal": page,
        "selected": {"model": page.journey.model if page.journey else (model or "linear")},
    }
    if page.journey is not None:
        deal_fmt = replace(fmt, currency=page.journey.opportunity.currency)
        credits = charts.touch_credits(page.by_model)
        values |= {
            "deal_fmt": deal_fmt,
            "shares": credits,
            "charts": {
                stage: charts.deal_credit(page.journey, credits, stage, deal_fmt)
                for stage in STAGES
            },
        }
    return _page(request, "deal.html", values)


@router.get("/quality", response_class=HTMLResponse)
def quality(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    viewer: SignedIn,
    params: Filters,
    model: ModelParam = None,
) -> HTMLResponse:
    try:
        page = service.quality(
            session,
            principal=viewer.principal,
            params=_with_default_period(params),
            model=model,
            settings=settings,
            clock=clock,
        )
    except AppError as error:
        return _error_page(request, session, viewer, error)
    fmt = _formatter(request, page.workspace)
    values = {
        **_chrome(request, viewer, "quality", fmt),
        "workspace": page.workspace,
        "quality": page,
        "selected": _selected(params, page.coverage.model),
    }
    return _page(request, "quality.html", values)


NOTICES = {
    "frozen": "The run is now the figure of record for its period.",
    "unfrozen": "The run is no longer a figure of record.",
}


def _admin_only(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise AdminOnly


@router.get("/admin", response_class=HTMLResponse)
def admin(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: SignedIn,
    done: Literal["frozen", "unfrozen"] | None = None,
) -> HTMLResponse:
    return _admin_page(request, session, settings, viewer, NOTICES.get(done or ""), None, 200)


def _admin_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    viewer: Viewer,
    notice: str | None,
    problem: str | None,
    status_code: int,
) -> HTMLResponse:
    _admin_only(viewer)
    page = service.admin(session, principal=viewer.principal, settings=settings)
    fmt = _formatter(request, page.workspace)
    values = {
        **_chrome(request, viewer, "admin", fmt),
        "workspace": page.workspace,
        "admin": page,
        "notice": notice,
        "problem": problem,
    }
    return _page(request, "admin.html", values, status_code)


@router.post("/admin/runs/{run_id}/freeze", response_class=HTMLResponse)
def freeze_run(
    request: Request,
    run_id: Id,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    viewer: SignedIn,
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    period_from: Annotated[str, Form(alias="from", max_length=10)] = "",
    period_to: Annotated[str, Form(alias="to", max_length=10)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    _admin_only(viewer)
    if not check_form_token(viewer, csrf_token):
        return _admin_page(request, session, settings, viewer, None, EXPIRED, 403)
    try:
        body = FreezeRequest.model_validate(
            {"from": period_from, "to": period_to, "note": note or None}
        )
        service.freeze_run(
            session, principal=viewer.principal, run_id=run_id, body=body, now=clock()
        )
    except ValidationError as error:
        problem = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        return _admin_page(request, session, settings, viewer, None, problem, 422)
    except AppError as error:
        session.rollback()
        return _admin_page(
            request, session, settings, viewer, None, error.message, error.status_code
        )
    return RedirectResponse("/dashboard/admin?done=frozen", status_code=303)


@router.post("/admin/runs/{run_id}/unfreeze", response_class=HTMLResponse)
def unfreeze_run(
    request: Request,
    run_id: Id,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    viewer: SignedIn,
    csrf_token: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    _admin_only(viewer)
    if not check_form_token(viewer, csrf_token):
        return _admin_page(request, session, settings, viewer, None, EXPIRED, 403)
    try:
        service.unfreeze_run(session, principal=viewer.principal, run_id=run_id, now=clock())
    except AppError as error:
        return _admin_page(
            request, session, settings, viewer, None, error.message, error.status_code
        )
    return RedirectResponse("/dashboard/admin?done=unfrozen", status_code=303)


async def _sign_in_redirect(_request: Request, _error: Exception) -> Response:
    return RedirectResponse("/dashboard/sign-in", status_code=303)


async def _admin_only_page(request: Request, _error: Exception) -> Response:
    return _page(request, "forbidden.html", {"viewer": None}, 403)


def install(app: FastAPI) -> None:
    """Mount the pages and their static files on ``app``."""
    if not CHART_LIBRARY.exists():
        log.warning("the dashboard's chart library is missing: run `make assets`")
    app.add_exception_handler(SignInRequired, _sign_in_redirect)
    app.add_exception_handler(AdminOnly, _admin_only_page)
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
