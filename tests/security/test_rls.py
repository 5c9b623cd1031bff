"""A second wall on PostgreSQL (issue 10): row-level security holds the service's runtime role to the
workspace of each request's API key, whatever a query forgets to filter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from app import rls
from app.config import Settings
from app.db import build_engine
from app.main import create_app
from app.webhooks.signatures import sign
from tests.conftest import DEFAULT_NOW, Api, SettableClock, new_workspace
from tests.dashboard.conftest import sign_in
from tests.golden import loader
from tests.security.roles import runtime_role

PERIOD = {"from": "2024-10-01", "to": "2025-09-30"}


@dataclass
class Roles:
    owner: Engine
    runtime: Engine
    settings: Settings  # the service's: the runtime role, the owner for migrations and commands


@pytest.fixture(scope="module")
def roles(backend: str, database_url: str) -> Iterator[Roles]:
    if backend != "postgresql":
        pytest.skip("row-level security is PostgreSQL's")
    with runtime_role(database_url) as settings:
        owner = build_engine(settings.as_owner())
        runtime = build_engine(settings)
        yield Roles(owner=owner, runtime=runtime, settings=settings)
        runtime.dispose()
        owner.dispose()


@pytest.fixture(scope="module")
def served(roles: Roles) -> Iterator[tuple[Api, Api]]:
    """Two workspaces served by the app connected as the runtime role: golden data, and empty."""
    owner = roles.settings.as_owner()
    with TestClient(create_app(roles.settings, clock=SettableClock(DEFAULT_NOW))) as client:
        golden = Api(client, *new_workspace(owner, name="Golden"))
        other = Api(client, *new_workspace(owner, name="Other"))
        loader.load(golden)
        loader.run(golden, "linear")
        yield golden, other


def test_every_table_with_a_workspace_id_has_the_workspace_policy(roles: Roles) -> None:
    """The meta-test: a migration that adds a workspace table without the policy fails here."""
    with roles.owner.connect() as connection:
        tables = rls.workspace_tables(connection)
        protected = rls.protected_tables(connection)
    assert {"touchpoint", "api_key", "credit", "audit_event"} <= set(tables)
    assert [table for table in [*tables, "workspace"] if table not in protected] == []


def test_the_meta_test_sees_a_table_without_the_policy(roles: Roles) -> None:
    with roles.owner.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE rls_probe (id int, workspace_id bigint)")
        assert "rls_probe" in rls.workspace_tables(connection)
        assert "rls_probe" not in rls.protected_tables(connection)
        for statement in rls.policy_statements("rls_probe"):
            connection.exec_driver_sql(statement)
        assert "rls_probe" in rls.protected_tables(connection)
        connection.rollback()


def test_a_query_without_the_workspace_set_sees_nothing(
    roles: Roles, served: tuple[Api, Api]
) -> None:
    golden, _other = served
    with roles.owner.connect() as connection:
        tables = rls.workspace_tables(connection)
        owned = connection.execute(
            text("SELECT count(*) FROM touchpoint WHERE workspace_id = :w"),
            {"w": golden.workspace_id},
        ).scalar_one()
    assert owned > 0
    with roles.runtime.connect() as connection:
        seen = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in [*tables, "workspace"]
        }
    assert {table: count for table, count in seen.items() if count} == {}


def test_the_workspace_setting_shows_that_workspace_only(
    roles: Roles, served: tuple[Api, Api]
) -> None:
    golden, other = served
    with roles.runtime.begin() as connection:
        connection.execute(
            text("SELECT set_config('app.workspace_id', :w, true)"), {"w": str(other.workspace_id)}
        )
        assert connection.execute(text("SELECT count(*) FROM touchpoint")).scalar_one() == 0
        assert connection.execute(text("SELECT id FROM workspace")).scalars().all() == [
            other.workspace_id
        ]
    with roles.runtime.begin() as connection:
        connection.execute(
            text("SELECT set_config('app.workspace_id', :w, true)"), {"w": str(golden.workspace_id)}
        )
        assert connection.execute(text("SELECT count(*) FROM touchpoint")).scalar_one() > 0
    with roles.runtime.connect() as connection:  # the setting ended with its transaction
        assert connection.execute(text("SELECT count(*) FROM touchpoint")).scalar_one() == 0


def test_a_row_of_another_workspace_cannot_be_changed_or_written(
    roles: Roles, served: tuple[Api, Api]
) -> None:
    golden, other = served
    with roles.runtime.begin() as connection:
        connection.execute(
            text("SELECT set_config('app.workspace_id', :w, true)"), {"w": str(other.workspace_id)}
        )
        renamed = connection.execute(
            text("UPDATE workspace SET name = 'taken' WHERE id = :golden"),
            {"golden": golden.workspace_id},
        )
        assert renamed.rowcount == 0
    with (
        pytest.raises(ProgrammingError, match="row-level security"),
        roles.runtime.begin() as connection,
    ):
        connection.execute(
            text("SELECT set_config('app.workspace_id', :w, true)"), {"w": str(other.workspace_id)}
        )
        connection.execute(
            text(
                "INSERT INTO program (workspace_id, key, name, cost, currency)"
                " VALUES (:golden, 'x', 'X', 0, 'USD')"
            ),
            {"golden": golden.workspace_id},
        )


def test_a_lookup_reads_keys_of_every_workspace_but_writes_none(roles: Roles) -> None:
    with roles.runtime.begin() as connection:
        connection.execute(text("SELECT set_config('app.lookup', 'on', true)"))
        assert connection.execute(text("SELECT count(*) FROM api_key")).scalar_one() >= 2
        assert connection.execute(text("SELECT count(*) FROM touchpoint")).scalar_one() == 0
    with (
        pytest.raises(ProgrammingError, match="row-level security"),
        roles.runtime.begin() as connection,
    ):
        connection.execute(text("SELECT set_config('app.lookup', 'on', true)"))
        connection.execute(text("UPDATE api_key SET name = 'x'"))


def test_the_service_answers_as_the_runtime_role_what_it_answers_as_the_owner(
    roles: Roles, served: tuple[Api, Api]
) -> None:
    golden, _other = served
    owner = roles.settings.as_owner()
    with TestClient(create_app(owner, clock=SettableClock(DEFAULT_NOW))) as client:
        expected = client.get("/v1/reports/summary", params=PERIOD, headers=golden.headers)
    summary = golden.get("/v1/reports/summary", params=PERIOD)
    assert summary.status_code == 200, summary.text
    assert summary.json()["pipeline"]["total"]["opportunities"] > 0
    assert summary.json() == expected.json()


def test_every_kind_of_request_works_as_the_runtime_role(served: tuple[Api, Api]) -> None:
    """Keys found and used, the workspace set on every session a request opens (streamed exports,
    idempotency claims, the key's last use, the audit log), webhooks found by their address, and
    another workspace's rows out of sight."""
    golden, other = served
    export = golden.get("/v1/exports/credits.csv", params={"model": "linear"})
    assert export.status_code == 200, export.text
    assert len(export.text.splitlines()) > 1
    touch = {
        "source": "discourse",
        "external_id": "rls-1",
        "activity_type": "forum_answer",
        "occurred_at": "2025-03-01T12:00:00Z",
        "member_email": "ada@example.com",
    }
    batch = golden.client.post(
        "/v1/touchpoints:batch",
        headers={**golden.headers, "Idempotency-Key": "rls-1"},
        json={"touchpoints": [touch]},
    )
    assert batch.status_code == 200, batch.text
    imported = golden.client.post(
        "/v1/touchpoints:import?source=zoom",
        headers={**golden.headers, "Content-Type": "text/csv"},
        content=b"external_id,activity_type,occurred_at,member_email\n"
        b"z1,event_attended,2025-03-02T10:00:00Z,ada@example.com\n",
    )
    assert imported.status_code == 200, imported.text
    created = golden.post("/v1/api-keys", json={"name": "bi", "scopes": ["read"]})
    assert created.status_code == 201, created.text
    rotated = golden.post(f"/v1/api-keys/{created.json()['id']}/rotate")
    assert rotated.status_code in (200, 201), rotated.text
    audit = golden.get("/v1/audit-log").json()
    assert {"POST /v1/api-keys", "POST /v1/api-keys/{key_id}/rotate"} <= {
        event["action"] for event in audit["items"]
    }
    source = golden.post("/v1/webhook-sources", json={"kind": "generic"}).json()
    body = json.dumps(
        {
            "id": "d1",
            "type": "forum_question",
            "occurred_at": "2025-03-03T10:00:00Z",
            "person": {"email": "ada@example.com"},
        }
    ).encode()
    stamp = str(int(DEFAULT_NOW.timestamp()))
    delivered = golden.client.post(
        source["source"]["url_path"],
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Commattr-Timestamp": stamp,
            "X-Commattr-Signature": sign("generic", source["secret"], body, stamp),
        },
    )
    assert delivered.status_code == 200, delivered.text
    assert other.get("/v1/activity-types").status_code == 200
    assert other.get("/v1/attribution-runs").json() == []
    assert other.get("/v1/workspace").json()["id"] == other.workspace_id
    assert other.get("/v1/audit-log").json()["items"] == []
    assert (
        golden.client.get("/v1/workspace", headers={"Authorization": "Bearer no"}).status_code
        == 401
    )


def test_the_dashboard_works_as_the_runtime_role(roles: Roles, served: tuple[Api, Api]) -> None:
    golden, _other = served
    app = create_app(roles.settings, clock=SettableClock(DEFAULT_NOW))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        sign_in(client, golden.key)
        for page in ("/dashboard", "/dashboard/sources"):
            answer = client.get(page, params={"period": "last_fiscal_year"})
            assert answer.status_code == 200, answer.text
        csv = client.get("/dashboard/csv/summary", params={"period": "last_fiscal_year"})
        assert csv.status_code == 200
        assert len(csv.text.splitlines()) > 1
