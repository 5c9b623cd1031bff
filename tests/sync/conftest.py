"""A service wired to a fake CRM: connections made through the API, runs executed by the worker."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.main import create_app
from app.worker import drain
from connectors.retry import RetryPolicy
from tests.conftest import DEFAULT_NOW, Api, SettableClock, new_workspace


@dataclass
class SyncHarness:
    api: Api
    settings: Settings
    clock: SettableClock
    factory: sessionmaker[Session]
    sleeps: list[float] = field(default_factory=list)

    def work(self, attempts: int = 5) -> None:
        """What `commattr worker` does once: queue due jobs, execute queued runs."""
        drain(
            self.factory,
            settings=self.settings,
            clock=self.clock,
            retry=RetryPolicy(attempts=attempts, sleep=self.sleeps.append),
        )

    def sync(self, connection_id: int, **body: Any) -> dict[str, Any]:
        """Queue a sync of every object through the API, run the worker, answer the finished run."""
        queued = self.api.post(f"/v1/connections/{connection_id}/sync-runs", json=body)
        assert queued.status_code == 202, queued.text
        self.work()
        run: dict[str, Any] = self.api.get(f"/v1/sync-runs/{queued.json()['id']}").json()
        return run

    def resume_dead_run(self, connection_id: int) -> dict[str, Any]:
        """Run the worker once more: it takes over the connection's run left by a dead worker
        (whose lease ran out) and finishes it; answer that run."""
        self.work()
        runs = self.api.get("/v1/sync-runs", params={"connection_id": connection_id}).json()
        assert len(runs) == 1, runs
        return dict(runs[0])

    def later(self, minutes: int = 10) -> None:
        self.clock.now += timedelta(minutes=minutes)

    def rows(self, statement: Any) -> list[Any]:
        with self.factory() as session:
            return list(session.execute(statement).all())

    def scalars(self, statement: Any) -> list[Any]:
        with self.factory() as session:
            return list(session.scalars(statement))

    def sync_killed_after(
        self, connection_id: int, pages: int, monkeypatch: pytest.MonkeyPatch
    ) -> list[str]:
        """Run a sync whose process dies before applying page ``pages + 1``; answer the external
        ids of the accounts committed by then."""
        from app.models import Account
        from app.sync import service

        real_apply = service._apply_page
        applied: list[int] = []

        def apply_then_die(*args: Any, **kwargs: Any) -> None:
            applied.append(1)
            if len(applied) > pages:
                raise SystemExit("killed")
            real_apply(*args, **kwargs)

        monkeypatch.setattr(service, "_apply_page", apply_then_die)
        with pytest.raises(SystemExit):
            self.sync(connection_id)
        monkeypatch.setattr(service, "_apply_page", real_apply)
        return self.scalars(
            select(Account.external_id).where(Account.workspace_id == self.api.workspace_id)
        )


@pytest.fixture
def harness_for(database_url: str) -> Iterator[Any]:
    """Builds a harness once the fake CRM's host is known (it must be an accepted test host)."""
    engines = []
    clients = []

    def build(test_host: str) -> SyncHarness:
        settings = Settings(database_url=database_url, crm_test_hosts=(test_host,))
        clock = SettableClock(DEFAULT_NOW)
        client = TestClient(create_app(settings, clock=clock))
        client.__enter__()
        clients.append(client)
        workspace_id, key = new_workspace(settings)
        engine = build_engine(settings)
        engines.append(engine)
        return SyncHarness(
            api=Api(client=client, workspace_id=workspace_id, key=key),
            settings=settings,
            clock=clock,
            factory=build_sessionmaker(engine),
        )

    yield build
    for client in clients:
        client.__exit__(None, None, None)
    for engine in engines:
        engine.dispose()


__all__ = ["SyncHarness", "select"]
