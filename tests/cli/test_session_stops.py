"""An account banned in the middle of an apply: the installed groupctl against `sim serve`
stops every group's writes at once, retries nothing, says why, and exits 1."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx

from reconciler.sim.state import Account, Group, WorldState
from tests.support.processes import run_groupctl, sim_serve

KEY = "ban-test-key-4d1c7e"
BOT = "+14155550100"
GROUPS = 50
BAN_AFTER = 10  # writes
CONCURRENCY = 4  # apply's groups at once: the most calls that can be in flight at the ban


def _world(path: Path) -> None:
    groups = [
        Group(
            id=f"1203630000000{n:05d}@g.us",
            subject=f"Team {n:02d}",
            description="old",
            creator=BOT,
            created_at=1_700_000_000 + n,
            invite_code=f"Code{n:018d}",
            participants={BOT: "superadmin"},
        )
        for n in range(GROUPS)
    ]
    account = Account(session="default", phone=BOT, writes_until_ban=BAN_AFTER)
    path.write_text(WorldState(accounts=[account], groups=groups).model_dump_json())


def _config(path: Path) -> None:
    lines = ["version: 1", "session: default", "groups:"]
    for n in range(GROUPS):
        lines += [
            f"  team-{n:02d}:",
            f"    subject: Team {n:02d}",
            "    description: new",
            f"    members: ['{BOT}']",
            f"    admins: ['{BOT}']",
        ]
    path.write_text("\n".join(lines) + "\n")


def test_a_ban_mid_apply_stops_every_group_at_once_and_retries_nothing(
    groupctl: str, tmp_path: Path
) -> None:
    _world(tmp_path / "world.json")
    _config(tmp_path / "groups.yaml")
    with sim_serve(groupctl, tmp_path / "world.json", key=KEY) as sim:
        env = {"TITAN_API_URL": sim.url, "TITAN_API_KEY": KEY, "TITAN_WRITE_RATE": "unlimited"}
        done = run_groupctl(
            groupctl, "apply", "--auto-approve", "--format", "json", env=env, cwd=tmp_path
        )
        stats = httpx.get(f"{sim.url}/_sim/stats").json()
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert "TEMPORARY_BAN" in report["halted"]
    assert "temporarily banned" in report["halted"]
    assert "apply stopped: session 'default' is not connected (DISCONNECTED, TEMPORARY_BAN)" in (
        done.stderr
    )
    outcomes = Counter(
        step["outcome"] for g in report["groups"] for s in [g] for step in s["steps"]
    )
    assert outcomes["done"] == BAN_AFTER
    # After the ban, at most the calls already in flight reached the API, each once.
    writes = {call: n for call, n in stats["by_call"].items() if call.startswith("PUT ")}
    assert sum(writes.values()) <= BAN_AFTER + CONCURRENCY
    assert max(writes.values()) == 1  # no call was retried
    assert stats["by_outcome"].get("503", 0) <= CONCURRENCY
    # Every group not done says why; none is left unreported.
    not_done = [g for g in report["groups"] if not g["ok"]]
    assert len(not_done) == GROUPS - BAN_AFTER
    assert all("TEMPORARY_BAN" in g["error"] for g in not_done)
    world = WorldState.model_validate_json((tmp_path / "world.json").read_text())
    assert sum(g.description == "new" for g in world.groups) == BAN_AFTER
