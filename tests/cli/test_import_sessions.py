"""`groupctl import --session a --session b`: the groups of several accounts, read at once,
make one config that plans to nothing for every account."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from reconciler.config import load
from reconciler.sim.state import Account, Group, Person, Role, WorldState
from tests.support.processes import run_groupctl

PHONES = {"support": "+14155550100", "sales": "+14155550200", "emea": "+14155550300"}
ANA, BEN = "+14155550101", "+14155550102"
BOTH = "120363000000000903@g.us"


def group(number: int, subject: str, participants: dict[str, Role]) -> Group:
    creator = next(phone for phone, role in participants.items() if role == "superadmin")
    return Group(
        id=f"120363000000000{number}@g.us",
        subject=subject,
        creator=creator,
        created_at=1_700_000_000,
        invite_code=f"Code{number:020d}",
        participants=participants,
    )


def world(tmp_path: Path, banned: str | None = None) -> None:
    """Two groups of support, one of sales, one of emea; and one both support and sales are
    in, where support is a plain member and sales is admin: it is sales' to manage."""
    ban = {"status": "DISCONNECTED", "status_reason": "TEMPORARY_BAN"}
    state = WorldState(
        people=[Person(phone=phone) for phone in [*PHONES.values(), ANA, BEN]],
        accounts=[
            Account(session=name, phone=phone, **(ban if name == banned else {}))
            for name, phone in PHONES.items()
        ],
        groups=[
            group(900, "Help", {PHONES["support"]: "superadmin", ANA: "member"}),
            group(901, "Desk", {PHONES["support"]: "superadmin", BEN: "admin"}),
            group(902, "Deals", {PHONES["sales"]: "superadmin", ANA: "member", BEN: "member"}),
            group(
                903,
                "Deals & Help",
                {BEN: "superadmin", PHONES["support"]: "member", PHONES["sales"]: "admin"},
            ),
            group(904, "Euro", {PHONES["emea"]: "superadmin", ANA: "admin"}),
        ],
    )
    (tmp_path / "world.json").write_text(state.model_dump_json())


def groupctl_run(groupctl: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    done = run_groupctl(groupctl, *args, "--api", "sim:world.json", cwd=tmp_path)
    return done.returncode, done.stdout, done.stderr


def test_three_accounts_import_into_one_config_that_plans_to_nothing(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path)
    sessions = ("--session", "support", "--session", "sales", "--session", "emea")
    code, _, err = groupctl_run(groupctl, tmp_path, "import", "--all", *sessions, "-o", "g.yaml")
    assert code == 0, err
    assert "wrote g.yaml: 5 groups" in err
    # The group of two accounts is written once, for the one that is admin in it.
    assert f"note: group {BOTH} is a group of session 'support' too: written once, for 'sales'" in (
        err
    )
    data = yaml.safe_load((tmp_path / "g.yaml").read_text())
    assert data["session"] == "support"
    assert list(data["sessions"]) == ["support", "sales", "emea"]
    desired = load(tmp_path / "g.yaml")
    assert {str(g.id): desired.session_of(g) for g in desired.groups} == {
        "120363000000000900@g.us": "support",
        "120363000000000901@g.us": "support",
        "120363000000000902@g.us": "sales",
        BOTH: "sales",
        "120363000000000904@g.us": "emea",
    }
    # Support's account is a member of sales' group like anyone: the plan keeps it there.
    both = next(g for g in desired.groups if str(g.id) == BOTH)
    assert PHONES["support"] in {jid.e164 for jid in both.state.members}

    code, out, err = groupctl_run(
        groupctl, tmp_path, "plan", "-f", "g.yaml", "--detailed-exitcode", "--format", "json"
    )
    assert code == 0, out + err
    plans = json.loads(out)["sessions"]
    assert sorted(plans) == ["emea", "sales", "support"]
    assert all(not g["actions"] for plan in plans.values() for g in plan["groups"]), plans


def test_import_of_some_groups_finds_each_in_its_account(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path)
    code, out, err = groupctl_run(
        groupctl,
        tmp_path,
        "import",
        "--group",
        "120363000000000904@g.us",
        "--session",
        "support",
        "--session",
        "emea",
    )
    assert code == 0, err
    data = yaml.safe_load(out)
    assert [g["id"] for g in data["groups"].values()] == ["120363000000000904@g.us"]
    assert next(iter(data["groups"].values()))["session"] == "emea"

    code, out, err = groupctl_run(
        groupctl, tmp_path, "import", "--group", "120363000000000902@g.us", "--session", "support"
    )
    assert (code, out) == (1, "")
    assert "120363000000000902@g.us: not among the groups of session 'support'" in err


def test_an_account_that_cannot_be_read_stops_the_import_and_is_named(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path, banned="sales")
    code, _, err = groupctl_run(
        groupctl,
        tmp_path,
        "import",
        "--all",
        "--session",
        "support",
        "--session",
        "sales",
        "-o",
        "g.yaml",
    )
    assert code == 1
    assert "session 'sales' is not connected (DISCONNECTED, TEMPORARY_BAN)" in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "g.yaml").exists()
