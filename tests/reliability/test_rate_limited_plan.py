"""A plan against a rate-limited Titan waits for its turns instead of being answered 429: its
reads are paced by X-RateLimit-Limit/-Remaining and Retry-After (titan.pacing), through the
installed groupctl and `sim serve` over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.sim.state import Account, Group, Person, WorldState
from tests.support.processes import run_groupctl, sim_serve

KEY = "rate-limit-key-5e6f7a"
BOT = "+14155550100"
GROUPS = 60


def phone(n: int) -> str:
    return f"+1212555{n:04d}"


def test_a_plan_of_more_groups_than_the_limit_allows_at_once_gets_almost_no_429(
    groupctl: str, tmp_path: Path
) -> None:
    world, config = tmp_path / "world.json", tmp_path / "groups.yaml"
    groups, lines = [], ["version: 1", "groups:"]
    for index in range(GROUPS):
        people = [phone(index * 3 + n) for n in range(3)]
        groups.append(
            Group(
                id=f"1203630{index:011d}@g.us",
                subject=f"Group {index:02d}",
                creator=BOT,
                created_at=1,
                invite_code=f"Code{index:018d}",
                participants={BOT: "superadmin", **dict.fromkeys(people, "member")},
            )
        )
        lines += [f"  g{index}:", f"    subject: Group {index:02d}", f"    members: {people}"]
    world.write_text(
        WorldState(
            people=[Person(phone=BOT)],
            accounts=[Account(session="default", phone=BOT)],
            groups=groups,
        ).model_dump_json()
    )
    config.write_text("\n".join(lines) + "\n")
    # 62 requests (the session, the list, each group) at 20 a second: three windows' worth.
    with sim_serve(groupctl, world, "--rate-limit", "20/s", key=KEY) as served:
        done = run_groupctl(
            groupctl,
            "plan",
            "-f",
            str(config),
            env={"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY},
        )
        stats = httpx.get(f"{served.url}/_sim/stats").json()
    assert done.returncode == 0, done.stderr
    assert "No changes" in done.stdout or "no changes" in done.stdout
    answered = stats["by_outcome"].get("200", 0)
    limited = stats["by_outcome"].get("429", 0)
    assert answered == GROUPS + 2
    # Finding out how long the window is may cost one 429; jitter on a busy machine, another.
    assert limited <= 3, stats["by_outcome"]
