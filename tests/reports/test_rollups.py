"""Reports read per-run rollups when the filters allow it; the rows give the very same figures."""

from __future__ import annotations

from typing import Any

import pytest

from app.reports import rollups
from tests.conftest import Api
from tests.golden import loader

PERIOD = {"from": "2024-10-31", "to": "2025-09-12"}
REPORTS = [
    ("summary", {}),
    ("summary", {"type": ["new_business", "renewal"]}),
    ("by-activity-type", {}),
    ("by-category", {"type": "expansion"}),
    ("by-program", {}),
    ("by-channel", {}),
    ("timeseries", {"interval": "week"}),
    ("timeseries", {"interval": "fiscal_quarter", "type": "new_business"}),
]


@pytest.fixture(scope="module")
def golden(client_module: Api) -> Api:
    loader.load(client_module)
    for model in ("linear", "time_decay"):
        loader.run(client_module, model)
    return client_module


@pytest.mark.parametrize(("name", "params"), REPORTS)
@pytest.mark.parametrize("model", ["linear", "time_decay"])
def test_rollups_and_rows_give_the_same_report(
    golden: Api, monkeypatch: pytest.MonkeyPatch, name: str, params: dict[str, Any], model: str
) -> None:
    query = {**PERIOD, **params, "model": model}
    from_rollups = golden.get(f"/v1/reports/{name}", params=query).json()
    monkeypatch.setattr(rollups, "covers", lambda _filters: False)
    from_rows = golden.get(f"/v1/reports/{name}", params=query).json()
    assert from_rollups == from_rows


def test_filters_beyond_period_and_type_read_the_rows() -> None:
    from datetime import date

    from app.reports.filters import ReportFilters

    period = {"period_from": date(2025, 1, 1), "period_to": date(2025, 3, 31)}
    assert rollups.covers(ReportFilters(**period, types=("renewal",)))
    assert not rollups.covers(ReportFilters(**period, account_ids=(1,)))
    assert not rollups.covers(ReportFilters(**period, amount_min=100))
    assert not rollups.covers(ReportFilters(**period, stages=("Closed Won",)))
