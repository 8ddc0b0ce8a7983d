"""`groupctl watch`: signed webhooks only, drift reported, healed once, with backoff."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.config import load
from reconciler.core.jid import parse_group_jid
from reconciler.engine.planner import PlanPolicy
from reconciler.sim.state import WorldState
from reconciler.sim.webhooks import envelope
from reconciler.titan.client import TitanClient
from reconciler.watch import MAX_BODY, Watcher, WatchOptions
from tests.support.builders import desired, want
from tests.support.processes import sim_serve, start_groupctl
from tests.support.watching import (
    ALICE,
    ALICE_JID,
    KEY,
    LUCAS,
    SECRET,
    TEAM,
    TEAM_NOW,
    Clock,
    Setup,
    eventually,
    free_port,
    running,
    signed,
)


def event(**payload: Any) -> bytes:
    return envelope("group.participant", {"id": TEAM, **payload}, "default")


async def test_unsigned_oversized_replayed_or_malformed_deliveries_make_no_api_call(
    tmp_path: Path,
) -> None:
    async with running(Setup(tmp_path, WatchOptions(self_heal=True), Clock())) as setup:
        requests = setup.sim.stats.requests
        body = event(left=[ALICE.removeprefix("+") + "@s.whatsapp.net"])
        good = signed(body)
        cases: list[tuple[bytes, dict[str, str], int]] = [
            (body, {}, 401),  # no signature
            (body, signed(body, "another-secret"), 401),  # wrong secret
            (body, {"X-Webhook-Signature": good["X-Webhook-Signature"][:-8]}, 401),  # truncated
            (body, {"X-Webhook-Signature": "md5=" + "0" * 32}, 401),  # not sha256
            (body[:-1], good, 401),  # the body changed after signing
            (b"x" * (10 * 1024 * 1024), signed(b"x" * (10 * 1024 * 1024)), 413),  # 10 MB
            (b"{not json", signed(b"{not json"), 400),
            (b'["a list"]', signed(b'["a list"]'), 400),
        ]
        transport = httpx.ASGITransport(app=setup.watcher.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://watch.test") as http:
            for content, headers, status in cases:
                answer = await http.post("/webhooks/titan", content=content, headers=headers)
                assert answer.status_code == status, (content[:40], headers)
            assert setup.sim.stats.requests == requests  # none of them reached the API
            first = await http.post("/webhooks/titan", content=body, headers=good)
            await setup.watcher.idle()
            assert first.status_code == 202
            after_first = setup.sim.stats.requests
            assert after_first > requests  # a valid one does: the group is re-read
            replay = await http.post("/webhooks/titan", content=body, headers=good)
            await setup.watcher.idle()
            assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
            assert setup.sim.stats.requests == after_first
        assert setup.count("groupctl_webhooks_total", result="bad_signature") == 5
        assert setup.count("groupctl_webhooks_total", result="too_large") == 1
        assert setup.count("groupctl_webhooks_total", result="malformed") == 2
        assert MAX_BODY < 10 * 1024 * 1024


async def test_drift_is_healed_once_and_its_own_webhooks_cause_no_second_round(
    tmp_path: Path,
) -> None:
    async with running(Setup(tmp_path, WatchOptions(self_heal=True), Clock())) as setup:
        await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
        await setup.bob.set_subject(parse_group_jid(TEAM), "Renamed")
        await setup.settle()
        assert setup.participants()[ALICE] == "member"
        assert setup.sim.store.world().state.groups[0].subject == "Team"
        heals = setup.count("groupctl_heals_total", group="team", result="applied")
        assert heals == 1
        assert setup.count("groupctl_webhooks_total", result="own_change") >= 2


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


async def test_a_group_that_keeps_drifting_is_healed_with_backoff(tmp_path: Path) -> None:
    clock = Clock()
    options = WatchOptions(self_heal=True, backoff=2.0, backoff_max=3600.0)
    async with running(Setup(tmp_path, options, clock)) as setup:
        for _ in range(60):  # someone removes Alice again every second, for a minute
            if ALICE in setup.participants():
                await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
            await setup.settle()
            clock.now += 1
            setup.watcher.tick()
            await setup.settle()
        applied = setup.count("groupctl_heals_total", group="team", result="applied")
        deferred = setup.count("groupctl_heals_total", group="team", result="deferred")
    # Heals at 0, 2, 6, 14, 30 and 62 s at most: not 60 of them.
    assert 4 <= applied <= 6
    assert deferred > 0


# -- as real processes ---------------------------------------------------------------------------


class Lines:
    """A process's stderr, read line by line in a thread, waited on with a deadline."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._ready = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self._ready:
                self.lines.append(line)
                self._ready.notify_all()

    def wait_for(self, pattern: str, timeout: float, start: int = 0) -> tuple[int, str]:
        """The index and text of the first line from `start` on that matches."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while True:
                for index in range(start, len(self.lines)):
                    if re.search(pattern, self.lines[index]):
                        return index, self.lines[index]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no line matching {pattern!r} in {timeout} s: {self.lines}"
                    )
                self._ready.wait(left)


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


@pytest.mark.slow
def test_watch_reports_drift_and_heals_it_once(groupctl: str, example: Path) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/webhooks/titan"
    key, secret = "watch-e2e-key-55aa10", "watch-e2e-secret-99bb20"
    hooks = ("--webhook-url", hook, "--webhook-secret", secret)
    with sim_serve(groupctl, example / "world.json", *hooks, key=key) as served:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TITAN_")},
            "TITAN_API_URL": served.url,
            "TITAN_API_KEY": key,
            "TITAN_WEBHOOK_SECRET": secret,
            "TITAN_WRITE_RATE": "unlimited",
            "NO_COLOR": "1",
        }
        done = subprocess.run(
            [groupctl, "apply", "--auto-approve"], cwd=example, env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr
        watch = start_groupctl(
            groupctl, "watch", "--listen", f"127.0.0.1:{port}", "--self-heal", cwd=example, env=env
        )
        try:
            assert watch.stdout is not None
            assert watch.stderr is not None
            assert f"listening on http://127.0.0.1:{port}" in watch.stdout.readline()
            log = Lines(watch.stderr)
            url = f"http://127.0.0.1:{port}"
            eventually(lambda: metric(url, "groupctl_group_checks_total") >= 6, 20, "a resync")
            eventually(lambda: metric(url, "groupctl_queue_groups") == 0, 20, "an empty queue")
            mark = len(log.lines)
            # Maria, another account and an admin, removes Lucas and renames the group.
            with httpx.Client(
                base_url=f"{served.url}/api/sessions/maria",
                headers={"Authorization": f"Bearer {key}"},
            ) as maria:
                group = "/groups/120363000000000101@g.us"
                maria.request("DELETE", f"{group}/participants", json={"participants": [LUCAS]})
                maria.put(f"{group}/subject", json={"value": "Hacked"})
            # Waited for as an event: how fast it comes is a speed figure, not a test's verdict
            # (a loaded machine must not fail it).
            log.wait_for(r'"event": "drift", "group": "announcements"', 15.0, mark)
            try:
                eventually(lambda: announcements(example) == ("Acme Announcements", True), 15, "")
            except AssertionError:
                raise AssertionError(f"not healed: {announcements(example)} {log.lines}") from None
            # Its own changes come back as webhooks, and are known as its own: no second round.
            own = 'groupctl_webhooks_total{result="own_change"}'
            eventually(lambda: metric(url, own) >= 1, 10, "its own changes seen")
            eventually(lambda: metric(url, "groupctl_queue_groups") == 0, 10, "an empty queue")
            drifts = metric(url, 'groupctl_drift_total{group="announcements"}')
            heals = metric(url, 'groupctl_heals_total{group="announcements",result="applied"}')
            deferred = metric(url, 'groupctl_heals_total{group="announcements",result="deferred"}')
            assert 1 <= heals <= 2  # one per change it saw, at most
            # Maria's two changes are seen in one check or in two; a second heal within the
            # backoff waits (deferred), and is checked and healed once its time comes. None of
            # the drifts comes from its own changes.
            assert drifts == heals + deferred
            watch.send_signal(signal.SIGTERM)
            assert watch.wait(timeout=20) == 0
            output = "".join(log.lines)
            assert "Traceback" not in output
            assert key not in output
            assert secret not in output
        finally:
            if watch.poll() is None:
                watch.kill()
            watch.communicate(timeout=20)  # closes its pipes


def announcements(example: Path) -> tuple[str, bool]:
    state = WorldState.model_validate_json((example / "world.json").read_text())
    group = next(g for g in state.groups if g.id == "120363000000000101@g.us")
    return group.subject, "+14155550110" in group.participants


def test_watch_needs_the_webhook_secret(groupctl: str, example: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TITAN_")}
    done = subprocess.run(
        [groupctl, "watch", "--api", "sim:world.json"],
        cwd=example,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "no webhook secret: set TITAN_WEBHOOK_SECRET" in done.stderr


async def test_a_reload_takes_the_new_config_and_a_broken_one_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="reconciler.watch")
    config = tmp_path / "groups.yaml"
    config.write_text("version: 1\ngroups:\n  team: {subject: Team, id: '" + TEAM + "'}\n")
    setup = Setup(tmp_path, WatchOptions(), Clock(), reload=lambda: load(config))
    async with running(setup):
        config.write_text(config.read_text() + "  more: {subject: More}\n")
        setup.watcher.reload()
        assert [g.key for g in setup.watcher.desired.groups] == ["team", "more"]
        config.write_text("version: 1\ngroups:\n  team: {subject: ''}\n")
        setup.watcher.reload()
        assert [g.key for g in setup.watcher.desired.groups] == ["team", "more"]  # kept
    events = [json.loads(r.getMessage())["event"] for r in caplog.records]
    assert events.count("reloaded") == 1
    assert events.count("reload_failed") == 1


async def test_a_group_found_by_subject_and_renamed_is_renamed_back_not_created_again(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = desired(
        want("ops", "Ops", {}),  # checked first at a resync, with every binding redone
        want("team", "Team", TEAM_NOW),  # no id: found by its subject
    )
    setup = Setup(tmp_path, WatchOptions(self_heal=True), clock, config=config)
    async with running(setup):
        await setup.bob.set_subject(parse_group_jid(TEAM), "Renamed")
        clock.now += WatchOptions().resync_interval
        setup.watcher.tick()  # a resync comes first: ops, then team
        await setup.settle()
        groups = setup.sim.store.world().state.groups
        assert [g.subject for g in groups] == ["Team"]  # renamed back, and no second Team
        refused = setup.count("groupctl_heals_total", group="ops", result="refused")
        assert refused >= 1  # ops is not there: creating it is left to apply


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
