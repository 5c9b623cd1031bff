"""Every HubSpot failure, classified once in one table before any retry (DESIGN.md sections 4, 6.6).

HubSpot error bodies look like ``{"status": "error", "message": "...", "category": "...",
"errorType": "RATE_LIMIT", "policyName": "DAILY"}``
(https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details). Only ``message`` is
ever copied into an error's detail: bodies and headers never carry the token, but the request does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

from connectors.errors import (
    AuthExpiredError,
    BudgetExhaustedError,
    ConnectorError,
    FatalError,
    RetriableError,
)
from connectors.outbound import UNREACHABLE, network_failure

# HubSpot's burst window is ten seconds; a 429 of that policy without Retry-After waits it out.
TEN_SECONDLY_WAIT = 10.0
_MAX_MESSAGE = 300


class AuthenticationFailed(FatalError):
    """HubSpot still refuses the credentials after a refresh, or the private app token is
    rejected: the connection needs new credentials."""


class ScopeMissing(FatalError):
    """HubSpot answered 403: the token lacks a scope the call needs (category MISSING_SCOPES)."""


@dataclass(frozen=True)
class Failure:
    """What one failed HTTP exchange told us, read once from the SDK's exception."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str]

    @property
    def message(self) -> str:
        text = str(self.body.get("message") or f"HTTP {self.status}")
        return text[:_MAX_MESSAGE]

    @property
    def policy(self) -> str | None:
        policy = self.body.get("policyName")
        return str(policy) if policy else None

    @property
    def retry_after(self) -> float | None:
        value = header(self.headers, "Retry-After")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


def header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), None)


def _rate_limited(failure: Failure) -> ConnectorError:
    wait = failure.retry_after
    if wait is None and failure.policy == "TEN_SECONDLY_ROLLING":
        wait = TEN_SECONDLY_WAIT
    return RetriableError(f"HubSpot rate limit: {failure.message}", retry_after=wait)


@dataclass(frozen=True)
class _Rule:
    applies: Callable[[Failure], bool]
    build: Callable[[Failure], ConnectorError]


# First matching rule wins; a status no rule names fails fast (FatalError).
_RULES: tuple[_Rule, ...] = (
    _Rule(
        lambda f: f.status == 429 and f.policy == "DAILY",
        lambda f: BudgetExhaustedError(f"HubSpot daily API limit reached: {f.message}"),
    ),
    _Rule(lambda f: f.status == 429, _rate_limited),
    _Rule(
        lambda f: f.status == 401,
        lambda f: AuthExpiredError(f"HubSpot refused the access token: {f.message}"),
    ),
    _Rule(
        lambda f: f.status == 403,
        lambda f: ScopeMissing(f"HubSpot refused the call for a missing scope: {f.message}"),
    ),
    _Rule(
        lambda f: 500 <= f.status <= 599,
        lambda f: RetriableError(f"HubSpot server error {f.status}: {f.message}"),
    ),
)


def classify_failure(failure: Failure) -> ConnectorError:
    for rule in _RULES:
        if rule.applies(failure):
            return rule.build(failure)
    return FatalError(f"HubSpot request failed ({failure.status}): {failure.message}")


def failure_of(error: Any) -> Failure:
    """Read status, JSON body and headers from an SDK ``ApiException`` (any of its packages)."""
    return Failure(
        status=int(getattr(error, "status", 0) or 0),
        body=_json_body(getattr(error, "body", None)),
        headers=dict(getattr(error, "headers", None) or {}),
    )


def _json_body(raw: Any) -> Mapping[str, Any]:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if not isinstance(raw, str):
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def is_api_exception(error: BaseException) -> bool:
    """Each SDK package defines its own ``ApiException``; they share a name and attributes."""
    return any(cls.__name__ == "ApiException" for cls in type(error).__mro__)


def classify(error: BaseException) -> ConnectorError:
    """Map anything a HubSpot call raised to the connector's error classes."""
    if isinstance(error, ConnectorError):
        return error
    if is_api_exception(error):
        failure = failure_of(error)
        if failure.status == 0:  # the SDK's wrapper for TLS errors: configuration, not luck
            return FatalError(UNREACHABLE)
        return classify_failure(failure)
    if isinstance(error, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)):
        return network_failure(error)
    return FatalError(f"HubSpot call failed unexpectedly: {type(error).__name__}")


def incomplete(what: str) -> RetriableError:
    """The SDK reads a truncated JSON body as an object whose fields are all None: reading
    that as an empty last page would silently lose data, so it is a retriable failure."""
    return RetriableError(f"HubSpot sent an incomplete {what} response")
