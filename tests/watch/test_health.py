"""/healthz: answered from reads of the session made in the background at least every 10 s,
never by a request, so asking costs no call and never waits for Titan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from reconciler.watch import WatchOptions
from reconciler.watch.health import ANSWER_WITHIN, CHECK_EVERY
from tests.support.watching import Clock, Setup, running


async def healthz(setup: Setup) -> tuple[int, dict[str, Any]]:
    transport = httpx.ASGITransport(app=setup.watcher.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://watch.test") as http:
        answer = await http.get("/healthz")
    return answer.status_code, answer.json()


def session_reads(setup: Setup) -> int:
    return setup.sim.stats.by_call["GET /api/sessions/default"]


async def ticked(setup: Setup) -> int:
    """A tick, as the ticker makes every second while served, and the read it started (if one
    was due) done: how many times the session has been read."""
    setup.watcher.health.tick()
    await setup.watcher.health.settled()
    return session_reads(setup)


async def test_titan_is_read_every_10_s_and_never_because_healthz_is_asked(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with running(Setup(tmp_path, WatchOptions(), clock)) as setup:
        reads = session_reads(setup)
        status, answer = await healthz(setup)
        assert (status, answer["error"]) == (503, "starting: Titan not read yet")
        assert await ticked(setup) == reads + 1
        for _ in range(20):
            assert (await healthz(setup))[0] == 200
        assert session_reads(setup) == reads + 1  # asking costs no call
        clock.now += CHECK_EVERY - 0.1
        assert await ticked(setup) == reads + 1
        clock.now += 0.1
        assert await ticked(setup) == reads + 2  # at least every 10 s
        assert CHECK_EVERY <= 10


async def test_health_interval_sets_how_often_titan_is_read(tmp_path: Path) -> None:
    clock = Clock()
    async with running(Setup(tmp_path, WatchOptions(health_interval=60.0), clock)) as setup:
        reads = await ticked(setup)
        clock.now += 59.9
        assert await ticked(setup) == reads  # the default's 10 s are not this interval
        clock.now += 0.1
        assert await ticked(setup) == reads + 1


async def test_a_read_unanswered_for_5_s_is_unhealthy_while_it_goes_on(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with running(Setup(tmp_path, WatchOptions(), clock)) as setup:
        await ticked(setup)
        health = setup.watcher.health
        health.tick()  # not due: nothing started
        clock.now += CHECK_EVERY
        health.tick()  # started; it gets no answer until this test lets it run
        clock.now += ANSWER_WITHIN
        assert health.answer()[0] == 200  # not late yet
        clock.now += 1.5
        status, answer = health.answer()
        assert status == 503
        assert answer["error"] == "Titan has not answered a read of the session for 6 s"
        await health.settled()
        assert health.answer()[0] == 200


async def test_a_session_found_disconnected_by_the_background_read_pauses_healing(
    tmp_path: Path,
) -> None:
    async with running(Setup(tmp_path, WatchOptions(self_heal=True), Clock())) as setup:
        with setup.sim.store.change() as world:  # and the webhook saying so is lost
            account = world.account("default")
            account.status, account.status_reason = "DISCONNECTED", "MANUAL_STOP"
        assert not setup.watcher.session.paused
        await ticked(setup)
        assert setup.watcher.session.paused
        status, answer = await healthz(setup)
        assert (status, answer["status"], answer["session"]["status"]) == (
            200,
            "paused",
            "DISCONNECTED",
        )
