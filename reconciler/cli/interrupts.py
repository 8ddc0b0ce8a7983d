"""SIGINT and SIGTERM while a command talks to Titan: Ctrl-C on a terminal, a CI job
cancelled (GitHub Actions sends SIGINT, then SIGTERM 7.5 s later), a container stopped.

Before apply begins changing things, a signal ends the run at once: nothing was changed, and
it says so. Once changes have begun (`Stop.armed`), the run is wound down instead: no new call
is started, the calls in flight get a few seconds to finish, the state file is saved, and the
report says what was done and what was not (see `engine.stopping`); a second signal stops the
wait. Either way the exit status is 128 plus the first signal's number: 130 for SIGINT, 143
for SIGTERM, as a shell reports a command the signal ended.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import click

from reconciler.engine.stopping import Stop
from reconciler.errors import InterruptedRunError

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Signals:
    """The signals of one run, and what they did to it."""

    def __init__(self, stop: Stop) -> None:
        self.stop = stop
        self.received: signal.Signals | None = None  # the first one

    @contextmanager
    def handled(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM in the running event loop while the block runs: the
        block's task is cancelled while nothing was changed, wound down after."""
        loop = asyncio.get_running_loop()
        main = asyncio.current_task()
        assert main is not None, "called from a task"

        def on_signal(number: signal.Signals) -> None:
            self.received = self.received or number
            if not self.stop.armed:
                main.cancel()
            else:
                self._wind_down(number)

        handled = _not_ignored()
        for number in handled:
            loop.add_signal_handler(number, on_signal, number)
        try:
            yield
        finally:
            for number in handled:
                loop.remove_signal_handler(number)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """While the block runs (the report printed), a signal is noted, not acted on: the
        report of what was done is not cut off half-way (GitHub Actions sends SIGTERM 7.5 s
        after SIGINT). The exit status still says it came."""

        def note(number: int, frame: object) -> None:
            self.received = self.received or signal.Signals(number)

        previous = {number: signal.signal(number, note) for number in _not_ignored()}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _wind_down(self, number: signal.Signals) -> None:
        if self.stop.reason is None:
            click.echo(
                f"\n{number.name}: stopping. No new change is sent; calls in flight get up to"
                f" {self.stop.grace:g} s to finish, then the state file is saved and what was"
                f" done is reported. {number.name} again to stop waiting.",
                err=True,
            )
        else:
            click.echo(f"{number.name} again: not waiting for the calls in flight.", err=True)
        self.stop.request(f"interrupted ({number.name})")

    def interrupted(self, when: str) -> InterruptedRunError:
        """The error a run the signal stopped ends with; `when` completes 'interrupted ...'."""
        assert self.received is not None
        return InterruptedRunError(
            f"interrupted ({self.received.name}) {when}", signal_number=self.received
        )


def _not_ignored() -> list[signal.Signals]:
    """The signals to handle: a signal the process was started to ignore (SIGINT for
    `groupctl apply &` in a script) stays ignored."""
    return [number for number in HANDLED if signal.getsignal(number) is not signal.SIG_IGN]
