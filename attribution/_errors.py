"""The engine's exceptions: every one is a ValueError, so callers may map them to a 422."""

from __future__ import annotations


class ModelParameterError(ValueError):
    """A model name or parameter is invalid; ``field`` names the offending parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class TooManyChannelsError(ModelParameterError):
    """An exact computation would need more channels than it can enumerate."""


class InputFrameError(ValueError):
    """The touches or opportunities frame does not have the expected shape or values;
    ``field`` names the offending column when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
