"""The API documentation, `/docs` (Swagger UI) and `/redoc` (ReDoc), served with their scripts and
styles from the files the fastapi-offline package installs: the pages load nothing from a CDN or a
font service, and Swagger UI's online validator is off. ``COMMATTR_API_DOCS=false`` serves neither
page, nor `/openapi.json`, nor their static files, for deployments that want no unauthenticated
surface beyond health and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from app.config import Settings

STATIC_URL = "/docs-static"


def application(settings: Settings, **options: Any) -> FastAPI:
    """The FastAPI application, with or without its documentation routes."""
    if not settings.api_docs:
        return FastAPI(docs_url=None, redoc_url=None, openapi_url=None, **options)
    return FastAPIOffline(
        static_url=STATIC_URL, swagger_ui_parameters={"validatorUrl": None}, **options
    )
