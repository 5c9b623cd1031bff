"""Model names and parameter validation: every stored result carries explicit parameters."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Final

from ._errors import ModelParameterError
from ._settings import ModelSpec

HEURISTIC_MODEL_NAMES: Final = (
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position_based",
    "w_shaped",
    "full_path",
    "custom",
)
DATA_DRIVEN_MODEL_NAMES: Final = ("markov", "shapley")
MODEL_NAMES: Final = HEURISTIC_MODEL_NAMES + DATA_DRIVEN_MODEL_NAMES

CHANNEL_KINDS: Final = ("category", "activity_type", "program")
CHARACTERISTIC_FUNCTIONS: Final = ("conversions", "conversion_rate")
POSITIONS: Final = ("first", "middle", "last")

_SUM_TOLERANCE = 1e-9

MIN_HALF_LIFE_DAYS: Final = 0.001
MAX_HALF_LIFE_DAYS: Final = 36_500.0
# Above this order the state space ((channels + 1) ** order) cannot be bounded cheaply in
# advance; callers usually allow much less (the service: 4).
MAX_MARKOV_ORDER: Final = 8

MILESTONE_DEFINITIONS: Final[Mapping[str, str]] = {
    "first_touch": "the first touch of the stage window",
    "lead_creation": (
        "the last touch at or before the earliest creation time among the opportunity's "
        "people (contacts and converted leads)"
    ),
    "opportunity_creation": "the last touch at or before created_at",
    "close": "the last touch of the revenue window (revenue stage only)",
    "unreached": (
        "a milestone with no touch of the stage window at or before it gives its share to "
        "the reached milestones in proportion to their shares"
    ),
    "other": (
        "shared equally by the touches that hold no reached milestone; when there are none, "
        "given to the reached milestones in proportion to their shares"
    ),
}

_DEFAULTS: Final[Mapping[str, Mapping[str, object]]] = {
    "first_touch": {},
    "last_touch": {},
    "linear": {},
    "time_decay": {"half_life_days": 7.0, "reference": "stage_window_end"},
    "position_based": {
        "first": 0.4,
        "middle": 0.2,
        "last": 0.4,
        "two_touches": "first_and_last_in_proportion",
    },
    "w_shaped": {
        "first_touch": 0.3,
        "lead_creation": 0.3,
        "opportunity_creation": 0.3,
        "other": 0.1,
        "definitions": dict(MILESTONE_DEFINITIONS),
    },
    "full_path": {
        "first_touch": 0.225,
        "lead_creation": 0.225,
        "opportunity_creation": 0.225,
        "close": 0.225,
        "other": 0.1,
        "definitions": dict(MILESTONE_DEFINITIONS),
    },
    "custom": {
        "weights": None,
        "position_multipliers": None,
        "all_weights_zero": "linear",
    },
    "markov": {
        "order": 1,
        "channel": "category",
        "credit_allocation": "per_journey",
        "channel_allocation": "global",
        "negative_or_all_zero": "negative values count as 0; all zero falls back to linear",
    },
    "shapley": {
        "channel": "category",
        "characteristic": "conversions",
        "credit_allocation": "per_journey",
        "channel_allocation": "global",
        "negative_or_all_zero": "negative values count as 0; all zero falls back to linear",
    },
}

# Descriptive entries: echoed in the result, accepted back only unchanged.
_FIXED: Final = frozenset(
    {
        "reference",
        "two_touches",
        "definitions",
        "all_weights_zero",
        "credit_allocation",
        "channel_allocation",
        "negative_or_all_zero",
    }
)


def default_parameters(name: str) -> dict[str, object]:
    """The parameters a model uses when none are given."""
    return resolve_parameters(ModelSpec(name=name))


def _number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | Fraction):
        raise ModelParameterError(field, f"must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ModelParameterError(field, "must be finite")
    return number


def _share(field: str, value: object) -> float:
    number = _number(field, value)
    if number < 0:
        raise ModelParameterError(field, "must not be negative")
    return number


def _shares(name: str, given: Mapping[str, object], keys: tuple[str, ...]) -> dict[str, float]:
    defaults = _DEFAULTS[name]
    shares = {key: _share(key, given.get(key, defaults[key])) for key in keys}
    total = math.fsum(shares.values())
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise ModelParameterError(
            keys[0], f"the shares {', '.join(keys)} must sum to 1, they sum to {total!r}"
        )
    return shares


def _choice(field: str, value: object, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ModelParameterError(field, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _position_multipliers(value: object) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ModelParameterError("position_multipliers", "must be a mapping or null")
    unknown = set(value) - set(POSITIONS)
    if unknown:
        raise ModelParameterError(
            "position_multipliers", f"unknown positions {sorted(map(str, unknown))}"
        )
    return {
        position: _share(f"position_multipliers.{position}", value.get(position, 1.0))
        for position in POSITIONS
    }


def _weights(value: object) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ModelParameterError("weights", "must be a mapping of activity type to weight")
    weights: dict[str, float] = {}
    for key, weight in value.items():
        if not isinstance(key, str):
            raise ModelParameterError("weights", f"activity type keys must be strings: {key!r}")
        weights[key] = _share(f"weights.{key}", weight)
    return dict(sorted(weights.items()))


def resolve_parameters(spec: ModelSpec) -> dict[str, object]:
    """Validate ``spec`` and return its full explicit parameters (defaults filled in).

    Raises :class:`ModelParameterError` naming the parameter at fault. The result is itself
    a valid ``params`` mapping for the same model.
    """
    name = spec.name
    if name not in _DEFAULTS:
        known = ", ".join(MODEL_NAMES)
        raise ModelParameterError("name", f"unknown model {name!r}; known: {known}")
    defaults = _DEFAULTS[name]
    given = spec.params
    for key in given:
        if key not in defaults:
            raise ModelParameterError(key, f"not a parameter of {name}")
        if key in _FIXED and given[key] != defaults[key]:
            raise ModelParameterError(key, f"is descriptive and must be {defaults[key]!r}")
    resolved: dict[str, object] = {
        key: (dict(value) if isinstance(value, Mapping) else value)
        for key, value in defaults.items()
    }
    if name == "time_decay":
        half_life = _number("half_life_days", given.get("half_life_days", 7.0))
        if not MIN_HALF_LIFE_DAYS <= half_life <= MAX_HALF_LIFE_DAYS:
            raise ModelParameterError(
                "half_life_days",
                f"must be between {MIN_HALF_LIFE_DAYS} and {MAX_HALF_LIFE_DAYS:g} days",
            )
        resolved["half_life_days"] = half_life
    elif name == "position_based":
        resolved.update(_shares(name, given, POSITIONS))
    elif name == "w_shaped":
        resolved.update(
            _shares(name, given, ("first_touch", "lead_creation", "opportunity_creation", "other"))
        )
    elif name == "full_path":
        resolved.update(
            _shares(
                name,
                given,
                ("first_touch", "lead_creation", "opportunity_creation", "close", "other"),
            )
        )
    elif name == "custom":
        resolved["weights"] = _weights(given.get("weights"))
        resolved["position_multipliers"] = _position_multipliers(given.get("position_multipliers"))
    elif name == "markov":
        order = given.get("order", 1)
        if isinstance(order, bool) or not isinstance(order, int):
            raise ModelParameterError("order", f"must be an integer, got {order!r}")
        if not 1 <= order <= MAX_MARKOV_ORDER:
            raise ModelParameterError("order", f"must be between 1 and {MAX_MARKOV_ORDER}")
        resolved["order"] = order
        resolved["channel"] = _choice("channel", given.get("channel", "category"), CHANNEL_KINDS)
    elif name == "shapley":
        resolved["channel"] = _choice("channel", given.get("channel", "category"), CHANNEL_KINDS)
        resolved["characteristic"] = _choice(
            "characteristic",
            given.get("characteristic", "conversions"),
            CHARACTERISTIC_FUNCTIONS,
        )
    return resolved
