"""An app with the insights router, one workspace per module (every API test runs on both
backends through the shared `database_url` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.exceptions import ERROR_RESPONSES
from app.insights.endpoints import router
from app.main import create_app
from tests.conftest import DEFAULT_NOW, Api, SettableClock, new_workspace


def app_with_insights(settings: Settings) -> FastAPI:
    app = create_app(settings, clock=SettableClock(DEFAULT_NOW))
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/v1/reports/lift" not in paths:  # until main.py includes the router
        app.include_router(router, responses=ERROR_RESPONSES)
    return app


@pytest.fixture(scope="module")
def insights_api(database_url: str) -> Iterator[Api]:
    settings = Settings(database_url=database_url)
    workspace_id, key = new_workspace(settings)
    with TestClient(app_with_insights(settings)) as test_client:
        yield Api(client=test_client, workspace_id=workspace_id, key=key)
