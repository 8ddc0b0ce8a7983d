"""What `/healthz` says: whether watch works, from reads of the session made in the background.

While watch is served, its ticker has Titan read (the session: `Worker.read_session`) every
`interval` seconds (CHECK_EVERY unless `--health-interval` says otherwise), whether or not
anyone asks, so a session that disconnects or a Titan that stops answering shows within
seconds, and healing pauses at once even when Titan's `session.status` webhook is lost.
/healthz never calls Titan itself: asking it costs no call and never waits, however often it is
asked and however slow Titan is. A read still unanswered after ANSWER_WITHIN seconds is itself
a failure ("no answer for N s"), reported while it goes on (the client's retries of a Titan
that has gone away take longer than that).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any

from reconciler.errors import GroupctlError
from reconciler.watch.options import HEALTH_INTERVAL
from reconciler.watch.reporting import log
from reconciler.watch.session import SessionState
from reconciler.watch.worker import Worker

# Seconds: by default, Titan is read at least this often, and at most once in this.
CHECK_EVERY = HEALTH_INTERVAL
ANSWER_WITHIN = 5.0  # seconds: Titan answers a read of the session in well under one


class Health:
    """The last read of the session, and the one under way."""

    def __init__(
        self,
        *,
        worker: Worker,
        session: SessionState,
        clock: Callable[[], float],
        interval: float = CHECK_EVERY,
    ) -> None:
        self._worker = worker
        self._interval = interval
        self._session = session
        self._clock = clock
        self._started = float("-inf")  # when the last read started
        self._problem: str | None = "starting: Titan not read yet"  # of the last read
        self._reading: asyncio.Task[None] | None = None

    @property
    def _under_way(self) -> bool:
        return self._reading is not None and not self._reading.done()

    def tick(self) -> None:
        """Start a read of the session when one is due (none under way, the last started
        `interval` seconds ago or more). Banned, nothing is read (see `session.py`)."""
        if self._session.stopped is not None or self._under_way:
            return
        if self._clock() - self._started >= self._interval:
            self._started = self._clock()
            self._reading = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            await self._worker.read_session()
            self._problem = None
        except GroupctlError as exc:
            self._problem = str(exc)
        except Exception as exc:  # a bug: said loudly, and watch is not healthy with it
            log.exception("reading session %s for /healthz failed unexpectedly", self._session.name)
            self._problem = f"{type(exc).__name__}: {exc}"

    async def settled(self) -> None:
        """Wait for the read under way, if any."""
        if self._reading is not None:
            await self._reading

    async def stop(self) -> None:
        """Give up the read under way (watch is stopping)."""
        if self._reading is not None:
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading

    @property
    def worker_stopped(self) -> bool:
        """Whether the session's worker has stopped: watch itself is broken (or stopping)."""
        return self._worker.stopped

    def answer(self) -> tuple[int, dict[str, Any]]:
        """/healthz's status and body, from what is known now."""
        if self._worker.stopped:
            return 503, {"status": "unavailable", "error": "the worker stopped"}
        session = self._session.as_json()
        if self._session.stopped is not None:
            error = f"healing stopped: {self._session.stopped}"
            return 503, {"status": "unavailable", "error": error, "session": session}
        waited = self._clock() - self._started
        if self._under_way and waited > ANSWER_WITHIN:
            error = f"Titan has not answered a read of the session for {waited:.0f} s"
            return 503, {"status": "unavailable", "error": error}
        if self._problem is not None:
            return 503, {"status": "unavailable", "error": self._problem}
        state = "paused" if self._session.paused else "ok"
        groups = len(self._worker.desired.groups)
        return 200, {"status": state, "groups": groups, "session": session}


def of_sessions(healths: Mapping[str, Health], groups: int) -> tuple[int, dict[str, Any]]:
    """/healthz of a watch of several sessions: each session's answer, as a watch of it alone
    would give it, under `sessions`. 200 while at least one session is served (ok or paused)
    and every worker runs: one account banned or disconnected must not take the others'
    webhooks away (a load balancer stops sending to a 503) nor get them restarted (a liveness
    probe would). A stopped worker is watch broken, not an account: 503, a restart mends it.
    The status is the sessions' own when they agree, else "degraded"."""
    answers = {name: health.answer() for name, health in healths.items()}
    served = any(status == 200 for status, _ in answers.values())
    stopped = [name for name, health in healths.items() if health.worker_stopped]
    states = {body["status"] for _, body in answers.values()}
    state = states.pop() if len(states) == 1 else "degraded"
    body: dict[str, Any] = {
        "status": state if served and not stopped else "unavailable",
        "groups": groups,
        "sessions": {name: body for name, (_, body) in answers.items()},
    }
    if stopped:
        body["error"] = f"the worker of {', '.join(stopped)} stopped"
    elif not served:
        body["error"] = "no session is served: see each one's"
    return (200 if served and not stopped else 503), body
