"""Fixtures: every API test runs once on SQLite and once on the PostgreSQL that `make test` starts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import migrate
from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.main import create_app
from app.workspaces.service import create_workspace

# Rate limits are off in the suite (and in the servers it starts) unless a test turns them on.
for _variable in ("COMMATTR_RATE_LIMIT_PER_KEY", "COMMATTR_RATE_LIMIT_FAILED_AUTH"):
    os.environ.setdefault(_variable, "off")

POSTGRES_URL_VARIABLE = "COMMATTR_TEST_POSTGRES_URL"
DEFAULT_NOW = datetime(2025, 9, 30, 16, 0, tzinfo=UTC)


class SettableClock:
    """The tests' clock: it answers what it was last set to and never moves by itself."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fresh_database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty database on the backend: a new SQLite file, or a new database on the server."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    server = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server:
        if os.environ.get("COMMATTR_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{POSTGRES_URL_VARIABLE} is not set: run the suite with `make test`")
        pytest.skip(f"PostgreSQL tests need {POSTGRES_URL_VARIABLE} (`make test` sets it)")
    name = f"commattr_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database per backend, shared by the session; tests isolate by workspace."""
    url = fresh_database_url(backend, tmp_path_factory)
    engine = build_engine(Settings(database_url=url))
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(DEFAULT_NOW)


@pytest.fixture
def client(settings: Settings, clock: SettableClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock)) as test_client:
        yield test_client


@dataclass
class Api:
    """A test client speaking for one new workspace with an admin key."""

    client: TestClient
    workspace_id: int
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.headers, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.headers, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.client.put(path, headers=self.headers, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.client.patch(path, headers=self.headers, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(path, headers=self.headers, **kwargs)


def new_workspace(settings: Settings, name: str = "Test Co") -> tuple[int, str]:
    engine = build_engine(settings)
    try:
        with transaction(build_sessionmaker(engine)) as session:
            created = create_workspace(
                session,
                name=name,
                now=DEFAULT_NOW,
                free_mail_domains=list(settings.free_mail_domains),
            )
            return created.workspace.id, created.api_key
    finally:
        engine.dispose()


@pytest.fixture
def api(client: TestClient, settings: Settings) -> Api:
    workspace_id, key = new_workspace(settings)
    return Api(client=client, workspace_id=workspace_id, key=key)


@pytest.fixture(scope="module")
def client_module(database_url: str) -> Iterator[Api]:
    """One workspace for a whole module, for tests that load a dataset once and read it often."""
    settings = Settings(database_url=database_url)
    workspace_id, key = new_workspace(settings)
    with TestClient(create_app(settings, clock=SettableClock(DEFAULT_NOW))) as test_client:
        yield Api(client=test_client, workspace_id=workspace_id, key=key)
