"""A session factory on the test database, and an in-process worker on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.worker import Worker
from tests.conftest import SettableClock
from tests.worker.support import database


@pytest.fixture
def factory(settings: Settings) -> Iterator[sessionmaker[Session]]:
    with database(settings) as made:
        yield made


@pytest.fixture
def worker(factory: sessionmaker[Session], settings: Settings, clock: SettableClock) -> Worker:
    return Worker(factory, settings, clock)
