"""The README's settings table is exactly the settings the service has, with their defaults, and
every one of them is read by the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import new_workspace

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "COMMATTR_"


def readme_settings() -> dict[str, str]:
    """Environment variable -> the row's default column, from the README's Configuration table."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and (found := re.search(r"`(COMMATTR_\w+)`", cells[1])):
            rows[found.group(1)] = cells[2]
    return rows


def variable(field: str) -> str:
    return PREFIX + field.upper()


def test_the_readme_documents_exactly_the_settings_there_are() -> None:
    documented = set(readme_settings())
    defined = {variable(name) for name in Settings.model_fields}
    assert documented - defined == set(), "documented in the README but not a setting"
    assert defined - documented == set(), "a setting the README's table does not list"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_the_readme_gives_each_plain_default(field: str) -> None:
    default = Settings.model_fields[field].default
    if (
        default == ""
        or isinstance(default, bool)
        or not isinstance(default, int | float | str | Path)
    ):
        pytest.skip("a list or a computed default is described in words")
    shown = str(int(default)) if isinstance(default, float) and default.is_integer() else default
    assert f"`{shown}`" in readme_settings()[variable(field)]


def _source_of_the_service() -> str:
    return "\n".join(path.read_text() for path in sorted((ROOT / "app").rglob("*.py")))


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_read(field: str) -> None:
    assert re.search(rf"\.{field}\b", _source_of_the_service()), f"nothing reads {field}"


def test_a_crm_import_over_the_record_limit_is_refused_naming_the_limit(database_url: str) -> None:
    settings = Settings(database_url=database_url, import_record_limit=2)
    _workspace, key = new_workspace(settings)
    accounts = [{"external_id": f"A{i}", "name": f"Account {i}"} for i in range(3)]
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/crm/import",
            json={"accounts": accounts},
            headers={"Authorization": f"Bearer {key}"},
        )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body"], "msg": "3 records; at most 2 per import", "type": "value_error"}
    ]
