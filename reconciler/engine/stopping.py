"""Stopping an apply part-way, and saying what was done: what a signal (Ctrl-C, a CI job
cancelled, a container stopped) asks of a run that is changing things.

A run told to stop starts nothing new: no group's next action, no write (the client refuses
them, see `TitanClient.stop`). What is in flight gets `grace` seconds to finish, so that its
outcome is known and reported; then it is cut short (CutShortError: it may or may not have
happened). Either way apply then saves the state file and returns its report, in which every
action not attempted says why. A second request cuts short at once.

The grace is short on purpose: GitHub Actions sends SIGTERM 7.5 s after SIGINT when a job is
cancelled, and SIGKILL 2.5 s later; Docker and Kubernetes wait 10 and 30 s after SIGTERM.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from reconciler.errors import CutShortError
from reconciler.util.waiting import unless

T = TypeVar("T")

# Seconds the calls in flight get to finish once a run is told to stop; and at least, so that
# what the client refuses at the stop is reported as not sent.
STOP_GRACE = 5.0
MIN_GRACE = 0.05


class Stop:
    """A request to stop a run, made from outside (a signal handler), read by apply between
    actions. `armed` says whether the run has begun changing things: until then there is
    nothing to wind down, and whoever makes the request may simply cancel the run."""

    def __init__(self, grace: float = STOP_GRACE) -> None:
        self.grace = grace
        self.reason: str | None = None  # why the run is stopping, once it is
        self.armed = False
        self._listeners: list[Callable[[str], None]] = []
        self._cut = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._hurried = False  # cut short by a second request, not by the grace running out

    def on_request(self, listener: Callable[[str], None]) -> None:
        """Call `listener(reason)` when the stop is requested (at once, if it was)."""
        self._listeners.append(listener)
        if self.reason is not None:
            listener(self.reason)

    def request(self, reason: str) -> None:
        """Stop: a first request gives the calls in flight `grace` seconds; a second one
        cuts them short now. Call it in the run's event loop."""
        if self.reason is not None:
            self._hurried = True
            self._cut.set()
            return
        self.reason = reason
        for listener in self._listeners:
            listener(reason)
        # Never at once: a write the client has just refused (it was waiting for its turn
        # under the write rate) must be reported as not sent, not cut short in flight.
        self._timer = asyncio.get_running_loop().call_later(
            max(self.grace, MIN_GRACE), self._cut.set
        )

    @property
    def cut_short(self) -> bool:
        """Whether the grace is over: whatever is still in flight is abandoned."""
        return self._cut.is_set()

    async def bounded(self, work: Awaitable[T]) -> T:
        """`work`'s result, unless the grace after a stop runs out first: then `work` is
        cancelled and CutShortError raised."""
        task = asyncio.ensure_future(work)
        if not await unless(task, self._cut):
            when = (
                "when the run was told again to stop"
                if self._hurried
                else f"{max(self.grace, MIN_GRACE):g} s after the run was told to stop"
            )
            raise CutShortError(
                f"cut short: still in flight {when} ({self.reason}); it may or may not have"
                " been done"
            )
        return task.result()

    def close(self) -> None:
        """Cancel the grace's timer (the run is over)."""
        if self._timer is not None:
            self._timer.cancel()
