"""Rate limits (issue 10, finding 6): requests per API key, and failed authentications per client
address, counted by the ``limits`` library (a moving window) in the server process's memory.

A key past its limit, or any request from an address that failed to authenticate too often,
answers 429 with ``Retry-After`` and the ``RateLimit`` and ``RateLimit-Policy`` fields of the IETF
draft (draft-ietf-httpapi-ratelimit-headers); answers to a key within its limit carry those two
fields too. The address is checked before the key is even looked up, so an address that is locked
out learns nothing about the keys it tries.
"""

from __future__ import annotations

import math
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import RATE_LIMIT_OFF, Settings
from app.exceptions import TooManyRequests

STATE_KEY = "rate_limit_headers"  # request.state: the fields the answer carries


@dataclass(frozen=True)
class Policy:
    """One quota: ``name`` in the header fields, ``item`` as the limits library counts it."""

    name: str
    item: RateLimitItem

    def policy_field(self) -> str:
        return f'"{self.name}";q={self.item.amount};w={self.item.get_expiry()}'

    def state_field(self, remaining: int, reset_seconds: int) -> str:
        return f'"{self.name}";r={remaining};t={reset_seconds}'


def _policy(name: str, setting: str) -> Policy | None:
    return None if setting == RATE_LIMIT_OFF else Policy(name, parse(setting))


class RateLimits:
    """The counters of one application (one server process)."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._per_key = _policy("api-key", settings.rate_limit_per_key)
        self._failed_auth = _policy("failed-auth", settings.rate_limit_failed_auth)

    def refuse_locked_out(self, address: str) -> None:
        """429 while ``address`` has spent its quota of failed authentications."""
        policy = self._failed_auth
        if policy is not None and not self._limiter.test(policy.item, address):
            raise self._refusal(
                policy, address, "too many failed authentications from this address"
            )

    def note_failure(self, address: str) -> None:
        if self._failed_auth is not None:
            self._limiter.hit(self._failed_auth.item, address)

    def spend(self, api_key_id: int) -> dict[str, str]:
        """Count one request of the key: the header fields its answer carries, or a 429."""
        policy = self._per_key
        if policy is None:
            return {}
        identifier = str(api_key_id)
        if not self._limiter.hit(policy.item, identifier):
            raise self._refusal(policy, identifier, "this API key is over its rate limit")
        remaining, reset = self._window(policy, identifier)
        return _fields(policy, remaining, reset)

    def _refusal(self, policy: Policy, identifier: str, message: str) -> TooManyRequests:
        _remaining, reset = self._window(policy, identifier)
        headers = {**_fields(policy, 0, reset), "Retry-After": str(reset)}
        return TooManyRequests(f"{message}: retry in {reset} s", headers=headers)

    def _window(self, policy: Policy, identifier: str) -> tuple[int, int]:
        """Units left, and whole seconds until the window frees one (at least 1)."""
        stats = self._limiter.get_window_stats(policy.item, identifier)
        return stats.remaining, max(1, math.ceil(stats.reset_time - time.time()))


def _fields(policy: Policy, remaining: int, reset: int) -> dict[str, str]:
    return {
        "RateLimit-Policy": policy.policy_field(),
        "RateLimit": policy.state_field(remaining, reset),
    }


class RateLimitHeaders:
    """Adds the fields :meth:`RateLimits.spend` left in the request's state to its answer, whatever
    kind of response the route returns (a model, a JSONResponse, a streamed CSV)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: MutableMapping[str, Any] = scope.setdefault("state", {})

        async def send_with_fields(message: Message) -> None:
            fields = state.get(STATE_KEY)
            if message["type"] == "http.response.start" and fields:
                headers = list(message.get("headers", []))
                headers += [
                    (name.lower().encode(), value.encode()) for name, value in fields.items()
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_fields)
