"""The service's edge: request size, rate limits, safe validation errors, log redaction, and the
API documentation served from local files."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from app.config import Settings
from app.edge import redaction
from app.edge.body_limit import BodyLimit
from app.edge.rate_limit import RateLimitHeaders, RateLimits
from app.edge.validation import validation_error


def install(app: FastAPI, settings: Settings) -> None:
    redaction.install()
    app.state.rate_limits = RateLimits(settings)
    app.add_middleware(RateLimitHeaders)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        bulk_limit=settings.max_bulk_body_bytes,
        file_limit=settings.import_max_bytes,
    )
