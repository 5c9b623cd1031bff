"""Bounded retries with exponential backoff and jitter that honour ``Retry-After`` (tenacity).

The sleep is injectable so tests never wait for real time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from connectors.errors import ConnectorError, RetriableError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)


def _is_retriable(error: BaseException) -> bool:
    return isinstance(error, ConnectorError) and error.retriable


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(
        initial=policy.initial_delay, max=policy.max_delay, jitter=policy.jitter
    )

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, RetriableError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), policy.max_delay)
        return float(backoff(state))

    return wait


def with_retries(policy: RetryPolicy, call: Callable[[], T]) -> T:
    """Run ``call``; retry retriable failures up to ``policy.attempts`` tries, then re-raise."""
    retrying = Retrying(
        retry=retry_if_exception(_is_retriable),
        stop=stop_after_attempt(policy.attempts),
        wait=_wait(policy),
        sleep=policy.sleep,
        reraise=True,
    )
    return retrying(call)
