"""The worker: drift is reported (one JSON line, and in metrics) and, without self-heal, left
as it is; a bug in one check is reported, and the worker goes on with the next group."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from reconciler.core.jid import parse_group_jid
from reconciler.engine.planner import PlanPolicy
from reconciler.titan.client import TitanClient
from reconciler.watch import Watcher, WatchOptions
from tests.support.builders import desired, want
from tests.support.watching import (
    ALICE,
    ALICE_JID,
    KEY,
    SECRET,
    TEAM,
    TEAM_NOW,
    Clock,
    Setup,
    running,
)


async def test_without_self_heal_drift_is_reported_and_left(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="reconciler.watch")
    async with running(Setup(tmp_path, WatchOptions(), Clock())) as setup:
        await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
        await setup.settle()
        assert ALICE not in setup.participants()
        drift = [json.loads(r.getMessage()) for r in caplog.records if '"drift"' in r.getMessage()]
        assert len(drift) == 1
        assert drift[0]["group"] == "team"
        assert drift[0]["changes"] == ["add +1 415-555-0101"]
        assert setup.count("groupctl_drift_total", group="team") == 1


async def test_a_bug_in_one_check_is_reported_and_the_worker_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug somewhere below")

    client = TitanClient("http://titan.test", api_key=KEY, transport=httpx.MockTransport(broken))
    watcher = Watcher(
        desired=desired(want("team", "Team", TEAM_NOW, id=TEAM), want("ops", "Ops", {})),
        client=client,
        secret=SECRET,
        policy=PlanPolicy(),
        pictures=None,
        clock=Clock(),
    )
    caplog.set_level("INFO", logger="reconciler.watch")
    worker = asyncio.create_task(watcher.work())
    watcher.tick()
    await watcher.idle()
    assert not worker.done()  # both groups were tried, and it waits for more
    failed = [r for r in caplog.records if '"check_failed"' in r.getMessage()]
    assert [json.loads(r.getMessage())["group"] for r in failed] == ["team", "ops"]
    worker.cancel()
    await client.aclose()
