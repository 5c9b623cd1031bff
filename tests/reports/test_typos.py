"""Typos are errors, not zeros: every report answers 422 for an unknown filter value, naming
the parameter and the closest valid values, on the golden dataset."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.golden import loader

PERIOD = {"from": "2024-10-31", "to": "2025-09-12"}

REPORTS = [
    "summary",
    "by-activity-type",
    "by-category",
    "by-program",
    "by-channel",
    "by-account",
    "timeseries",
    "opportunities",
    "lift",
    "coverage",
    "models/compare",
]

# parameter, misspelled value, words the message must hold
TYPOS: list[tuple[str, str, list[str]]] = [
    ("account", "001-GLOBX", ["unknown account", "'001-GLOBEX'"]),
    ("account", "NOPE", ["unknown account", "valid values: '001-GLOBEX'"]),
    ("stage", "Closed Wonn", ["unknown stage 'Closed Wonn'", "did you mean 'Closed Won'"]),
    ("pipeline", "Enterprise", ["unknown pipeline 'Enterprise'", "there are none"]),
    ("type", "renewl", ["'renewal'"]),
    ("model", "lineer", ["unknown model 'lineer'", "did you mean 'linear'", "shapley"]),
]


@pytest.fixture(scope="module")
def golden(client_module: Api) -> Api:
    loader.load(client_module)
    loader.run(client_module, "linear")
    return client_module


def _get(api: Api, name: str, **params: Any) -> Any:
    return api.get(f"/v1/reports/{name}", params={**PERIOD, **params})


@pytest.mark.parametrize("name", REPORTS)
def test_every_report_rejects_every_misspelled_filter(golden: Api, name: str) -> None:
    assert _get(golden, name).status_code == 200
    for parameter, value, words in TYPOS:
        if name == "models/compare" and parameter == "model":
            continue  # compares every model: it takes none
        response = _get(golden, name, **{parameter: value})
        assert response.status_code == 422, (name, parameter, response.text)
        [error] = response.json()["detail"]
        assert error["loc"][:2] == ["query", parameter], (name, parameter)  # type: [.., 0]
        for word in words:
            assert word in error["msg"], (name, parameter, error["msg"])


@pytest.mark.parametrize("name", REPORTS)
def test_a_reversed_amount_range_is_an_error(golden: Api, name: str) -> None:
    response = _get(golden, name, amount_min="5000", amount_max="100")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "amount_min"]


def test_valid_values_still_filter(golden: Api) -> None:
    summary = _get(golden, "summary", stage="Closed Won", account="001-GLOBEX").json()
    # Globex won: O01 48,000.00
    assert summary["revenue"]["total"]["amount_minor"] == 4_800_000


def test_the_journey_rejects_an_unknown_model(golden: Api) -> None:
    response = golden.get("/v1/reports/opportunities/1/journey", params={"model": "markvo"})
    assert response.status_code == 422
    assert "did you mean 'markov'" in response.json()["detail"][0]["msg"]
