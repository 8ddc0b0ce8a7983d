"""SIGINT and SIGTERM in the run's event loop (cli.interrupts), in-process with real signals."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from reconciler.cli.interrupts import Signals
from reconciler.config.workspace import Workspace
from reconciler.engine.plan import Plan
from reconciler.engine.service import Run, apply_config
from reconciler.engine.stopping import Stop
from tests.engine.test_apply import ENG_NOW
from tests.support.builders import desired, want
from tests.support.harness import ENGINEERING, Harness


async def test_a_signal_that_came_while_the_plan_was_shown_finds_nothing_done(
    sim: Harness, tmp_path: Path
) -> None:
    """Until changes begin, a signal cancels the run. One that comes while apply runs without
    a pause (printing a long plan) is read by the loop at its next poll: apply polls before
    its first change."""
    (tmp_path / "groups.yaml").write_text("version: 1\n")
    run = Run(Workspace.of(tmp_path / "groups.yaml"))
    config = desired(want("eng", "Renamed", dict(ENG_NOW), id=ENGINEERING))
    signals = Signals(Stop())

    def show(plan: Plan) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # delivered now; handled when the loop polls

    with signals.handled(), pytest.raises(asyncio.CancelledError):
        await apply_config(sim.client(), run, desired=config, show=show, stop=signals.stop)
    current = asyncio.current_task()
    assert current is not None
    current.uncancel()
    assert signals.received == signal.SIGTERM
    assert sim.world.state.groups[0].subject == "Engineering"
    assert not (tmp_path / ".groupctl-state.json").exists()


async def test_a_signal_the_process_ignores_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with Signals(Stop()).handled():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_signal_while_the_report_prints_is_noted_not_acted_on() -> None:
    signals = Signals(Stop())
    with signals.deferred():
        os.kill(os.getpid(), signal.SIGTERM)  # the default would end the process here
        printed = "the report"
    assert printed == "the report"
    assert signals.received == signal.SIGTERM
