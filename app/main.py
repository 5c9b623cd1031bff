"""The FastAPI application factory: nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import bounds
from app.apikeys.endpoints import router as api_keys_router
from app.audit.endpoints import router as audit_router
from app.catalog.endpoints import router as catalog_router
from app.clock import Clock, system_clock
from app.config import Settings
from app.connections.endpoints import router as connections_router
from app.crm.endpoints import rates_router
from app.crm.endpoints import router as crm_router
from app.dashboard.endpoints import install as install_dashboard
from app.db import build_engine, build_sessionmaker
from app.edge import docs as edge_docs
from app.edge import install as install_edge
from app.exceptions import ERROR_RESPONSES, AppError
from app.exports.endpoints import router as exports_router
from app.idempotency.service import Replayed, replayed_response
from app.identity.endpoints import router as identity_router
from app.imports.endpoints import router as imports_router
from app.insights.endpoints import router as insights_router
from app.members.endpoints import router as members_router
from app.migrate import current_revision, head_revision
from app.observability import jobs as job_metrics
from app.observability.metrics import exposition
from app.observability.middleware import RequestObservability
from app.privacy.endpoints import router as privacy_router
from app.reports.endpoints import router as reports_router
from app.rls import RequestScope
from app.runs.endpoints import defaults_router
from app.runs.endpoints import router as runs_router
from app.sync.endpoints import router as sync_router
from app.touchpoints.endpoints import router as touchpoints_router
from app.webhooks.endpoints import router as webhooks_router
from app.workspaces.endpoints import router as workspace_router

log = logging.getLogger(__name__)

DESCRIPTION = (
    "How much pipeline and revenue a customer community creates: CRM records and community "
    "touchpoints in, attribution models over them, reports out as JSON and CSV."
)


def create_app(settings: Settings | None = None, clock: Clock = system_clock) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = build_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = build_sessionmaker(engine)
        stop_job_metrics = job_metrics.install(app.state.sessionmaker, clock)
        yield
        stop_job_metrics()
        engine.dispose()

    app = edge_docs.application(
        settings,
        title="community-attribution",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock
    install_edge(app, settings)
    app.add_middleware(RequestScope)  # the workspace row-level security shows (PostgreSQL)
    app.add_middleware(RequestObservability)  # outermost: it sees every answer, 413s too

    @app.exception_handler(AppError)
    async def app_error(_request: Request, error: AppError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)

    app.add_exception_handler(Replayed, replayed_response)
    app.add_exception_handler(RequestValidationError, bounds.validation_error)
    app.add_exception_handler(StarletteHTTPException, bounds.http_error)

    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: the database answers and its schema is the newest (else 503)",
    )
    def readyz(request: Request) -> JSONResponse:
        return _readiness(request.app.state.engine)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    for router in (
        workspace_router,
        catalog_router,
        crm_router,
        rates_router,
        members_router,
        identity_router,
        privacy_router,
        touchpoints_router,
        imports_router,
        webhooks_router,
        runs_router,
        defaults_router,
        reports_router,
        exports_router,
        insights_router,
        connections_router,
        sync_router,
        api_keys_router,
        audit_router,
    ):
        app.include_router(router, responses=ERROR_RESPONSES)
    install_dashboard(app)
    return app


def _readiness(engine: Engine) -> JSONResponse:
    """503 while the database cannot be reached or its schema is not the one this code needs."""
    head = head_revision()
    try:
        with engine.connect() as connection:
            current = current_revision(connection)
    except Exception as error:  # any database failure means not ready
        log.warning("not ready: database unreachable", extra={"error_class": type(error).__name__})
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if current != head:
        log.warning("not ready: schema not at head", extra={"schema": current, "head": head})
        return JSONResponse(
            {"status": "unavailable", "schema": current, "head": head}, status_code=503
        )
    return JSONResponse({"status": "ok", "schema": current})
