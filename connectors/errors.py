"""Failures, classified once before any retry (DESIGN.md section 4): retriable, auth, fatal."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every connector failure; ``detail`` is safe to store and show (never a secret)."""

    retriable = False

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RetriableError(ConnectorError):
    """429, 5xx, Salesforce REQUEST_LIMIT_EXCEEDED, a dropped connection or a truncated body."""

    retriable = True

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AuthExpiredError(ConnectorError):
    """The access token expired or was revoked: refresh once, then give up."""


class FatalError(ConnectorError):
    """Any other 4xx, a missing object or field, bad credentials: retrying cannot help."""


class BudgetExhaustedError(ConnectorError):
    """The CRM's reported daily API usage passed the configured share: stop, resumable."""


class InvalidCredentials(ValueError):
    """Credentials that cannot work, whatever the CRM says: ``field`` names the one to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
