"""The migration to platform identities keeps every stored email, claimed by its own record."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from app import migrate
from app.config import Settings
from app.db import build_engine
from tests.conftest import fresh_database_url

BEFORE = "be77622fdf04"
AFTER = "f16c84c46a32"


@pytest.fixture
def engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = build_engine(Settings(database_url=fresh_database_url(backend, tmp_path_factory)))
    yield engine
    engine.dispose()


def test_stored_emails_and_links_survive_the_migration(engine: Engine) -> None:
    migrate.upgrade(engine, BEFORE)
    with engine.begin() as connection:
        for statement in (
            "INSERT INTO workspace (id, name, reporting_currency, time_zone,"
            " fiscal_year_start_month, staff_domains, free_mail_domains,"
            " duplicate_window_minutes, default_lookback_days, default_scope,"
            " default_half_life_days, created_at)"
            " VALUES (1, 'W', 'USD', 'UTC', 1, '[]', '[]', 60, 365, 'account', 7,"
            " '2025-01-01 00:00:00')",
            "INSERT INTO account (id, workspace_id, source, external_id, properties, synced_at,"
            " name, domain) VALUES (1, 1, 'crm', '001', '{}', '2025-01-01 00:00:00', 'A',"
            " 'acme.com')",
            "INSERT INTO member (id, workspace_id, external_id, is_staff, properties, created_at)"
            " VALUES (1, 1, 'm-jo', false, '{}', '2025-01-01 00:00:00')",
            "INSERT INTO member_identity (workspace_id, member_id, kind, value, raw_value)"
            " VALUES (1, 1, 'email', 'jo@eu.acme.com', 'Jo@EU.acme.com')",
            "INSERT INTO member_link (workspace_id, member_id, account_id, method)"
            " VALUES (1, 1, 1, 'domain')",
        ):
            connection.execute(text(statement))
    migrate.upgrade(engine, AFTER)
    with engine.connect() as connection:
        identity = connection.execute(
            text(
                "SELECT kind, platform, value, claimed_by, registrable_domain FROM member_identity"
            )
        ).one()
        link = connection.execute(text("SELECT method, confidence FROM member_link")).one()
    assert tuple(identity) == ("email", "", "jo@eu.acme.com", "m-jo", "acme.com")
    assert (link[0], float(link[1])) == ("domain", 0.7)
