"""A config that would do much that cannot be taken back (demote, leave, delete), or much that
WhatsApp bans accounts for (add, create), is stopped by the brakes: the plan is shown with
why in every format, apply changes nothing, and only a flag or --force goes ahead. A pull
request's own `limits:` cannot lift them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.sim.state import Account, Group, Person, WorldState
from tests.support.processes import run_groupctl

BOT = "+14155550100"
SIM = ("--api", "sim:world.json")


def world(tmp_path: Path, groups: int, admins: int) -> None:
    """`groups` groups, each with `admins` admins besides the session (its creator)."""
    tmp_path.joinpath("world.json").write_text(
        WorldState(
            people=[Person(phone=BOT)],
            accounts=[Account(session="default", phone=BOT)],
            groups=[
                Group(
                    id=f"1203630000000000{g:02d}@g.us",
                    subject=f"Team {g}",
                    creator=BOT,
                    created_at=1,
                    invite_code=f"TeamInviteCode000000{g:02d}",
                    participants={
                        BOT: "superadmin",
                        **{f"+1212555{g:02d}{n:02d}": "admin" for n in range(admins)},
                    },
                )
                for g in range(groups)
            ],
        ).model_dump_json()
    )


def config(tmp_path: Path, groups: dict[str, dict[str, Any]]) -> None:
    tmp_path.joinpath("groups.yaml").write_text(json.dumps({"version": 1, "groups": groups}))


def demoting_everyone(groups: int, admins: int, **extra: Any) -> dict[str, dict[str, Any]]:
    """Every group keeps its admins, as plain members: a mistake such as an emptied admins:."""
    return {
        f"team{g}": {
            "subject": f"Team {g}",
            "members": [f"+1212555{g:02d}{n:02d}" for n in range(admins)],
            **extra,
        }
        for g in range(groups)
    }


def leaving(groups: int, action: str) -> dict[str, dict[str, Any]]:
    return {
        f"team{g}": {"subject": f"Team {g}", "ensure": "absent", "absent_action": action}
        for g in range(groups)
    }


def creating(groups: int, people: int) -> dict[str, dict[str, Any]]:
    return {
        f"new{g}": {
            "subject": f"New {g}",
            "members": [f"+1646555{g:02d}{n:02d}" for n in range(people)],
        }
        for g in range(groups)
    }


CASES = {
    "demotions": (
        (4, 3, demoting_everyone(4, 3)),
        "it demotes 12 admins in all, more than --max-demotions 10",
        ("--max-demotions", "12"),
    ),
    "leaves": (
        (4, 0, leaving(4, "leave")),
        "it leaves 4 groups in all, more than --max-leaves 3",
        ("--max-leaves", "4"),
    ),
    "deletes": (
        (2, 0, leaving(2, "delete")),
        "it deletes 2 groups in all, more than --max-deletes 1",
        ("--max-deletes", "2"),
    ),
    "adds": (
        (0, 0, creating(3, 40)),
        "it adds 120 members in all, more than --max-adds 100",
        ("--max-adds", "120"),
    ),
    "creates": (
        (0, 0, creating(11, 1)),
        "it creates 11 groups in all, more than --max-creates 10",
        ("--max-creates", "11"),
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_brake_stops_plan_and_apply_until_its_flag_is_raised(
    groupctl: str, tmp_path: Path, case: str
) -> None:
    (groups, admins, entries), reason, raised = CASES[case]
    world(tmp_path, groups, admins)
    config(tmp_path, entries)
    before = tmp_path.joinpath("world.json").read_bytes()
    for output in ("text", "markdown", "json"):
        shown = run_groupctl(groupctl, "plan", *SIM, "--format", output, cwd=tmp_path)
        assert shown.returncode == 1, shown.stderr
        assert reason in shown.stdout, output  # the plan is shown, with why it stops
        assert "Traceback" not in shown.stderr
    safety = json.loads(shown.stdout)["safety"]
    assert (safety["brakes"], safety["forced"]) == ([reason], False)
    # The brakes it was assessed under, for show to count a session's shards together.
    flag = raised[0].removeprefix("--").replace("-", "_")
    assert safety["limits"][flag] == int(reason.rsplit(" ", 1)[1])  # "...-max-adds 100"
    refused = run_groupctl(groupctl, "apply", *SIM, "--auto-approve", cwd=tmp_path)
    assert refused.returncode == 1
    assert f"the plan is refused by the safety brakes:\n  - {reason}" in refused.stderr
    assert tmp_path.joinpath("world.json").read_bytes() == before  # not one call made
    allowed = run_groupctl(groupctl, "plan", *SIM, *raised, "--detailed-exitcode", cwd=tmp_path)
    assert allowed.returncode in (2, 3), allowed.stderr
    forced = run_groupctl(groupctl, "plan", *SIM, "--force", "--detailed-exitcode", cwd=tmp_path)
    assert forced.returncode in (2, 3), forced.stderr
    assert "Safety brakes lifted by --force" in forced.stdout


def test_a_configs_own_limits_cannot_lift_the_runs(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path, 4, 3)
    generous = {"limits": {"max_demotions": 100, "max_removals": 100, "max_adds": 100}}
    config(tmp_path, demoting_everyone(4, 3, **generous))
    done = run_groupctl(groupctl, "plan", *SIM, cwd=tmp_path)
    assert done.returncode == 1
    assert "it demotes 12 admins in all, more than --max-demotions 10" in done.stdout


def test_a_groups_own_limits_stop_its_own_demotions(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path, 1, 3)
    config(tmp_path, demoting_everyone(1, 3, limits={"max_demotions": 2}))
    done = run_groupctl(groupctl, "plan", *SIM, cwd=tmp_path)
    assert done.returncode == 1
    assert (
        "'Team 0' [team0]: it demotes 3 admins, more than the group's limits: max_demotions: 2"
        in done.stdout
    )
