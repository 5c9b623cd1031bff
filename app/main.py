"""The FastAPI application factory: nothing is built at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.catalog.endpoints import router as catalog_router
from app.clock import Clock, system_clock
from app.config import Settings
from app.connections.endpoints import router as connections_router
from app.crm.endpoints import rates_router
from app.crm.endpoints import router as crm_router
from app.db import build_engine, build_sessionmaker
from app.exceptions import ERROR_RESPONSES, AppError
from app.exports.endpoints import router as exports_router
from app.insights.endpoints import router as insights_router
from app.members.endpoints import router as members_router
from app.reports.endpoints import router as reports_router
from app.runs.endpoints import defaults_router
from app.runs.endpoints import router as runs_router
from app.sync.endpoints import router as sync_router
from app.touchpoints.endpoints import router as touchpoints_router
from app.workspaces.endpoints import router as workspace_router

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
        yield
        engine.dispose()

    app = FastAPI(
        title="community-attribution",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.clock = clock

    @app.exception_handler(AppError)
    async def app_error(_request: Request, error: AppError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status_code)

    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Readiness: the database answers")
    def readyz(request: Request) -> JSONResponse:
        try:
            with request.app.state.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # any database failure means not ready
            logging.getLogger(__name__).warning("database not ready: %s", type(error).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    for router in (
        workspace_router,
        catalog_router,
        crm_router,
        rates_router,
        members_router,
        touchpoints_router,
        runs_router,
        defaults_router,
        reports_router,
        exports_router,
        insights_router,
        connections_router,
        sync_router,
    ):
        app.include_router(router, responses=ERROR_RESPONSES)
    return app
