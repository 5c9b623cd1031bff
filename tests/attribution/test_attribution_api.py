"""The package's public surface: names, parameters, errors, purity."""

from __future__ import annotations

import ast
import types
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

import attribution
from attribution import (
    MODEL_NAMES,
    InputFrameError,
    JourneySettings,
    ModelParameterError,
    ModelSpec,
    TooManyChannelsError,
    attribute,
    default_parameters,
    prepare,
    resolve_parameters,
)
from tests.attribution.builders import AS_OF, at, frames, opportunity, touch

PACKAGE = Path(attribution.__file__).parent


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(attribution).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(attribution.__all__) == public
    assert len(attribution.__all__) == len(set(attribution.__all__))


def test_private_modules_only() -> None:
    modules = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert modules and all(name.startswith("_") for name in modules)


def test_the_engine_imports_no_service_code() -> None:
    forbidden = {"app", "connectors", "fastapi", "sqlalchemy"}
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert not roots & forbidden, (path.name, roots)


def test_model_names() -> None:
    assert MODEL_NAMES == (
        "first_touch",
        "last_touch",
        "linear",
        "time_decay",
        "position_based",
        "w_shaped",
        "full_path",
        "custom",
        "markov",
        "shapley",
    )


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_defaults_are_explicit_and_round_trip(name: str) -> None:
    resolved = default_parameters(name)
    assert resolve_parameters(ModelSpec(name, resolved)) == resolved


def test_default_values() -> None:
    assert default_parameters("time_decay")["half_life_days"] == 7.0
    assert {k: default_parameters("position_based")[k] for k in ("first", "middle", "last")} == {
        "first": 0.4,
        "middle": 0.2,
        "last": 0.4,
    }
    w = default_parameters("w_shaped")
    assert (w["first_touch"], w["lead_creation"], w["opportunity_creation"], w["other"]) == (
        0.3,
        0.3,
        0.3,
        0.1,
    )
    full = default_parameters("full_path")
    assert full["close"] == 0.225 and full["other"] == 0.1
    assert default_parameters("markov")["order"] == 1
    assert default_parameters("markov")["channel"] == "category"
    assert default_parameters("shapley")["characteristic"] == "conversions"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (ModelSpec("u_shaped"), "name"),
        (ModelSpec("position_based", {"first": 0.5, "middle": 0.2, "last": 0.4}), "first"),
        (ModelSpec("position_based", {"first": -0.2, "middle": 0.8, "last": 0.4}), "first"),
        (ModelSpec("position_based", {"middle": "0.2"}), "middle"),
        (ModelSpec("w_shaped", {"other": 0.2}), "first_touch"),
        (ModelSpec("full_path", {"close": -0.1}), "close"),
        (ModelSpec("time_decay", {"half_life_days": 0}), "half_life_days"),
        (ModelSpec("time_decay", {"half_life_days": -1.5}), "half_life_days"),
        (ModelSpec("time_decay", {"half_life_days": True}), "half_life_days"),
        (ModelSpec("time_decay", {"half_life_days": float("nan")}), "half_life_days"),
        (ModelSpec("markov", {"order": 0}), "order"),
        (ModelSpec("markov", {"order": 1.5}), "order"),
        (ModelSpec("markov", {"channel": "campaign"}), "channel"),
        (ModelSpec("markov", {"credit_allocation": "global"}), "credit_allocation"),
        (ModelSpec("shapley", {"characteristic": "revenue"}), "characteristic"),
        (ModelSpec("linear", {"half_life_days": 3}), "half_life_days"),
        (
            ModelSpec("custom", {"position_multipliers": {"first": -1}}),
            "position_multipliers.first",
        ),
        (ModelSpec("custom", {"position_multipliers": {"second": 1}}), "position_multipliers"),
        (ModelSpec("custom", {"weights": {"forum_question": -1}}), "weights.forum_question"),
    ],
)
def test_invalid_parameters_name_the_field(spec: ModelSpec, field: str) -> None:
    with pytest.raises(ModelParameterError) as caught:
        resolve_parameters(spec)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_attribute_validates_before_running() -> None:
    prepared = prepare(*frames([], []), JourneySettings(as_of=AS_OF))
    with pytest.raises(ModelParameterError) as caught:
        attribute(prepared, ModelSpec("position_based", {"first": 0.9}))
    assert caught.value.field == "first"


def test_conversion_rate_is_limited_to_twenty_channels() -> None:
    rows = [
        touch(i, i, at(10), person=f"member:{i}", program=f"program-{i:02d}") for i in range(21)
    ]
    opps = [opportunity(i, 100, at(50)) for i in range(21)]
    prepared = prepare(*frames(rows, opps), JourneySettings(as_of=AS_OF))
    spec = ModelSpec("shapley", {"channel": "program", "characteristic": "conversion_rate"})
    with pytest.raises(TooManyChannelsError) as caught:
        attribute(prepared, spec)
    assert isinstance(caught.value, ModelParameterError)
    assert "20" in caught.value.message
    # The closed form of "conversions" has no such limit.
    result = attribute(prepared, ModelSpec("shapley", {"channel": "program"}))
    assert result.channels is not None and result.channels.height == 21


def test_settings_need_an_aware_as_of() -> None:
    with pytest.raises(ValueError, match="timezone"):
        JourneySettings(as_of=datetime(2025, 1, 1))


def test_input_frames_are_checked() -> None:
    touches, opportunities = frames([touch(1, 1, at(1))], [opportunity(1, 100, at(2))])
    settings = JourneySettings(as_of=AS_OF)
    with pytest.raises(InputFrameError, match="person"):
        prepare(touches.drop("person"), opportunities, settings)
    with pytest.raises(InputFrameError, match="repeats"):
        prepare(touches, pl.concat([opportunities, opportunities]), settings)
    with pytest.raises(InputFrameError, match="Datetime"):
        prepare(
            touches.with_columns(pl.col("occurred_at").cast(pl.String)), opportunities, settings
        )
    # Optional columns: program, weight, value and lead_created_at may be absent.
    prepared = prepare(
        touches.drop("program", "weight"), opportunities.drop("value", "lead_created_at"), settings
    )
    assert attribute(prepared, ModelSpec("custom")).credits["fraction"].to_list() == [1.0, 1.0]
