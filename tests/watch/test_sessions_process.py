"""`groupctl watch` of a config of two accounts as a real process: one listener serves both,
a drift in one account's group is healed by that account, /healthz says both; --register
registers for each, --session watches one, --state-file needs one."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sim.state import WorldState
from tests.support.processes import sim_serve, start_groupctl
from tests.support.watching import (
    ALICE,
    DEALS,
    SESSIONS_CONFIG,
    eventually,
    free_port,
    two_accounts,
)
from tests.watch.test_register import HOOK, run_watch
from tests.watch.test_watcher import Lines, metric


@pytest.mark.slow
def test_one_watch_process_serves_both_accounts(groupctl: str, tmp_path: Path) -> None:
    (tmp_path / "world.json").write_text(two_accounts().model_dump_json())
    (tmp_path / "groups.yaml").write_text(SESSIONS_CONFIG)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    key, secret = "watch-sessions-key-6e2a90", "watch-sessions-secret-1c7f44"
    hooks = ("--webhook-url", f"{url}/webhooks/titan", "--webhook-secret", secret)
    with sim_serve(groupctl, tmp_path / "world.json", *hooks, key=key) as served:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "GROUPCTL_"))},
            "TITAN_API_URL": served.url,
            "TITAN_API_KEY": key,
            "TITAN_WEBHOOK_SECRET": secret,
            "TITAN_WRITE_RATE": "unlimited",
            "NO_COLOR": "1",
        }
        watch = start_groupctl(
            groupctl, "watch", "--listen", f"127.0.0.1:{port}", "--self-heal", cwd=tmp_path, env=env
        )
        try:
            assert watch.stdout is not None
            assert watch.stderr is not None
            assert f"listening on {url}" in watch.stdout.readline()
            log = Lines(watch.stderr)
            log.wait_for(r"^2 groups of 2 sessions managed \(sales: 1, support: 1\)", 20)
            eventually(lambda: metric(url, "groupctl_group_checks_total") >= 2, 20, "a resync")
            eventually(lambda: metric(url, "groupctl_queue_groups") == 0, 20, "an empty queue")
            eventually(lambda: served_health(url)[0] == 200, 20, "both sessions read")
            sessions = served_health(url)[1]["sessions"]
            assert {name: session["status"] for name, session in sessions.items()} == {
                "sales": "ok",
                "support": "ok",
            }
            mark = len(log.lines)
            with httpx.Client(
                base_url=f"{served.url}/api/sessions/bob",
                headers={"Authorization": f"Bearer {key}"},
            ) as bob:
                gone = bob.request(
                    "DELETE", f"/groups/{DEALS}/participants", json={"participants": [ALICE]}
                )
                assert gone.status_code == 200, gone.text
            log.wait_for(r'"event": "drift", "session": "sales", "group": "deals"', 15, mark)
            log.wait_for(r'"event": "heal_applied", "session": "sales", "group": "deals"', 15, mark)
            world = WorldState.model_validate_json((tmp_path / "world.json").read_text())
            deals = next(g for g in world.groups if g.id == DEALS)
            assert ALICE in deals.participants  # put back by the sales account
            stats = httpx.get(f"{served.url}/_sim/stats", timeout=5).json()["by_call"]
            writes = [call for call in stats if not call.startswith("GET ")]
            assert not [call for call in writes if "/support/" in call], writes
            assert [call for call in writes if "/sales/" in call], writes
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


def served_health(url: str) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{url}/healthz", timeout=5)
    return answer.status_code, answer.json()


def test_register_makes_one_webhook_for_each_account_and_session_picks_one(
    groupctl: str, tmp_path: Path
) -> None:
    (tmp_path / "world.json").write_text(two_accounts().model_dump_json())
    (tmp_path / "groups.yaml").write_text(SESSIONS_CONFIG)
    code, out, err = run_watch(groupctl, tmp_path, "--register", HOOK)
    assert code == 0, err
    assert "listening on http://127.0.0.1:" in out
    assert "2 groups of 2 sessions managed (sales: 1, support: 1)" in err
    for session in ("sales", "support"):
        assert f"session {session}: webhook " in err
    world = WorldState.model_validate_json((tmp_path / "world.json").read_text())
    assert sorted((hook.session, hook.url) for hook in world.webhooks) == [
        ("sales", HOOK),
        ("support", HOOK),
    ]
    code, _, err = run_watch(groupctl, tmp_path, "--register", HOOK)
    assert code == 0, err
    assert err.count("already registered") == 2
    code, _, err = run_watch(groupctl, tmp_path, "--session", "sales")
    assert code == 0, err
    assert "1 groups managed;" in err  # the one account asked for, as a watch of one
    code, _, err = run_watch(groupctl, tmp_path, "--state-file", "s.json")
    assert code == 1
    assert "--state-file is the file of one session: add --session NAME" in err
