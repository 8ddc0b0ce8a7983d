"""Retrying a Titan call that failed in a way that may pass: which failures, how often, how
far apart (exponential backoff with full jitter, or the API's own `Retry-After`)."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from reconciler.errors import (
    ApiConnectionError,
    ApiError,
    CreateUncertainError,
    NotSentError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
    SessionNotReadyError,
)
from reconciler.titan.http import CallStats
from reconciler.titan.pacing import SAID_WAIT

log = logging.getLogger("reconciler.titan")

_RETRIED_STATUSES = frozenset({429})  # and every 5xx
_T = TypeVar("_T")


DEFAULT_RETRIES = 5  # tries after the first (`--retries`)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying a call that failed in a way that may pass."""

    attempts: int = 1 + DEFAULT_RETRIES
    total_seconds: float = 120.0
    initial_backoff: float = 0.5
    max_backoff: float = 20.0


def retryable(error: ApiError) -> bool:
    """For calls whose repetition is harmless: reads, setting a value, adding a member (the
    answer to a repeat says "already"). A plain 500 counts too: it may well pass. (A
    hopeless connection failure is never tried again, whatever the call: see `run`.)"""
    if isinstance(error, ApiConnectionError | ServerError):
        return True
    return error.status in _RETRIED_STATUSES


def surely_not_applied(error: ApiError) -> bool:
    """The call certainly had no effect, so repeating it cannot do anything twice."""
    if isinstance(error, ApiConnectionError):
        return not error.request_sent
    return isinstance(error, RateLimitedError)


class Retrier:
    """Runs a call's attempts under one `RetryPolicy`, counting retries in `stats`."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]],
        stats: CallStats,
    ) -> None:
        self._policy = policy
        self._sleep = sleep
        self._stats = stats

    async def run(
        self,
        attempt: Callable[[int], Awaitable[_T]],
        retry_when: Callable[[ApiError], bool],
    ) -> _T:
        """`attempt(1)`, then `attempt(2)`, ... while it fails with an error `retry_when`
        accepts and the policy allows another; the last error otherwise."""

        def log_retry(state: RetryCallState) -> None:
            self._stats.retries += 1
            error = state.outcome.exception() if state.outcome else None
            # Shown without -v: a run that waits should say why. Rate limits are expected: a
            # short wait for one is said with -v only.
            short = state.upcoming_sleep < SAID_WAIT
            level = (
                logging.INFO if isinstance(error, RateLimitedError) and short else logging.WARNING
            )
            log.log(level, "%s; retrying in %.1f s", error, state.upcoming_sleep)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._policy.attempts)
            | stop_before_delay(self._policy.total_seconds),
            wait=self._backoff,
            retry=retry_if_exception(
                lambda exc: (
                    isinstance(exc, ApiError)
                    # Repeating these is what they prevent, or cannot help.
                    and not isinstance(
                        exc,
                        CreateUncertainError
                        | SessionNotReadyError
                        | OutcomeUnknownError
                        | NotSentError,
                    )
                    and not (isinstance(exc, ApiConnectionError) and exc.hopeless)
                    and retry_when(exc)
                )
            ),
            sleep=self._sleep,
            before_sleep=log_retry,
            reraise=True,
        )
        earlier: ApiError | None = None  # the last attempt's failure
        async for state in retrying:
            with state:
                try:
                    return await attempt(state.retry_state.attempt_number)
                except NotSentError as exc:
                    # Not tried again because the run is stopping: the attempt before may
                    # have done the work, and whoever reports the call must know it.
                    raise exc if earlier is None else exc.after(earlier) from None
                except ApiError as exc:
                    earlier = exc
                    raise
        raise AssertionError("unreachable: tenacity reraises the last error")

    def _backoff(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, ApiError) and error.retry_after is not None:
            return error.retry_after + random.uniform(0, 0.1 * error.retry_after + 0.05)  # noqa: S311
        # Exponential backoff with full jitter: spreads out clients that failed together.
        ceiling = min(
            self._policy.max_backoff,
            self._policy.initial_backoff * 2 ** (state.attempt_number - 1),
        )
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311
