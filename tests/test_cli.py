"""`commattr` at start: a wrong setting or an unreachable database stops it with one line naming
the setting; `migrate` says what it did, or why it failed, in one line; `serve` prints no key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from app import cli as cli_module
from app import migrate
from app.cli import cli
from app.config import Settings
from app.db import build_engine
from tests.conftest import fresh_database_url

UNREACHABLE = "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/nothing?connect_timeout=2"


def invoke(*arguments: str, **env: str) -> Any:
    return CliRunner().invoke(cli, list(arguments), env=env)


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        ("COMMATTR_PORT", "eighty", "serve"),
        ("COMMATTR_WEB_WORKERS", "0", "serve"),
        ("COMMATTR_DATABASE_URL", "mysql://db.example.com/crm", "migrate"),
        ("COMMATTR_LOG_LEVEL", "loud", "worker"),
        ("COMMATTR_TOUCHPOINT_BATCH_LIMIT", "-5", "serve"),
        ("COMMATTR_CRM_TEST_HOSTS", '["no-port-here"]', "serve"),
        ("COMMATTR_CRM_TEST_HOSTS", "not json", "serve"),
        ("COMMATTR_RUN_RETENTION_DAYS", "a month", "worker"),
        ("COMMATTR_RATE_LIMIT_PER_KEY", "fast", "serve"),
        ("COMMATTR_RATE_LIMIT_FAILED_AUTH", "0/minute", "serve"),
        ("COMMATTR_API_DOCS", "perhaps", "serve"),
        ("COMMATTR_MIGRATION_DATABASE_URL", "mysql://db.example.com/crm", "migrate"),
    ],
)
def test_a_wrong_setting_stops_the_command_with_one_line_naming_it(
    variable: str, value: str, command: str
) -> None:
    result = invoke(command, **{variable: value})
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert line.startswith(f"commattr: setting {variable} is wrong:")
    assert value not in line or variable != "COMMATTR_DATABASE_URL"


@pytest.mark.parametrize("command", ["serve", "worker", "migrate", "demo"])
def test_an_unreachable_database_stops_the_command_at_start(command: str) -> None:
    result = invoke(command, COMMATTR_DATABASE_URL=UNREACHABLE)
    assert result.exit_code == 2
    line = _one_line(result.output)
    assert line.startswith("commattr: cannot reach the database of COMMATTR_DATABASE_URL:")
    assert "secret-pw" not in line


def test_migrate_says_it_created_the_schema_then_that_it_is_current(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = fresh_database_url(backend, tmp_path_factory)
    first = invoke("migrate", COMMATTR_DATABASE_URL=url)
    assert first.exit_code == 0, first.output
    head = migrate.head_revision()
    assert first.output.splitlines()[-1] == f"created the database schema (revision {head})"
    again = invoke("migrate", COMMATTR_DATABASE_URL=url)
    assert again.output.splitlines()[-1] == (
        f"the database schema is already the newest (revision {head})"
    )


def test_migrate_reports_a_failure_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    engine = build_engine(Settings(database_url=url))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('0123456789ab')"))
    engine.dispose()
    result = invoke("migrate", COMMATTR_DATABASE_URL=url)
    assert result.exit_code == 1
    line = _one_line(result.output)
    assert line.startswith("commattr: migrate failed:")
    assert "0123456789ab" in line


def test_serve_prints_no_stored_key_and_logs_requests_itself(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    key = "ca_demo_key_that_must_not_be_printed"
    (tmp_path / "demo-api-key").write_text(key + "\n")
    started: dict[str, Any] = {}
    monkeypatch.setattr(cli_module.uvicorn, "run", lambda app, **options: started.update(options))
    result = invoke("serve", COMMATTR_DATABASE_URL=database_url, COMMATTR_DATA_DIR=str(tmp_path))
    assert result.exit_code == 0, result.output
    assert key not in result.output
    assert f"$(cat {tmp_path / 'demo-api-key'})" in result.output
    assert started["access_log"] is False  # the JSON request line replaces uvicorn's
    assert started["log_config"]["root"]["handlers"] == ["stdout"]


def test_the_health_check_fails_in_one_line_when_nothing_answers() -> None:
    result = invoke("healthcheck", "--timeout", "2", COMMATTR_PORT="1")
    assert result.exit_code == 1
    assert _one_line(result.output).startswith("commattr: http://127.0.0.1:1/readyz:")
