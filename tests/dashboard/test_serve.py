"""`commattr serve` (and so `make run`) says where the dashboard is, beside the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import cli as cli_module
from tests.test_cli import invoke


def test_serve_prints_the_dashboards_address_beside_the_apis(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> None:
    monkeypatch.setattr(cli_module.uvicorn, "run", lambda app, **options: None)
    # the JSON log handler would outlive this test's captured output
    monkeypatch.setattr(cli_module, "configure_logging", lambda level: None)
    result = invoke(
        "serve",
        COMMATTR_DATABASE_URL=database_url,
        COMMATTR_DATA_DIR=str(tmp_path),
        COMMATTR_PORT="8123",
    )
    assert result.exit_code == 0, result.output
    lines: list[Any] = result.output.splitlines()
    api = next(i for i, line in enumerate(lines) if "on http://127.0.0.1:8123 " in line)
    assert lines[api + 1].startswith("dashboard on http://127.0.0.1:8123/dashboard")
