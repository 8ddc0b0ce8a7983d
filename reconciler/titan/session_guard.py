"""The client's circuit breakers: a run does not keep calling a session that is gone, nor
goes on changing things once it is told to stop.

After a failure that may mean the session dropped, the session is read. Connected, the failure
stands and is retried as usual; reconnecting, the run waits for it; otherwise the run stops:
`halted` is set and every later call raises it, unsent (titan-api.md, Transport).

`stop` is the other breaker, pulled from outside (a signal): from then on no write is sent and
no call is tried again (each raises NotSentError), and a write waiting for its turn under the
write rate, or a call waiting to be tried again, stops waiting. A read's first attempt still
goes out: reads change nothing, and they settle what the writes in flight did.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from reconciler.errors import (
    ApiConnectionError,
    ApiError,
    NotSentError,
    ServerError,
    SessionBannedError,
    SessionNotReadyError,
)
from reconciler.titan.models import SessionInfo
from reconciler.titan.sessions import SessionVerdict, describe, verdict
from reconciler.util.waiting import unless

log = logging.getLogger("reconciler.titan")

# Answers after which the session itself is read: Titan documents no code for a session that
# is not connected, so any of these may mean it dropped (titan-api.md, Transport).
_SESSION_SUSPECT = frozenset({409, 422, 502, 503})
_FAILURES_BEFORE_CHECK = 3  # failed calls in a row, of any kind, after which too
# How long a run waits, in all, for a session Titan says it is reconnecting, and for one whose
# connection failed, before it stops.
RECONNECT_WAIT = 120.0
FAILED_CONNECTION_WAIT = 15.0


class SessionGuard:
    """Counts one session's failed calls, and reads the session when they say it may be gone.

    `read_session` reads it afresh. Its own call has the empty path (calls' paths are relative
    to the session), and a failure there never leads to another read."""

    def __init__(
        self,
        session: str,
        read_session: Callable[[], Awaitable[SessionInfo]],
        *,
        reconnect_wait: float,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.session = session
        self.reconnect_wait = reconnect_wait
        # Set once the session is found not connected: every later call stops with it.
        self.halted: SessionNotReadyError | None = None
        self._read_session = read_session
        self._sleep = sleep
        self._failures_in_a_row = 0
        self._check_lock = asyncio.Lock()
        # Set by `stop`: why the run is stopping (no write is sent from then on).
        self.stopping: str | None = None
        self._stopped = asyncio.Event()

    def stop(self, reason: str) -> None:
        """Send no write from now on and try no call again, `reason` being why (it is in the
        NotSentError each such call raises)."""
        if self.stopping is None:
            self.stopping = reason
            self._stopped.set()

    def stop_if_stopping(self, method: str, url: str, attempt: int) -> None:
        """Raise NotSentError for a write, or a call's second or later attempt, once stopping."""
        if self.stopping is not None and (method != "GET" or attempt > 1):
            raise NotSentError(method=method, path=url, reason=self.stopping)

    async def unless_stopped(self, waiting: Awaitable[Any]) -> None:
        """Wait for `waiting` (a turn under the write rate, a pause before trying again), but
        no longer than until `stop`: a stopping run does not wait to send what it will not."""
        if self.stopping is not None:
            if inspect.iscoroutine(waiting):
                waiting.close()  # never started: nothing to wait for
            return
        task = asyncio.ensure_future(waiting)
        if await unless(task, self._stopped):
            task.result()  # its error, if it failed

    def stop_if_halted(self, method: str, url: str) -> None:
        """Raise, for a call not sent, the error that halted the session, if one did."""
        if self.halted is not None:
            raise _not_sent(method, url, self.halted)

    def call_succeeded(self) -> None:
        self._failures_in_a_row = 0

    async def after_failure(self, path: str, failure: ApiError) -> None:
        """Read the session after an answer that may mean it dropped, or after calls have
        failed on Titan's side several times in a row (5xx, no answer): a run must not spend
        minutes retrying call after call against a session that is gone."""
        if isinstance(failure, ServerError | ApiConnectionError):
            self._failures_in_a_row += 1
        if path and (
            failure.status in _SESSION_SUSPECT or self._failures_in_a_row >= _FAILURES_BEFORE_CHECK
        ):
            self._failures_in_a_row = 0
            await self.check(failure)

    async def wait_for_reconnect(self, info: SessionInfo, *, url: str) -> None:
        """For a session just read not connected: wait while Titan reconnects it (up to
        `reconnect_wait` seconds), else halt, as after a failure."""
        await self.check(
            SessionNotReadyError(
                method="GET",
                path=url,
                status=None,
                message="not connected",
                session_status=info.status,
                status_reason=info.status_reason,
            )
        )

    async def check(self, failure: ApiError) -> None:
        """After a failure that may mean the session dropped: read the session. Connected,
        the failure stands (and is retried as usual). Reconnecting, wait for it. Otherwise the
        run stops: `halted` is set and every later call of this client raises it, unsent."""
        async with self._check_lock:  # concurrent failures read the session once
            self.stop_if_halted(failure.method, failure.path)
            waited, delay = 0.0, 1.0
            while True:
                try:
                    info = await self._read_session()
                except ApiError:
                    return  # the session cannot be read either: the failure stands
                decision = verdict(info.status, info.status_reason)
                if decision is SessionVerdict.PROCEED:
                    return
                budget = {
                    SessionVerdict.WAIT: self.reconnect_wait,
                    SessionVerdict.RETRY: min(FAILED_CONNECTION_WAIT, self.reconnect_wait),
                }.get(decision, 0.0)
                if waited < budget:
                    pause = min(delay, budget - waited)  # never past the deadline
                    log.warning(
                        "session %r is %s (%s): waiting %.0f s for it to reconnect",
                        self.session,
                        info.status,
                        info.status_reason or "no reason given",
                        pause,
                    )
                    await self._sleep(pause)
                    waited, delay = waited + pause, min(delay * 2, 30.0)
                    continue
                error = (
                    SessionBannedError
                    if decision is SessionVerdict.BANNED
                    else SessionNotReadyError
                )
                self.halted = error(
                    method=failure.method,
                    path=failure.path,
                    status=failure.status,
                    message=describe(self.session, info.status, info.status_reason),
                    session_status=info.status,
                    status_reason=info.status_reason,
                )
                raise self.halted


def _not_sent(method: str, url: str, halted: SessionNotReadyError) -> ApiError:
    error = type(halted)
    return error(
        method=method,
        path=url,
        status=None,
        message=f"not sent: {halted.message}",
        session_status=halted.session_status,
        status_reason=halted.status_reason,
    )
