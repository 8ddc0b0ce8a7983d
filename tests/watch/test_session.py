"""`session.status` in watch: healing pauses while the session is not CONNECTED, resumes when
it is, and stops for good at a TEMPORARY_BAN; the worker survives a client that halted, and
calls go out again once the session is back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.core.jid import parse_group_jid
from reconciler.sim.transport import SimTransport
from reconciler.sim.webhooks import envelope
from reconciler.watch import WatchOptions
from tests.support.watching import ALICE, ALICE_JID, TEAM, Clock, Setup, running, signed

GROUP = parse_group_jid(TEAM)
HEAL = WatchOptions(self_heal=True)


async def set_status(setup: Setup, status: str, reason: str | None) -> None:
    """The session changes state, and the simulator tells watch (`session.status`)."""
    async with httpx.AsyncClient(
        transport=SimTransport(setup.sim.asgi), base_url="http://titan-sim"
    ) as control:
        answer = await control.post(
            "/_sim/sessions/default/status", json={"status": status, "statusReason": reason}
        )
        assert answer.status_code == 200
    await setup.settle()


def set_status_silently(setup: Setup, status: str, reason: str | None) -> None:
    """The session changes state, and the webhook saying so is lost."""
    with setup.sim.store.change() as world:
        account = world.account("default")
        account.status, account.status_reason = status, reason  # type: ignore[assignment]


async def deliver(setup: Setup, event: str, payload: Any, session: str = "default") -> int:
    body = envelope(event, payload, session)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=setup.watcher.app), base_url="http://watch.test"
    ) as http:
        answer = await http.post("/webhooks/titan", content=body, headers=signed(body))
    await setup.watcher.idle()
    return answer.status_code


async def health(setup: Setup) -> tuple[int, dict[str, Any]]:
    """/healthz's answer, after the background read of the session that is due, if one is."""
    setup.watcher.health.tick()
    await setup.watcher.health.settled()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=setup.watcher.app), base_url="http://watch.test"
    ) as http:
        answer = await http.get("/healthz")
    return answer.status_code, answer.json()


async def test_a_session_that_disconnects_pauses_healing_and_connected_resumes_it(
    tmp_path: Path,
) -> None:
    async with running(Setup(tmp_path, HEAL, Clock())) as setup:
        await set_status(setup, "DISCONNECTED", "MANUAL_STOP")
        assert setup.watcher.session.paused
        assert setup.count("groupctl_session_connected") == 0
        assert setup.count("groupctl_healing_paused") == 1
        status, answer = await health(setup)
        assert (status, answer["status"], answer["session"]["statusReason"]) == (
            200,
            "paused",
            "MANUAL_STOP",
        )
        await setup.bob.remove_participants(GROUP, [ALICE_JID])
        await setup.settle()
        assert ALICE not in setup.participants()  # nothing written while paused
        assert setup.worker is not None
        assert not setup.worker.done()
        await set_status(setup, "CONNECTED", None)
        assert ALICE in setup.participants()  # resumed: every group checked, and healed
        assert setup.client.halted is None
        assert setup.count("groupctl_heals_total", group="team", result="applied") == 1
        assert setup.count("groupctl_healing_paused") == 0


async def test_while_paused_drift_is_reported_and_no_heal_is_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="reconciler.watch")
    async with running(Setup(tmp_path, HEAL, Clock())) as setup:
        reconnecting = {"status": "CONNECTING", "statusReason": "AUTO_RECONNECT"}
        assert await deliver(setup, "session.status", reconnecting) == 200
        writes = setup.sim.stats.as_json()["write_requests"]
        await setup.bob.remove_participants(GROUP, [ALICE_JID])
        await setup.settle()
        assert setup.sim.stats.as_json()["write_requests"] == writes + 1  # bob's, not a heal
        assert setup.count("groupctl_drift_total", group="team") == 1
        assert setup.count("groupctl_heals_total", group="team", result="paused") == 1
        paused = [json.loads(r.getMessage()) for r in caplog.records if "heal_paused" in r.message]
        assert "AUTO_RECONNECT" in paused[0]["reason"]
        assert await deliver(setup, "session.status", {"status": "CONNECTED"}) == 200
        await setup.settle()
        assert ALICE in setup.participants()


async def test_a_temporary_ban_stops_healing_until_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="reconciler.watch")
    async with running(Setup(tmp_path, HEAL, Clock())) as setup:
        with setup.sim.store.change() as world:
            world.account("default").writes_until_ban = 1  # its heal is its last write
        await setup.bob.remove_participants(GROUP, [ALICE_JID])
        await setup.settle()
        assert ALICE in setup.participants()
        assert setup.watcher.session.stopped is not None
        loud = [r for r in caplog.records if "healing_stopped" in r.message]
        assert [r.levelname for r in loud] == ["ERROR"]
        status, answer = await health(setup)
        assert status == 503
        assert "TEMPORARY_BAN" in answer["error"]
        await set_status(setup, "CONNECTED", None)  # only a restart lifts it
        assert not setup.watcher.session.healing
        assert setup.count("groupctl_healing_paused") == 1
        assert setup.count("groupctl_session_connected") == 1  # what Titan says, shown
        requests = setup.client.stats.requests
        await setup.bob.remove_participants(GROUP, [ALICE_JID])
        await setup.settle()
        setup.watcher.tick()
        await setup.settle()
        assert ALICE not in setup.participants()
        assert setup.client.stats.requests == requests  # not one call for a banned account
        assert setup.count("groupctl_webhooks_total", result="healing_stopped") == 1
        assert (await health(setup))[0] == 503


async def test_a_client_halted_by_a_lost_disconnect_keeps_the_worker_and_is_reset_when_back(
    tmp_path: Path,
) -> None:
    clock = Clock()
    options = WatchOptions(self_heal=True, session_poll=60)
    async with running(Setup(tmp_path, options, clock)) as setup:
        set_status_silently(setup, "DISCONNECTED", "STREAM_ERROR")
        setup.client.reconnect_wait = 0  # the client's own short wait is not what is tested
        await setup.bob.remove_participants(GROUP, [ALICE_JID])
        await setup.settle()
        assert setup.client.halted is not None  # the check found the session down
        assert setup.watcher.session.paused
        assert setup.worker is not None
        assert not setup.worker.done()
        before = dict(setup.sim.stats.by_call)
        clock.now += 60  # paused: only the session is read, not every group
        setup.watcher.tick()
        await setup.settle()
        asked = {call for call, n in setup.sim.stats.by_call.items() if n != before.get(call)}
        assert asked == {"GET /api/sessions/default"}
        set_status_silently(setup, "CONNECTED", None)  # that webhook is lost too
        clock.now += 60
        setup.watcher.tick()
        await setup.settle()
        assert setup.client.halted is None
        assert ALICE in setup.participants()


async def test_a_session_status_without_a_status_makes_watch_read_the_session(
    tmp_path: Path,
) -> None:
    async with running(Setup(tmp_path, HEAL, Clock())) as setup:
        set_status_silently(setup, "DISCONNECTED", "LOGGED_OUT")
        assert await deliver(setup, "session.status", {}) == 202
        assert setup.watcher.session.status == "DISCONNECTED"
        assert setup.watcher.session.paused


async def test_another_sessions_status_changes_nothing(tmp_path: Path) -> None:
    async with running(Setup(tmp_path, HEAL, Clock())) as setup:
        banned = {"status": "DISCONNECTED", "statusReason": "TEMPORARY_BAN"}
        assert await deliver(setup, "session.status", banned, session="bob") == 200
        assert setup.watcher.session.healing
        assert setup.count("groupctl_webhooks_total", result="ignored") == 1
