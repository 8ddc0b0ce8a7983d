"""watch at SIGTERM: no heal starts once it is told to stop, the heal in progress is wound
down within its grace and reported, and a check waiting on the API does not hold the exit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

import reconciler.watch.worker as worker_module
from reconciler.core.jid import parse_group_jid
from reconciler.engine.service import plan_now
from reconciler.watch import WatchOptions
from tests.support.watching import ALICE, ALICE_JID, TEAM, Clock, Setup

FAILURE_BOUND = 30  # seconds: only a hang reaches it


@asynccontextmanager
async def started(tmp_path: Path) -> AsyncIterator[Setup]:
    """A self-healing watcher whose worker runs as `groupctl watch` runs it, first resync done."""
    setup = Setup(tmp_path, WatchOptions(self_heal=True), Clock())
    setup.watcher._worker.start()
    setup.watcher.tick()
    await setup.settle()
    try:
        yield setup
    finally:
        await setup.watcher.stop()  # a test that failed leaves no task behind
        await setup.client.aclose()
        await setup.bob.aclose()


class Gate:
    """Holds a call until the test opens it, and says when a call has reached it."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.open = asyncio.Event()

    async def wait(self) -> None:
        self.reached.set()
        await self.open.wait()


async def test_a_heal_that_would_start_after_the_signal_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with started(tmp_path) as setup:
        gate = Gate()

        async def slow_read(*args: Any, **kwargs: Any) -> Any:
            await gate.wait()  # the check's read, under way when the signal comes
            return await plan_now(*args, **kwargs)

        monkeypatch.setattr(worker_module, "plan_now", slow_read)  # the worker's reference
        await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
        await setup.hooks.close()  # the webhook delivered: Alice's group is being checked
        async with asyncio.timeout(FAILURE_BOUND):
            await gate.reached.wait()
            setup.watcher.begin_stop()  # SIGTERM
            gate.open.set()  # the read ends and finds Alice missing
            await setup.watcher._worker.stop()
        assert ALICE not in setup.participants()  # nothing was written after the signal
        assert setup.count("groupctl_heals_total", group="team", result="stopped") == 1
        assert setup.count("groupctl_heals_total", group="team", result="applied") == 0


async def heal_held(setup: Setup) -> Gate:
    """Alice removed by Bob, and the heal that puts her back held at its add, which Titan
    never answers (the gate is never opened)."""
    gate = Gate()
    add = setup.client.add_participants

    async def add_never_answered(*args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        return await add(*args, **kwargs)

    setup.client.add_participants = add_never_answered  # type: ignore[method-assign]
    await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
    await setup.hooks.close()
    return gate


async def test_a_heal_in_progress_is_cut_short_within_its_grace_and_reported(
    tmp_path: Path,
) -> None:
    async with started(tmp_path) as setup:
        gate = await heal_held(setup)
        async with asyncio.timeout(FAILURE_BOUND):
            await gate.reached.wait()  # the heal's add is in flight
            assert setup.watcher._worker._healer.healing
            await setup.watcher._worker.stop(grace=0.1)
        assert setup.watcher._worker.stopped
        # Reported as failed, not cancelled half-way without a word: its add was cut short at
        # the grace given (at the heal's default grace, 5 s, stop() would have cancelled it
        # after 0.1 + 2 s).
        assert setup.count("groupctl_heals_total", group="team", result="failed") == 1


async def test_a_second_signal_cuts_the_heal_short_at_once_and_it_is_still_reported(
    tmp_path: Path,
) -> None:
    async with started(tmp_path) as setup:
        gate = await heal_held(setup)
        async with asyncio.timeout(FAILURE_BOUND):
            await gate.reached.wait()
            setup.watcher.begin_stop()  # SIGTERM: the heal gets an hour, were it not for...
            setup.watcher._worker._grace = 3600.0
            setup.watcher.begin_stop()  # ...a second signal
            await setup.watcher.stop()  # as serving ends without its shutdown
        assert setup.count("groupctl_heals_total", group="team", result="failed") == 1
