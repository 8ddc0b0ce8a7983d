"""watch of a config of several accounts: one listener hands each delivery to the session its
envelope names; each session checks and heals its own groups with its own account, pauses
alone, says its own state at /healthz and its own series at /metrics; a reload gives each its
groups and says when an account needs a restart; a signal stops them all."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import reconciler.watch.worker as worker_module
from reconciler.cli.connection import ApiSettings
from reconciler.cli.watch import groups_by_session
from reconciler.core.jid import parse_group_jid
from reconciler.engine.service import plan_now
from reconciler.sim.transport import SimTransport
from reconciler.sim.webhooks import envelope
from reconciler.watch import WatchOptions
from tests.support.watching import (
    ALICE,
    ALICE_JID,
    DEALS,
    HELP,
    SESSIONS_CONFIG,
    Clock,
    Sessions,
    serving,
    signed,
)

HEAL = WatchOptions(self_heal=True)
FAILURE_BOUND = 30  # seconds: only a hang reaches it


async def post(setup: Sessions, path: str, body: bytes) -> tuple[int, Any]:
    """A delivery (or any POST) to the listener, then every session's queue checked."""
    transport = httpx.ASGITransport(app=setup.listener.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://watch.test") as http:
        answer = await http.post(path, content=body, headers=signed(body))
    await setup.settle()
    return answer.status_code, answer.json()


async def get(setup: Sessions, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=setup.listener.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://watch.test") as http:
        return await http.get(path)


def alice_left(group: str, session: str | None) -> bytes:
    """Titan's delivery saying Alice left `group`, as `session` saw it (None: it names none)."""
    if session is not None:
        return envelope("group.participant", {"id": group, "left": [ALICE]}, session)
    event = {"id": f"evt_{secrets.token_hex(8)}", "event": "group.participant", "session": None}
    sent = datetime.now(UTC).isoformat()
    return json.dumps(
        {**event, "timestamp": sent, "payload": {"id": group, "left": [ALICE]}}
    ).encode()


def remove_alice_silently(setup: Sessions, group: str) -> None:
    """Alice is removed, and no webhook says so."""
    with setup.sim.store.change() as world:
        found = next(g for g in world.state.groups if g.id == group)
        del found.participants[ALICE]


async def set_status(setup: Sessions, session: str, status: str, reason: str | None) -> None:
    """The account's session changes state, and the simulator tells watch."""
    async with httpx.AsyncClient(
        transport=SimTransport(setup.sim.asgi), base_url="http://titan-sim"
    ) as control:
        answer = await control.post(
            f"/_sim/sessions/{session}/status", json={"status": status, "statusReason": reason}
        )
        assert answer.status_code == 200
    await setup.settle()


async def healthz(setup: Sessions) -> tuple[int, dict[str, Any]]:
    """/healthz, after each session's background read that is due."""
    for watcher in setup.watchers.values():
        watcher.health.tick()
        await watcher.health.settled()
    answer = await get(setup, "/healthz")
    return answer.status_code, answer.json()


def logged(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    lines = [json.loads(record.getMessage()) for record in caplog.records]
    return [line for line in lines if line["event"] == event]


async def test_a_drift_in_one_accounts_group_is_reported_and_healed_by_that_account_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="reconciler.watch")
    async with serving(Sessions(tmp_path, HEAL, Clock())) as setup:
        support_writes = setup.writes("support")
        await setup.bob.remove_participants(parse_group_jid(DEALS), [ALICE_JID])
        await setup.settle()
        assert ALICE in setup.participants(DEALS)  # put back...
        assert setup.writes("sales") == 1  # ...by the sales account, with one add
        assert setup.writes("support") == support_writes
        assert setup.count("groupctl_drift_total", session="sales", group="deals") == 1
        assert setup.count("groupctl_drift_total", session="support", group="deals") == 0
        applied = {"group": "deals", "result": "applied"}
        assert setup.count("groupctl_heals_total", session="sales", **applied) == 1
        # Bob's own session saw the change too: a session not watched, ignored.
        assert setup.count("groupctl_webhooks_total", session="", result="ignored") >= 1
        assert setup.count("groupctl_webhooks_total", session="sales", result="queued") >= 1
        assert setup.count("groupctl_webhooks_total", session="sales", result="own_change") >= 1
    [drift] = logged(caplog, "drift")
    assert (drift["session"], drift["group"]) == ("sales", "deals")
    assert logged(caplog, "heal_applied")[0]["session"] == "sales"


async def test_a_delivery_is_handed_only_to_the_session_it_names(tmp_path: Path) -> None:
    async with serving(Sessions(tmp_path, HEAL, Clock())) as setup:
        remove_alice_silently(setup, DEALS)
        checks = setup.count("groupctl_group_checks_total", session="sales")
        # Sales' group, as the support account (not in it) would say: nothing to support...
        assert await post(setup, "/webhooks/titan", alice_left(DEALS, "support")) == (
            200,
            {"status": "ignored"},
        )
        # ...and a session watch does not watch is nobody's.
        assert await post(setup, "/webhooks/titan", alice_left(DEALS, "marketing")) == (
            200,
            {"status": "ignored"},
        )
        assert setup.count("groupctl_group_checks_total", session="sales") == checks
        assert ALICE not in setup.participants(DEALS)
        assert setup.writes("sales") == setup.writes("support") == 0
        status, _ = await post(setup, "/webhooks/titan", alice_left(DEALS, "sales"))
        assert status == 202
        assert ALICE in setup.participants(DEALS)
        assert setup.writes("sales") == 1


async def test_one_accounts_event_does_not_swallow_anothers_of_the_same_id(
    tmp_path: Path,
) -> None:
    """Ids are deduplicated per session: the support account's copy of a change (it is not
    the group's account) comes first, and sales' own, of the same id, is still acted on."""
    async with serving(Sessions(tmp_path, HEAL, Clock())) as setup:
        remove_alice_silently(setup, DEALS)
        theirs = json.loads(alice_left(DEALS, "support"))
        ours = json.dumps({**theirs, "session": "sales"}).encode()
        assert await post(setup, "/webhooks/titan", json.dumps(theirs).encode()) == (
            200,
            {"status": "ignored"},
        )
        status, _ = await post(setup, "/webhooks/titan", ours)
        assert status == 202
        assert ALICE in setup.participants(DEALS)
        # Titan's retry of the same delivery is still a duplicate.
        assert await post(setup, "/webhooks/titan", ours) == (200, {"status": "duplicate"})


async def test_a_group_event_naming_no_session_goes_to_the_session_whose_group_it_is(
    tmp_path: Path,
) -> None:
    async with serving(Sessions(tmp_path, HEAL, Clock())) as setup:
        remove_alice_silently(setup, DEALS)
        status, _ = await post(setup, "/webhooks/titan", alice_left(DEALS, None))
        assert status == 202
        assert ALICE in setup.participants(DEALS)
        assert (setup.writes("sales"), setup.writes("support")) == (1, 0)
        unknown = "120363000000000099@g.us"  # no session's: ignored
        assert await post(setup, "/webhooks/titan", alice_left(unknown, None)) == (
            200,
            {"status": "ignored"},
        )
        # A state without a session is nobody's state.
        body = json.dumps(
            {"id": "evt_status", "event": "session.status", "payload": {"status": "CONNECTING"}}
        ).encode()
        assert await post(setup, "/webhooks/titan", body) == (200, {"status": "ignored"})
        assert not any(w.session.paused for w in setup.watchers.values())


async def test_a_ban_of_one_account_stops_its_heals_while_the_other_still_heals(
    tmp_path: Path,
) -> None:
    async with serving(Sessions(tmp_path, HEAL, Clock())) as setup:
        status, answer = await healthz(setup)
        assert (status, answer["status"], answer["groups"]) == (200, "ok", 2)
        assert {name: s["status"] for name, s in answer["sessions"].items()} == {
            "support": "ok",
            "sales": "ok",
        }
        await set_status(setup, "sales", "DISCONNECTED", "TEMPORARY_BAN")
        assert setup.watchers["sales"].session.stopped is not None
        assert setup.watchers["support"].session.healing
        sales_writes = setup.writes("sales")
        await setup.bob.remove_participants(parse_group_jid(DEALS), [ALICE_JID])
        await setup.bob.remove_participants(parse_group_jid(HELP), [ALICE_JID])
        await setup.settle()
        assert ALICE in setup.participants(HELP)  # the support account still heals
        assert ALICE not in setup.participants(DEALS)  # the banned one writes nothing
        assert setup.writes("sales") == sales_writes
        stopped = {"session": "sales", "result": "healing_stopped"}
        assert setup.count("groupctl_webhooks_total", **stopped) == 1
        assert setup.count("groupctl_healing_paused", session="sales") == 1
        assert setup.count("groupctl_healing_paused", session="support") == 0
        # One account banned: watch still serves the other (200), and says which is not.
        status, answer = await healthz(setup)
        assert (status, answer["status"]) == (200, "degraded")
        sales = answer["sessions"]["sales"]
        assert (sales["status"], sales["session"]["statusReason"]) == (
            "unavailable",
            "TEMPORARY_BAN",
        )
        assert answer["sessions"]["support"]["status"] == "ok"
        # Every account banned: nothing is served.
        await set_status(setup, "support", "DISCONNECTED", "TEMPORARY_BAN")
        status, answer = await healthz(setup)
        assert (status, answer["status"]) == (503, "unavailable")
        assert answer["error"] == "no session is served: see each one's"


async def test_metrics_are_one_registry_with_each_sessions_series_labelled(
    tmp_path: Path,
) -> None:
    async with serving(Sessions(tmp_path, WatchOptions(), Clock())) as setup:
        await setup.bob.remove_participants(parse_group_jid(HELP), [ALICE_JID])
        await setup.settle()
        text = (await get(setup, "/metrics")).text
    assert text.count("# TYPE groupctl_drift_total counter") == 1
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert 'groupctl_drift_total{group="help",session="support"} 1.0' in samples
    assert not any(
        line.startswith('groupctl_drift_total{group="help",session="sales"') for line in samples
    )
    assert 'groupctl_group_checks_total{session="sales"} 1.0' in samples
    assert 'groupctl_session_connected{session="support"} 1.0' in samples
    # The listener's, not each session's:
    assert [line for line in samples if line.startswith("groupctl_webhooks_reading")] == [
        "groupctl_webhooks_reading 0.0"
    ]


async def test_a_reload_gives_each_session_its_groups_and_names_accounts_needing_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="reconciler.watch")

    def reload(config: Path) -> dict[str, Any]:
        return groups_by_session(config, ApiSettings(api=None, api_key=None))

    async with serving(Sessions(tmp_path, WatchOptions(), Clock(), reload=reload)) as setup:
        listener, watchers = setup.listener, setup.watchers
        added = (
            "  leads: {subject: Leads, session: sales}\n  euro: {subject: Euro, session: emea}\n"
        )
        setup.config.write_text(SESSIONS_CONFIG.replace("  sales:", "  emea:\n  sales:") + added)
        listener.reload()
        assert [g.key for g in watchers["sales"].desired.groups] == ["deals", "leads"]
        assert [g.key for g in watchers["support"].desired.groups] == ["help"]
        [emea] = logged(caplog, "restart_needed")
        assert (emea["session"], emea["groups"], emea["level"]) == ("emea", 1, "warning")
        # The sales account gone from the config: its groups are checked no more.
        setup.config.write_text(
            SESSIONS_CONFIG.split("  deals:")[0].replace("  sales: {write_rate: unlimited}\n", "")
        )
        listener.reload()
        assert watchers["sales"].desired.groups == ()
        assert [g.key for g in watchers["support"].desired.groups] == ["help"]
        assert logged(caplog, "restart_needed")[-1]["session"] == "sales"
        # A config of no groups at all (between edits): nothing to restart for.
        warned = len(logged(caplog, "restart_needed"))
        setup.config.write_text("version: 1\n")
        listener.reload()
        assert len(logged(caplog, "restart_needed")) == warned
        assert [g.key for g in watchers["support"].desired.groups] == []
        setup.config.write_text(SESSIONS_CONFIG.split("  deals:")[0])
        listener.reload()
        setup.config.write_text("version: 1\ngroups:\n  help: {subject: ''}\n")
        listener.reload()  # a broken config: reported, and every session keeps its groups
        assert [g.key for g in watchers["support"].desired.groups] == ["help"]
    assert len(logged(caplog, "reload_failed")) == 1
    reloaded = {(line["session"], line["groups"]) for line in logged(caplog, "reloaded")}
    assert reloaded == {("support", 1), ("sales", 2), ("sales", 0), ("support", 0)}


class Gate:
    """Holds calls until the test opens it, and says when `expected` have reached it."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.arrived = 0
        self.reached = asyncio.Event()
        self.open = asyncio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        if self.arrived >= self.expected:
            self.reached.set()
        await self.open.wait()


async def test_a_signal_stops_every_session_and_none_heals_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(Sessions(tmp_path, HEAL, Clock())) as setup:
        gate = Gate(expected=2)

        async def slow_read(*args: Any, **kwargs: Any) -> Any:
            await gate.wait()  # each session's check, under way when the signal comes
            return await plan_now(*args, **kwargs)

        monkeypatch.setattr(worker_module, "plan_now", slow_read)
        await setup.bob.remove_participants(parse_group_jid(DEALS), [ALICE_JID])
        await setup.bob.remove_participants(parse_group_jid(HELP), [ALICE_JID])
        await setup.hooks.close()  # delivered: each account's group is being checked
        async with asyncio.timeout(FAILURE_BOUND):
            await gate.reached.wait()
            setup.listener.begin_stop()  # SIGTERM
            gate.open.set()  # the reads end and find Alice missing
            await setup.listener.stop()
        assert all(w._worker.stopped for w in setup.watchers.values())
        assert ALICE not in setup.participants(DEALS)
        assert ALICE not in setup.participants(HELP)
        for session, group in (("sales", "deals"), ("support", "help")):
            stopped = {"session": session, "group": group, "result": "stopped"}
            assert setup.count("groupctl_heals_total", **stopped) == 1
