"""The one table that classifies every Salesforce failure before any retry (DESIGN.md section 4).

simple-salesforce raises its own exceptions (SalesforceExpiredSession for 401,
SalesforceMalformedRequest for 400, SalesforceRefusedRequest for 403, SalesforceGeneralError for
5xx...) carrying the status and the decoded error body, but not the response headers; the
Retry-After header comes from the last response the session saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from xml.parsers.expat import ExpatError

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from connectors.errors import AuthExpiredError, ConnectorError, FatalError, RetriableError
from connectors.outbound import network_failure

T = TypeVar("T")

_RETRIABLE_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNABLE_TO_LOCK_ROW"})
_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


@dataclass(frozen=True)
class Failure:
    """What a failed response said: status, Salesforce errorCode and message (never a secret)."""

    status: int
    code: str
    message: str

    @property
    def detail(self) -> str:
        return f"Salesforce {self.status} {self.code}: {self.message}".strip()


def _kind(failure: Failure) -> type[ConnectorError]:
    """The table: retriable codes and statuses first, then expired sessions, then fatal."""
    if failure.code in _RETRIABLE_CODES or failure.status == 429 or failure.status >= 500:
        return RetriableError
    if failure.status == 401 or failure.code == "INVALID_SESSION_ID":
        return AuthExpiredError
    return FatalError


def classify(error: Exception, last_response: requests.Response | None) -> ConnectorError:
    """The ConnectorError for ``error``; unknown exceptions are not classified (they propagate)."""
    if isinstance(error, ConnectorError):
        return error
    if isinstance(error, SalesforceAuthenticationFailed):
        return _login_failure(error)
    if isinstance(error, SalesforceError):
        return _from_failure(_failure(error), last_response)
    if isinstance(error, _TRANSPORT_ERRORS):
        return network_failure(error)
    if isinstance(error, ValueError | ExpatError):
        # requests' JSONDecodeError is a ValueError: a truncated body is a transport failure,
        # never an empty page.
        return RetriableError(f"unreadable Salesforce response: {type(error).__name__}")
    raise error


def classified(call: Callable[[], T], last_response: Callable[[], requests.Response | None]) -> T:
    """Run ``call``, turning every known failure into its ConnectorError."""
    try:
        return call()
    except Exception as error:
        raise classify(error, last_response()) from error


def failure_from_body(status: int, body: Any) -> Failure:
    """Salesforce REST errors are ``[{"message": ..., "errorCode": ...}]``; OAuth errors are
    ``{"error": ..., "error_description": ...}``; anything else is kept as a short text."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
        return Failure(status, str(first.get("errorCode", "")), str(first.get("message", "")))
    if isinstance(body, dict):
        code = body.get("errorCode") or body.get("error") or ""
        message = body.get("message") or body.get("error_description") or ""
        return Failure(status, str(code), str(message))
    return Failure(status, "", _short(body))


def login_error(failure: Failure, response: requests.Response | None) -> ConnectorError:
    """A failed login or token refresh: retriable when the table says so, otherwise fatal (a
    rejected credential cannot be fixed by renewing the session)."""
    if _kind(failure) is RetriableError:
        return _from_failure(failure, response)
    return FatalError(failure.detail)


def _failure(error: SalesforceError) -> Failure:
    return failure_from_body(int(error.status), error.content)


def _from_failure(failure: Failure, response: requests.Response | None) -> ConnectorError:
    kind = _kind(failure)
    if kind is RetriableError:
        return RetriableError(failure.detail, retry_after=_retry_after(response, failure.status))
    return kind(failure.detail)


def _login_failure(error: SalesforceAuthenticationFailed) -> ConnectorError:
    """SOAP login faults carry an exceptionCode (INVALID_LOGIN...); a non-XML reply carries the
    HTTP status instead. The message is Salesforce's text, which never echoes the password."""
    if isinstance(error.code, int):
        return login_error(Failure(error.code, "", "login failed"), None)
    return FatalError(f"Salesforce login failed {error.code}: {_short(error.auth_message)}")


def _retry_after(response: requests.Response | None, status: int) -> float | None:
    if response is None or response.status_code != status:
        return None
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: fall back to the policy's backoff


def _short(value: Any) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text[:300]
