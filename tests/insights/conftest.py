"""The app, one workspace per module (every API test runs on both
backends through the shared `database_url` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import DEFAULT_NOW, Api, SettableClock, new_workspace


def app_with_insights(settings: Settings) -> FastAPI:
    return create_app(settings, clock=SettableClock(DEFAULT_NOW))


@pytest.fixture(scope="module")
def insights_api(database_url: str) -> Iterator[Api]:
    settings = Settings(database_url=database_url)
    workspace_id, key = new_workspace(settings)
    with TestClient(app_with_insights(settings)) as test_client:
        yield Api(client=test_client, workspace_id=workspace_id, key=key)
