"""A config of three accounts: plan and apply take every session at once, each with its own
client, state file and lock; a banned account stops alone, and the run says which."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.render.markdown import SEPARATOR
from reconciler.sim.state import Account, Person, WorldState
from tests.support.processes import run_groupctl

CONFIG = """version: 1
session: support
sessions:
  support:
  sales: {write_rate: unlimited}
  emea:
groups:
  help: {subject: Help, members: ["+14155550101"]}
  desk: {subject: Desk, members: ["+14155550101"]}
  deals: {subject: Deals, session: sales, members: ["+14155550102"]}
  leads: {subject: Leads, session: sales, members: ["+14155550102"]}
  euro: {subject: Euro, session: emea, members: ["+14155550101"]}
"""
PHONES = {"support": "+14155550100", "sales": "+14155550200", "emea": "+14155550300"}


def world(tmp_path: Path, banned: str | None = None) -> None:
    people = [*PHONES.values(), "+14155550101", "+14155550102"]
    ban = {"status": "DISCONNECTED", "status_reason": "TEMPORARY_BAN"}
    (tmp_path / "world.json").write_text(
        WorldState(
            people=[Person(phone=phone) for phone in people],
            accounts=[
                Account(session=name, phone=phone, **(ban if name == banned else {}))
                for name, phone in PHONES.items()
            ],
        ).model_dump_json()
    )
    (tmp_path / "groups.yaml").write_text(CONFIG)


def groupctl_run(groupctl: str, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    done = run_groupctl(
        groupctl, *args, "--api", "sim:world.json", "--write-rate", "unlimited", cwd=tmp_path
    )
    return done.returncode, done.stdout, done.stderr


def test_every_account_is_planned_and_applied_at_once_and_converges(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path)
    code, out, err = groupctl_run(groupctl, tmp_path, "plan", "--detailed-exitcode")
    assert code == 2, out + err
    for session, groups in (("support", ["Help", "Desk"]), ("sales", ["Deals", "Leads"])):
        head = out.index(f'Plan for session "{session}"')
        section = out[head : out.find("Plan for session", head + 1)]
        assert all(f'+ create "{group}"' in section for group in groups), section
    as_json = json.loads(groupctl_run(groupctl, tmp_path, "plan", "--format", "json")[1])
    assert sorted(as_json["sessions"]) == ["emea", "sales", "support"]
    assert [g["key"] for g in as_json["sessions"]["sales"]["groups"]] == ["deals", "leads"]

    code, out, err = groupctl_run(groupctl, tmp_path, "apply", "--auto-approve")
    assert code == 0, out + err
    created = WorldState.model_validate_json((tmp_path / "world.json").read_text())
    assert {g.subject: g.creator for g in created.groups} == {
        "Help": PHONES["support"],
        "Desk": PHONES["support"],
        "Deals": PHONES["sales"],
        "Leads": PHONES["sales"],
        "Euro": PHONES["emea"],
    }
    # Each account keeps its records apart: the config's own in the usual file.
    assert sorted(p.name for p in tmp_path.glob(".groupctl-state*.json")) == [
        ".groupctl-state.emea.json",
        ".groupctl-state.json",
        ".groupctl-state.sales.json",
    ]
    code, out, err = groupctl_run(groupctl, tmp_path, "plan", "--detailed-exitcode")
    assert code == 0, out + err
    assert out.count("Plan: no changes.") == 3


def test_a_banned_account_stops_alone_and_the_run_names_it(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path, banned="sales")
    code, out, err = groupctl_run(groupctl, tmp_path, "apply", "--auto-approve")
    assert code == 1
    assert "error: session 'sales':" in err
    assert "TEMPORARY_BAN" in err
    assert "1 session of 3 did not finish: 'sales'" in err
    done = WorldState.model_validate_json((tmp_path / "world.json").read_text())
    assert sorted(g.subject for g in done.groups) == ["Desk", "Euro", "Help"]
    code, out, err = groupctl_run(groupctl, tmp_path, "plan")
    assert code == 1
    assert "1 session of 3 could not be planned: 'sales'" in err
    assert out.count("Plan: no changes.") == 2


def test_several_sessions_at_once_need_auto_approve_and_one_state_file_each(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path)
    code, _, err = groupctl_run(groupctl, tmp_path, "apply")
    assert code == 1
    assert "--auto-approve" in err  # nothing is asked of three accounts at once
    code, _, err = groupctl_run(groupctl, tmp_path, "plan", "--state-file", "s.json")
    assert code == 1
    assert "--state-file is the file of one session: add --session NAME" in err
    code, out, err = groupctl_run(
        groupctl, tmp_path, "plan", "--session", "sales", "--out", "plan.json"
    )
    assert code == 0, out + err
    assert json.loads((tmp_path / "plan.json").read_text())["session"] == "sales"


def test_apply_of_several_sessions_in_json_is_one_document_by_session(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path, banned="emea")
    code, out, _ = groupctl_run(groupctl, tmp_path, "apply", "--auto-approve", "--format", "json")
    assert code == 1
    reports = json.loads(out)["sessions"]
    assert sorted(reports) == ["emea", "sales", "support"]
    assert reports["sales"]["ok"] is True
    assert "TEMPORARY_BAN" in reports["emea"]["error"]


def test_a_group_asked_for_is_run_by_its_own_account_alone(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path, banned="emea")  # not called: deals is sales'
    code, out, err = groupctl_run(groupctl, tmp_path, "plan", "--group", "deals")
    assert code == 0, out + err
    assert 'Plan for session "sales"' in out
    assert "support" not in out
    code, _, err = groupctl_run(
        groupctl, tmp_path, "plan", "--session", "support", "--group", "deals"
    )
    assert code == 1
    assert "--group 'deals' is a group of session 'sales': it is not in this run" in err


def test_a_saved_plan_of_every_session_is_applied_whole_or_not_at_all(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path)
    code, out, err = groupctl_run(groupctl, tmp_path, "plan", "--out", "all.json")
    assert code == 0, out + err
    saved = json.loads((tmp_path / "all.json").read_text())
    assert sorted(saved["sessions"]) == ["emea", "sales", "support"]
    shown = run_groupctl(groupctl, "show", "all.json", cwd=tmp_path)
    assert shown.stdout.count("Plan for session") == 3
    # A session's plan dropped from the file: the file's own seal refuses it.
    dropped = {**saved, "sessions": {k: v for k, v in saved["sessions"].items() if k != "sales"}}
    (tmp_path / "dropped.json").write_text(json.dumps(dropped))
    code, _, err = groupctl_run(groupctl, tmp_path, "apply", "--auto-approve", "dropped.json")
    assert code == 1
    assert "its seal does not match its sessions' plans" in err
    # The sales account's groups are made meanwhile: its plan is stale, and none is applied.
    code, out, err = groupctl_run(
        groupctl, tmp_path, "apply", "--auto-approve", "--session", "sales"
    )
    assert code == 0, out + err
    code, _, err = groupctl_run(groupctl, tmp_path, "apply", "--auto-approve", "all.json")
    assert code == 4, err
    assert "error: session 'sales':" in err
    assert "1 session of 3 would not apply its plan: nothing was applied" in err
    done = WorldState.model_validate_json((tmp_path / "world.json").read_text())
    assert sorted(g.subject for g in done.groups) == ["Deals", "Leads"]
    # A fresh one goes through whole.
    code, out, err = groupctl_run(groupctl, tmp_path, "plan", "--out", "again.json")
    assert code == 0, out + err
    code, out, err = groupctl_run(groupctl, tmp_path, "apply", "--auto-approve", "again.json")
    assert code == 0, out + err
    code, out, _ = groupctl_run(groupctl, tmp_path, "plan", "--detailed-exitcode")
    assert code == 0


def test_one_sessions_plan_is_never_applied_out_of_its_file(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path)
    code, out, err = groupctl_run(groupctl, tmp_path, "plan", "--out", "all.json")
    assert code == 0, out + err
    alone = json.loads((tmp_path / "all.json").read_text())["sessions"]["emea"]
    (tmp_path / "emea.json").write_text(json.dumps(alone))
    code, _, err = groupctl_run(groupctl, tmp_path, "apply", "--auto-approve", "emea.json")
    assert code == 1
    assert "is one session's plan of a file of several sessions' plans" in err
    assert WorldState.model_validate_json((tmp_path / "world.json").read_text()).groups == []


def test_the_brakes_refuse_a_file_of_several_sessions_whole(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path)
    code, out, err = groupctl_run(
        groupctl, tmp_path, "plan", "--out", "all.json", "--max-creates", "1", "--force"
    )
    assert code == 0, out + err
    code, _, err = groupctl_run(
        groupctl, tmp_path, "apply", "--auto-approve", "all.json", "--max-creates", "1"
    )
    assert code == 1
    assert "would not apply its plan: nothing was applied" in err
    assert WorldState.model_validate_json((tmp_path / "world.json").read_text()).groups == []


def test_each_sessions_markdown_plan_is_a_comment_of_its_own(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path)
    code, out, err = groupctl_run(groupctl, tmp_path, "plan", "--format", "markdown")
    assert code == 0, out + err
    parts = [part for part in out.split(SEPARATOR) if part.strip()]
    assert [part.count("### groupctl plan for") for part in parts] == [1, 1, 1]


def test_status_checks_every_account_and_names_the_one_not_ready(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path, banned="sales")
    done = run_groupctl(groupctl, "status", "--api", "sim:world.json", cwd=tmp_path)
    assert done.returncode == 1
    assert [line for line in done.stdout.splitlines() if line.startswith("Session:")] == [
        "Session:  emea: CONNECTED, as +1 415-555-0300",
        "Session:  sales: DISCONNECTED, TEMPORARY_BAN, as +1 415-555-0200",
        "Session:  support: CONNECTED, as +1 415-555-0100",
    ]
    assert "error: not ready: 1 session: 'sales'" in done.stderr


def test_an_accounts_own_limits_lower_the_runs_brakes_for_it_alone(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path)
    config = tmp_path / "groups.yaml"
    config.write_text(
        CONFIG.replace("sales: {write_rate: unlimited}", "sales: {limits: {max_adds: 1}}")
    )
    # Sales' plan adds 2 members (one to each new group): over its own limit of 1.
    code, out, err = groupctl_run(groupctl, tmp_path, "apply", "--auto-approve")
    assert code == 1, out + err
    assert "adds 2 members" in out + err
    created = WorldState.model_validate_json((tmp_path / "world.json").read_text())
    assert sorted(g.subject for g in created.groups) == ["Desk", "Euro", "Help"]
    # The run's own brake, lower still, holds for every account; a higher one does not lift
    # the account's.
    code, out, err = groupctl_run(groupctl, tmp_path, "plan", "--max-adds", "100")
    assert code == 1
    assert 'Plan for session "sales"' in out
    assert "adds 2 members" in out + err
    config.write_text(config.read_text().replace("max_adds: 1", "max_adds: 50"))
    code, out, err = groupctl_run(groupctl, tmp_path, "plan", "--max-adds", "1")
    assert code == 1
    assert "adds 2 members" in out + err


def test_an_accounts_limits_are_checked_at_their_line(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path)
    wrong = "sales: {limits: {max_adds: -1, max_x: 1}}"
    (tmp_path / "groups.yaml").write_text(CONFIG.replace("sales: {write_rate: unlimited}", wrong))
    done = run_groupctl(groupctl, "validate", cwd=tmp_path)
    code, err = done.returncode, done.stderr
    assert code == 1
    assert "groups.yaml:5:" in err
    assert "sessions.sales.limits.max_adds: expected 0 or more, not -1" in err
    assert "unknown key 'max_x': did you mean 'max_adds'?" in err
