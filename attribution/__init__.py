"""Community attribution engine: pure functions from touches to credits.

A run prepares its journeys once and runs any number of models over them::

    from attribution import JourneySettings, ModelSpec, prepare, attribute

    settings = JourneySettings(as_of=now, lookback=timedelta(days=365))
    prepared = prepare(touches, opportunities, settings)
    result = attribute(prepared, ModelSpec(name="linear"))

Input frames (Polars):

- touches: ``opportunity_id`` Int64, ``touch_id`` Int64, ``occurred_at`` Datetime (UTC),
  ``source``, ``external_id``, ``activity_type``, ``category``, ``program`` (nullable),
  ``is_community``, ``is_staff``, ``person`` (the touch's own person), ``weight`` Float64.
  One row per (opportunity, touch, reaching person); a repeated pair counts once.
- opportunities: ``opportunity_id``, ``amount`` (whole minor units up to ``MAX_AMOUNT``,
  10^15, nullable: counts as 0; negative: no credits and left out of the fits; anything else
  is an ``InputFrameError``), ``created_at``, ``closed_at`` (nullable), ``is_closed``,
  ``is_won``, ``lead_created_at`` (nullable), ``value`` (optional Float64, the
  reporting-currency amount used by the data-driven models' global allocation; null when it
  could not be converted: such a won opportunity is left out of the global value and listed
  apart; without the column the amounts are taken as reporting-currency values).

Credits are exact: each model's shares are ratios of integers (parameters read as the
decimals they were written as), allocated by largest remainder in exact integer arithmetic;
time decay's irrational weights tie only within the float error they can carry.

The package does no I/O and imports nothing from the service.
"""

from ._engine import CREDITS_SCHEMA, STAGES, AttributionResult, attribute
from ._errors import InputFrameError, ModelParameterError, TooManyChannelsError
from ._journeys import CATEGORIES, MAX_AMOUNT, NO_PROGRAM, PreparedJourneys, prepare
from ._markov import MarkovFit, fit_markov
from ._params import (
    CHANNEL_KINDS,
    CHARACTERISTIC_FUNCTIONS,
    DATA_DRIVEN_MODEL_NAMES,
    HEURISTIC_MODEL_NAMES,
    MAX_HALF_LIFE_DAYS,
    MAX_MARKOV_ORDER,
    MILESTONE_DEFINITIONS,
    MIN_HALF_LIFE_DAYS,
    MODEL_NAMES,
    default_parameters,
    resolve_parameters,
)
from ._settings import JourneySettings, ModelSpec
from ._shapley import MAX_CONVERSION_RATE_CHANNELS, ShapleyFit, fit_shapley

__all__ = [
    "CATEGORIES",
    "CHANNEL_KINDS",
    "CHARACTERISTIC_FUNCTIONS",
    "CREDITS_SCHEMA",
    "DATA_DRIVEN_MODEL_NAMES",
    "HEURISTIC_MODEL_NAMES",
    "MAX_AMOUNT",
    "MAX_CONVERSION_RATE_CHANNELS",
    "MAX_HALF_LIFE_DAYS",
    "MAX_MARKOV_ORDER",
    "MILESTONE_DEFINITIONS",
    "MIN_HALF_LIFE_DAYS",
    "MODEL_NAMES",
    "NO_PROGRAM",
    "STAGES",
    "AttributionResult",
    "InputFrameError",
    "JourneySettings",
    "MarkovFit",
    "ModelParameterError",
    "ModelSpec",
    "PreparedJourneys",
    "ShapleyFit",
    "TooManyChannelsError",
    "attribute",
    "default_parameters",
    "fit_markov",
    "fit_shapley",
    "prepare",
    "resolve_parameters",
]
