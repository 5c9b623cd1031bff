"""The service's edge: request size, rate limits, log redaction (the rules that also keep secrets
out of validation errors and the audit log), and the API documentation served from local files."""

from __future__ import annotations

from fastapi import FastAPI

from app.config import Settings
from app.edge import redaction
from app.edge.body_limit import BodyLimit
from app.edge.rate_limit import RateLimitHeaders, RateLimits


def install(app: FastAPI, settings: Settings) -> None:
    redaction.install()
    app.state.rate_limits = RateLimits(settings)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        bulk_limit=settings.max_bulk_body_bytes,
        file_limit=settings.import_max_bytes,
    )
