"""The demo company, loaded once per module, and a signed-in dashboard client for it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from app.auth.service import create_key
from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.demo import load_demo
from app.main import create_app
from tests.conftest import DEFAULT_NOW, SettableClock

DEMO_MODELS = ("linear", "first_touch")


@dataclass
class DemoWorkspace:
    settings: Settings
    workspace_id: int
    admin_key: str
    read_key: str


def load_small_demo(database_url: str) -> DemoWorkspace:
    """The demo company at 4% of its size with two models, and a second key that may only read."""
    settings = Settings(database_url=database_url)
    engine = build_engine(settings)
    try:
        factory = build_sessionmaker(engine)
        loaded = load_demo(
            factory, settings=settings, seed=11, now=DEFAULT_NOW, scale=0.04, models=DEMO_MODELS
        )
        assert loaded is not None
        with transaction(factory) as session:
            _, read_key = create_key(
                session,
                workspace_id=loaded.workspace_id,
                name="viewer",
                scopes=["read"],
                now=DEFAULT_NOW,
            )
    finally:
        engine.dispose()
    return DemoWorkspace(settings, loaded.workspace_id, loaded.api_key, read_key)


@pytest.fixture(scope="session")
def demo(database_url: str) -> DemoWorkspace:
    return load_small_demo(database_url)


@pytest.fixture(scope="module")
def app_client(demo: DemoWorkspace) -> Iterator[TestClient]:
    """Over https, as the dashboard's cookies are Secure."""
    app = create_app(demo.settings, clock=SettableClock(DEFAULT_NOW))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, key: str) -> None:
    """The sign-in form, filled in and posted as a browser would."""
    client.cookies.clear()
    form = client.get("/dashboard/sign-in")
    token = form_token(form.text)
    answer = client.post("/dashboard/sign-in", data={"api_key": key, "csrf_token": token})
    assert answer.status_code == 303, answer.text


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
