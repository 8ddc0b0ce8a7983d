"""`groupctl watch --register URL` creates Titan's webhook once, with the events listed and the
secret as `hmacKey`; URLs Titan would refuse are refused before any call."""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path

import httpx
import pytest

from reconciler.core.webhook_urls import TITAN_RULE
from reconciler.errors import PermissionDeniedError, UsageError
from reconciler.sim.state import WorldState
from reconciler.titan.client import TitanClient
from reconciler.titan.webhooks import WATCH_EVENTS
from reconciler.watch.registration import register
from tests.conftest import MakeSim
from tests.support.harness import READ_ONLY_KEY, Harness
from tests.support.processes import start_groupctl

HOOK = "https://watch.example.com/webhooks/titan"
SECRET = "register-secret-6c1f0e"


def posts(sim: Harness) -> int:
    return sim.simulator.stats.by_call["POST /api/webhooks"]


async def test_registering_twice_creates_one_webhook(sim: Harness) -> None:
    first = await register(sim.client(), HOOK, SECRET)
    same = "https://WATCH.example.com:443/webhooks/titan"  # the same URL, written otherwise
    again = await register(sim.client(), same, SECRET)
    assert (first.created, again.created) == (True, False)
    assert again.webhook.id == first.webhook.id
    assert posts(sim) == 1
    [hook] = sim.world.state.webhooks
    assert (hook.url, hook.session, hook.hmac_key) == (HOOK, "default", SECRET)
    assert hook.events == list(WATCH_EVENTS)  # listed explicitly, not [] or ["*"]
    assert (hook.retries.attempts, hook.retries.policy) == (3, "exponential")


async def test_a_webhook_for_every_session_counts_one_for_another_does_not(sim: Harness) -> None:
    http = sim.raw()
    await http.post("/api/webhooks", json={"url": HOOK, "session": "other", "events": []})
    made = await register(sim.client(), HOOK, SECRET)
    assert made.created  # the other session's webhook does not deliver ours
    await http.delete(f"/api/webhooks/{made.webhook.id}")
    await http.post("/api/webhooks", json={"url": HOOK, "events": ["group.update"]})
    found = await register(sim.client(), HOOK, SECRET)
    assert not found.created  # session null: every session, ours included
    assert any("does not send group.participant, session.status" in n for n in found.notes)
    assert posts(sim) == 3


@pytest.mark.parametrize(
    "url",
    [
        "http://watch.example.com/webhooks/titan",
        "https://localhost:8080/webhooks/titan",
        "https://127.0.0.1/webhooks/titan",
        "https://10.0.0.7/webhooks/titan",
        "https://[::1]/webhooks/titan",
        "https://watch-box/webhooks/titan",
        "https://watch.corp.internal/webhooks/titan",
    ],
)
async def test_a_url_titan_would_refuse_is_refused_before_any_call(sim: Harness, url: str) -> None:
    with pytest.raises(UsageError, match="public HTTPS") as refused:
        await register(sim.client(), url, SECRET)
    assert TITAN_RULE in str(refused.value)
    assert sim.simulator.stats.requests == 0


async def test_a_key_without_the_webhooks_scope_is_told_which_scope(sim: Harness) -> None:
    with pytest.raises(PermissionDeniedError, match="webhooks:manage"):
        await register(sim.client(api_key=READ_ONLY_KEY), HOOK, SECRET)
    assert sim.world.state.webhooks == []


async def test_a_titan_that_does_not_list_webhooks_gets_one_created_and_a_note() -> None:
    created: list[dict[str, object]] = []

    def titan(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(404, json={"error": "Cannot GET /api/webhooks"})
        created.append(json.loads(request.content))
        return httpx.Response(201, json={"data": {"id": 7, "url": HOOK, "events": []}})

    async with TitanClient(
        "https://titan.test", api_key="k" * 20, transport=httpx.MockTransport(titan)
    ) as client:
        made = await register(client, HOOK, SECRET)
    assert (made.created, made.webhook.id) == (True, 7)
    assert "does not list webhooks" in made.notes[0]
    assert created == [
        {
            "url": HOOK,
            "events": list(WATCH_EVENTS),
            "session": "default",
            "hmacKey": SECRET,
            "retries": {"attempts": 3, "delaySeconds": 5, "policy": "exponential"},
        }
    ]


async def test_the_secret_is_in_no_log_line_of_the_client(
    make_sim: MakeSim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="reconciler")
    sim = make_sim()
    await register(sim.client(), HOOK, SECRET)
    assert any("hmacKey" in record.getMessage() for record in caplog.records)  # logged...
    assert not any(SECRET in record.getMessage() for record in caplog.records)  # ...hidden


# -- the command ---------------------------------------------------------------------------------


def run_watch(
    groupctl: str, example: Path, *args: str, secret: str = SECRET
) -> tuple[int, str, str]:
    """`groupctl watch` until it listens (then SIGTERM), or until it exits on its own."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TITAN_")},
        "TITAN_API_URL": "sim:world.json",
        "TITAN_WEBHOOK_SECRET": secret,
        "NO_COLOR": "1",
    }
    watch = start_groupctl(
        groupctl, "--debug", "watch", "--listen", "127.0.0.1:0", *args, cwd=example, env=env
    )
    try:
        assert watch.stdout is not None
        first = watch.stdout.readline()  # blocks until it listens, or exits
        if "listening" in first:
            # Answering means serving, with its signal handlers in place.
            httpx.get(f"{first.split()[-1]}/metrics", timeout=30).raise_for_status()
            watch.send_signal(signal.SIGTERM)
        out, err = watch.communicate(timeout=60)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate()
    return watch.returncode, first + out, err


def test_watch_registers_its_webhook_once_then_serves(groupctl: str, example: Path) -> None:
    code, out, err = run_watch(groupctl, example, "--register", HOOK)
    assert code == 0, err
    assert "listening on http://127.0.0.1:" in out
    assert f"webhook 1 registered: {HOOK} (group.update, group.participant, session.status)" in err
    code, out, err = run_watch(groupctl, example, "--register", HOOK)
    assert code == 0, err
    assert f"webhook 1 already registered: {HOOK}" in err
    world = WorldState.model_validate_json((example / "world.json").read_text())
    assert [(h.id, h.url) for h in world.webhooks] == [(1, HOOK)]
    assert SECRET not in out + err


def test_watch_refuses_to_register_a_url_titan_would_refuse(groupctl: str, example: Path) -> None:
    code, out, err = run_watch(groupctl, example, "--register", "http://127.0.0.1:8080/hooks")
    assert code == 1
    assert "listening" not in out
    assert (
        "error: --register 'http://127.0.0.1:8080/hooks' is not HTTPS: Titan delivers webhooks"
        " only to public HTTPS URLs" in err
    )
    assert "Traceback" not in err
    world = WorldState.model_validate_json((example / "world.json").read_text())
    assert world.webhooks == []


def test_a_password_in_the_url_is_refused_without_showing_it(groupctl: str, example: Path) -> None:
    with_password = "https://hooks:pa55-word-9f@watch.example.com/webhooks/titan"
    code, out, err = run_watch(groupctl, example, "--register", with_password)
    assert code == 1
    assert "error: --register the URL holds a user name or password" in err
    assert "pa55-word-9f" not in out + err


def test_one_final_line_break_is_removed_from_the_webhook_secret(
    groupctl: str, example: Path
) -> None:
    code, out, err = run_watch(groupctl, example, "--register", HOOK, secret=SECRET + "\n")
    assert code == 0, err
    assert "the webhook secret in TITAN_WEBHOOK_SECRET ended in a line break" in err
    world = WorldState.model_validate_json((example / "world.json").read_text())
    assert [hook.hmac_key for hook in world.webhooks] == [SECRET]  # as Titan will sign
    assert SECRET not in out + err
