"""Authentication, the HTTP session and the one retried, classified call every request goes through.

simple-salesforce is given a ready session id (``Salesforce(session_id=..., instance_url=...)``)
rather than the credentials, so that it never renews a session behind our back: an expired session
surfaces as SalesforceExpiredSession, which the error table makes AuthExpiredError, and the client
renews it exactly once for that call (refresh-token grant or a new SOAP login).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.login import SalesforceLogin

from connectors.base import ApiUsage
from connectors.clock import ServerClock
from connectors.errors import AuthExpiredError, FatalError, InvalidCredentials
from connectors.outbound import OutboundGuard
from connectors.retry import RetryPolicy, with_retries
from connectors.salesforce.errors import classified, failure_from_body, login_error

T = TypeVar("T")

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = (10.0, 300.0)  # connect, read: a hung socket must not hang a sync forever


@dataclass(frozen=True)
class SalesforceCredentials:
    """How to reach one org. ``auth="refresh_token"`` needs client_id, client_secret,
    refresh_token and instance_url; ``auth="password"`` needs username, password and
    security_token, and logs in at ``https://{domain}.salesforce.com`` (``test`` for sandboxes) or
    at the My Domain ``instance_url`` when given. Secrets never appear in the repr."""

    auth: Literal["refresh_token", "password"]
    instance_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    domain: Literal["login", "test"] = "login"
    api_version: str = "59.0"
    default_currency: str = "USD"  # when the org's own default cannot be read

    def __post_init__(self) -> None:
        required = {
            "refresh_token": ("client_id", "client_secret", "refresh_token", "instance_url"),
            "password": ("username", "password", "security_token"),
        }.get(self.auth)
        if required is None:
            raise ValueError(f"unknown Salesforce auth {self.auth!r}")
        missing = [name for name in required if not getattr(self, name)]
        if missing:
            raise InvalidCredentials(
                missing[0], f"Salesforce {self.auth} credentials need {', '.join(missing)}"
            )


class _Session(requests.Session):
    """A requests session with a default timeout that remembers its last response: simple-salesforce
    exceptions drop the headers, and Retry-After lives there."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout
        self.last_response: requests.Response | None = None
        self.clock = ServerClock()

    def request(
        self, method: str, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        self.last_response = None
        response = super().request(method, url, *args, **kwargs)
        self.last_response = response
        self.clock.note(response.headers)
        return response


class SalesforceClient:
    """One org's authenticated session; ``call`` runs an operation with retries and one renewal."""

    def __init__(
        self,
        credentials: SalesforceCredentials,
        retry: RetryPolicy,
        *,
        login_url: str | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        guard: OutboundGuard = OutboundGuard(),
    ) -> None:
        self.credentials = credentials
        self.retry = retry
        self._login_url = login_url
        self._session = guard.mount(_Session(timeout))
        self._connection: Salesforce | None = None
        self.on_token_rotated: Callable[[str], None] | None = None

    def call(self, operation: Callable[[Salesforce], T]) -> T:
        """``operation`` on the live connection, wrapped in the retry policy."""
        return with_retries(self.retry, lambda: self._attempt(operation))

    @property
    def authenticated(self) -> bool:
        return self._connection is not None

    def authenticate(self) -> None:
        with_retries(self.retry, self._connect)

    def api_usage(self) -> ApiUsage:
        limits = self.call(lambda sf: sf.limits())
        daily = limits.get("DailyApiRequests") if isinstance(limits, dict) else None
        if not isinstance(daily, dict):
            raise FatalError("Salesforce limits carry no DailyApiRequests")
        maximum, remaining = int(daily["Max"]), int(daily["Remaining"])
        return ApiUsage(used=maximum - remaining, limit=maximum)

    def server_time(self) -> datetime:
        """Salesforce's clock: the Date header of its latest response (the limits resource is
        asked when no response has come yet)."""
        moment = self._session.clock.now()
        if moment is None:
            self.api_usage()
            moment = self._session.clock.now()
        if moment is None:
            raise FatalError("Salesforce answered without a Date header")
        return moment

    def _attempt(self, operation: Callable[[Salesforce], T]) -> T:
        try:
            return self._classified(lambda: operation(self._connect()))
        except AuthExpiredError:
            logger.info("Salesforce session expired; renewing it once")
            self._connection = None
        try:
            return self._classified(lambda: operation(self._connect()))
        except AuthExpiredError as again:
            kind = "refresh token" if self.credentials.auth == "refresh_token" else "password"
            raise FatalError(
                f"Salesforce refused a new session from the {kind} credentials: {again.detail}"
            ) from None

    def _connect(self) -> Salesforce:
        if self._connection is None:
            token, instance_url = self._classified(self._login)
            self._connection = Salesforce(
                session_id=token,
                instance_url=instance_url,
                version=self.credentials.api_version,
                session=self._session,
                parse_float=Decimal,
            )
        return self._connection

    def _classified(self, call: Callable[[], T]) -> T:
        return classified(call, lambda: self._session.last_response)

    def _login(self) -> tuple[str, str]:
        if self.credentials.auth == "refresh_token":
            return self._refresh_access_token()
        return self._soap_login()

    def _auth_base_url(self) -> str:
        base = self._login_url or self.credentials.instance_url
        return (base or f"https://{self.credentials.domain}.salesforce.com").rstrip("/")

    def _refresh_access_token(self) -> tuple[str, str]:
        """The OAuth 2.0 refresh-token grant: a new access token and the instance to use it on."""
        credentials = self.credentials
        response = self._session.post(
            f"{self._auth_base_url()}/services/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
                "refresh_token": credentials.refresh_token,
            },
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise login_error(failure_from_body(response.status_code, _body(response)), response)
        body = response.json()
        rotated = body.get("refresh_token")
        if rotated and rotated != credentials.refresh_token:
            # refresh token rotation: the old one is revoked from now on
            self.credentials = replace(credentials, refresh_token=str(rotated))
            if self.on_token_rotated is not None:
                self.on_token_rotated(str(rotated))
        return str(body["access_token"]), str(body.get("instance_url") or credentials.instance_url)

    def _soap_login(self) -> tuple[str, str]:
        """simple-salesforce's SOAP login() with username, password + security token."""
        credentials = self.credentials
        session_id, instance = SalesforceLogin(
            username=credentials.username,
            password=credentials.password,
            security_token=credentials.security_token,
            sf_version=credentials.api_version,
            session=self._session,
            domain=credentials.domain,
            scratch_url=self._auth_base_url(),
        )
        return session_id, f"https://{instance}"


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
