"""The dashboard's pages (server-rendered HTML) under /dashboard, signed in by cookie."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from app.auth import service as auth_service
from app.dashboard import charts, service
from app.dashboard.formatting import Formatter, negotiate_locale
from app.dashboard.session import (
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
from app.deps import ClockDep, SessionDep
from app.exceptions import AppError
from app.reports import endpoints as report_endpoints
from app.reports.context import ModelParam
from app.reports.filters import STAGES, FilterParams, filter_params
from app.reports.periods import Preset
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
)
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


def _formatter(request: Request, currency: str) -> Formatter:
    return Formatter(
        currency=currency, locale=negotiate_locale(request.headers.get("accept-language"))
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
        "nav": NAV,
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
    principal = auth_service.authenticate(session, secret=api_key.strip(), now=clock())
    if principal is None:
        return _sign_in_page(request, "That API key is unknown, expired or revoked.", 401)
    response = RedirectResponse("/dashboard", status_code=303)
    start_session(response, api_key.strip())
    return response


@router.post("/sign-out")
def sign_out(viewer: SignedIn, csrf_token: Annotated[str, Form(max_length=256)] = "") -> Response:
    if not check_form_token(viewer, csrf_token):
        return Response("the form had expired: reload the page", status_code=403)
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
    fmt = _formatter(request, page.summary.currency)
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
    fmt = _formatter(request, workspace.reporting_currency)
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
    fmt = _formatter(request, page.categories.currency)
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
}
CsvReport = Literal[
    "summary", "timeseries", "by-category", "by-activity-type", "by-program", "models-compare"
]


def _report_endpoint(path: str) -> Callable[..., Response]:
    """The API's own handler of a report path."""
    for route in report_endpoints.router.routes:
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
        "sort": None,
    }
    if "context" in wanted:
        given["context"] = service.context(
            session, principal=viewer.principal, params=params, model=model, clock=clock
        )
    return endpoint(**{name: value for name, value in given.items() if name in wanted})


async def _sign_in_redirect(_request: Request, _error: Exception) -> Response:
    return RedirectResponse("/dashboard/sign-in", status_code=303)


def install(app: FastAPI) -> None:
    """Mount the pages and their static files on ``app``."""
    if not CHART_LIBRARY.exists():
        log.warning("the dashboard's chart library is missing: run `make assets`")
    app.add_exception_handler(SignInRequired, _sign_in_redirect)
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
