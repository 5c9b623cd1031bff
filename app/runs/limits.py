"""A run's parameters are checked when it is asked for, before any work or queueing."""

from __future__ import annotations

from app.config import Settings
from app.exceptions import InvalidInput
from app.runs.schemas import RunCreate
from attribution import ModelParameterError, ModelSpec, resolve_parameters


def check_run_request(request: RunCreate, settings: Settings, loc: tuple[str | int, ...]) -> None:
    """Raise a 422 naming the parameter (under ``loc``) that the engine or a limit refuses.

    The engine's own checks are cheap and pure; the service's limits (Markov order) come from
    the settings, so a caller cannot ask for work whose size is known in advance to be too large.
    """
    try:
        resolved = resolve_parameters(ModelSpec(name=request.model, params=request.parameters))
    except ModelParameterError as error:
        raise InvalidInput.at((*loc, "parameters", error.field), error.message) from error
    order = resolved.get("order")
    if isinstance(order, int) and order > settings.markov_max_order:
        raise InvalidInput.at(
            (*loc, "parameters", "order"),
            f"must be between 1 and {settings.markov_max_order} (COMMATTR_MARKOV_MAX_ORDER)",
        )
