"""`groupctl plan`, installed, against the simulator: output, plan files and exit codes."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.engine import planfile
from reconciler.sim.state import Account, Group, Person, WorldState
from tests.support.processes import run_groupctl, sim_serve

ROOT = Path(__file__).parent.parent.parent
BOT = "+14155550100"
SECRET = "plan-cli-secret-7c1d2e"


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example config, its pictures and its drifted world."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def plan_example(groupctl: str, example: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`groupctl plan` of the example config against its drifted world."""
    return run_groupctl(
        groupctl,
        "plan",
        "-f",
        "examples/groups.yaml",
        "--api",
        "sim:examples/world.json",
        *args,
        cwd=example,
    )


def world(tmp_path: Path, roles: dict[str, str], subject: str = "Team") -> Path:
    path = tmp_path / "world.json"
    path.write_text(
        WorldState(
            people=[Person(phone=BOT)],
            accounts=[Account(session="default", phone=BOT)],
            groups=[
                Group(
                    id="120363000000000001@g.us",
                    subject=subject,
                    creator=BOT,
                    created_at=1,
                    invite_code="TeamInviteCode00000001",
                    participants={BOT: "superadmin", **roles},
                )
            ],
        ).model_dump_json()
    )
    return path


def config(tmp_path: Path, members: list[str], admins: list[str] | None = None) -> Path:
    path = tmp_path / "groups.yaml"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "groups": {"team": {"subject": "Team", "members": members, "admins": admins or []}},
            }
        )
    )
    return path


def test_the_example_plan_shows_every_kind_of_change(groupctl: str, example: Path) -> None:
    done = plan_example(groupctl, example, "--detailed-exitcode")
    assert done.returncode == 3, done.stderr
    out = done.stdout
    for expected in (
        '+ create "Infra On-Call" [oncall]',
        '~ subject      "Sales Europe" -> "Sales EMEA"',
        '~ description  "Company news" -> "Company-wide news. Only admins post here."',
        "~ picture      pictures/announcements.png",  # relative to the config
        "+ member       olivia (+1 415-555-0111)",
        "^ admin        priya (+44 20 7946 0958)  (promote)",
        "v member       sofia (+1 415-555-0105)  (demote)",
        "- admin        noah (+1 415-555-0108)",  # an admin, removed
        "- member       kai (309811562200417@lid)",  # known by LID only in this group
        '- leave "Launch 2024" [old-launch]',
        '- delete "Hackathon 2025" [hackathon]',
        "2 unmanaged.",
    ):
        assert expected in out, expected
    assert done.stderr == ""


def test_exit_0_when_nothing_changes(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path, {"+14155550101": "member"})
    config(tmp_path, ["+14155550101"])
    done = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--detailed-exitcode", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "Plan: no changes." in done.stdout


def test_exit_2_when_it_only_adds(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path, {"+14155550101": "member"})
    config(tmp_path, ["+14155550101", "+14155550102"], admins=["+14155550101"])
    done = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--detailed-exitcode", cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert "1 member to add, 1 promotion" in done.stdout


def test_exit_3_when_it_removes(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path, {"+14155550101": "member", "+14155550102": "member"})
    config(tmp_path, ["+14155550101"])
    done = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--detailed-exitcode", cwd=tmp_path
    )
    assert done.returncode == 3, done.stderr


def test_exit_1_when_a_group_is_refused_and_the_plan_says_why(
    groupctl: str, tmp_path: Path
) -> None:
    path = world(tmp_path, {"+14155550101": "member"})
    data = json.loads(path.read_text())
    data["groups"][0]["creator"] = "+14155550199"
    data["groups"][0]["participants"] = {
        "+14155550199": "superadmin",
        BOT: "admin",
        "+14155550101": "member",
    }
    path.write_text(json.dumps(data))
    config(tmp_path, ["+14155550101"])
    done = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--detailed-exitcode", cwd=tmp_path
    )
    assert done.returncode == 1
    assert "+1 415-555-0199 created the group and cannot be removed" in done.stdout
    assert done.stderr == "error: 1 group refused: see why above\n"


def test_removing_the_session_is_not_planned_and_demoting_it_is_refused(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path, {"+14155550101": "admin"})
    config(tmp_path, ["+14155550101"], admins=["+14155550101"])  # the session is not listed
    kept = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--detailed-exitcode", cwd=tmp_path
    )
    assert kept.returncode == 0, kept.stdout
    config(tmp_path, ["+14155550101", BOT], admins=["+14155550101"])  # listed as a plain member
    refused = run_groupctl(groupctl, "plan", "--api", "sim:world.json", cwd=tmp_path)
    assert refused.returncode == 1
    assert "groupctl never demotes itself" in refused.stdout


def test_a_mass_removal_is_refused_unless_forced(groupctl: str, tmp_path: Path) -> None:
    world(tmp_path, {f"+1415555{n:04d}": "member" for n in range(101, 111)})
    config(tmp_path, ["+14155550101", "+14155550102"])
    refused = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--detailed-exitcode", cwd=tmp_path
    )
    assert refused.returncode == 1
    assert "8 to remove" in refused.stdout  # the plan is still shown
    assert "error: the plan is refused by the safety brakes:" in refused.stderr
    assert "removes 8 of 11 members (73%), more than 25%" in refused.stderr
    assert "run again with --force" in refused.stderr
    forced = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--detailed-exitcode", "--force", cwd=tmp_path
    )
    assert forced.returncode == 3, forced.stderr
    total = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--max-removals", "5", "--force", cwd=tmp_path
    )
    assert total.returncode == 0


def test_the_plan_file_is_the_json_plan_and_holds_no_key(groupctl: str, example: Path) -> None:
    with sim_serve(groupctl, example / "examples" / "world.json", key=SECRET) as served:
        env_api = ["--api", served.url, "--api-key", SECRET]
        done = run_groupctl(
            groupctl,
            "plan",
            "-f",
            "examples/groups.yaml",
            *env_api,
            "--out",
            "p.json",
            "--format",
            "json",
            "--debug",
            cwd=example,
        )
    assert done.returncode == 0, done.stderr
    saved = (example / "p.json").read_text()
    assert json.loads(done.stdout) == json.loads(saved)
    plan = planfile.loads(saved, key=SECRET)
    assert plan.api == served.url
    assert {g.key for g in plan.groups} == {
        "announcements",
        "engineering",
        "oncall",
        "sales-emea",
        "old-launch",
        "hackathon",
    }
    for text in (saved, done.stdout, done.stderr):
        assert SECRET not in text


def test_markdown_for_a_pull_request(groupctl: str, example: Path) -> None:
    done = plan_example(groupctl, example, "--format", "markdown", "--mask-phones")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("### groupctl plan for <code>default</code>")
    assert "| ✏️ update | Sales EMEA (<code>sales-emea</code>) | subject, \u22121 |" in done.stdout
    assert "415-555" not in done.stdout


def test_only_the_groups_named_are_planned(groupctl: str, example: Path) -> None:
    done = plan_example(groupctl, example, "--group", "sales-emea")
    assert done.returncode == 0, done.stderr
    assert "Sales EMEA" in done.stdout
    assert "Acme" not in done.stdout
    wrong = plan_example(groupctl, example, "--group", "sales")
    assert wrong.returncode == 1
    assert "--group 'sales': the config has no such group (did you mean 'sales-emea'?)" in (
        wrong.stderr
    )


def test_a_bad_config_stops_before_any_api_call(groupctl: str, tmp_path: Path) -> None:
    (tmp_path / "groups.yaml").write_text("version: 1\ngroups:\n  g: {subject: ''}\n")
    done = run_groupctl(groupctl, "plan", "--api", "sim:world.json", cwd=tmp_path)
    assert done.returncode == 1
    assert "groups.yaml:3:16: the subject is empty" in done.stderr
    assert not (tmp_path / "world.json").exists()  # never opened the simulator


def test_the_config_session_is_used_unless_a_flag_says_otherwise(
    groupctl: str, tmp_path: Path
) -> None:
    world(tmp_path, {})
    (tmp_path / "groups.yaml").write_text("version: 1\nsession: nobody\ngroups: {}\n")
    from_config = run_groupctl(groupctl, "plan", "--api", "sim:world.json", cwd=tmp_path)
    assert "session 'nobody' not found" in from_config.stderr
    from_flag = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--session", "default", cwd=tmp_path
    )
    assert from_flag.returncode == 0, from_flag.stderr


def test_masked_json_is_refused_since_a_plan_file_must_be_exact(
    groupctl: str, example: Path
) -> None:
    done = plan_example(groupctl, example, "--format", "json", "--mask-phones")
    assert done.returncode == 1
    assert "--mask-phones is for text and markdown" in done.stderr


def test_min_admins_is_flagged_by_validate_and_refused_by_plan(
    groupctl: str, tmp_path: Path
) -> None:
    """One admin besides the session under min_admins: 2: validate says so without an API
    key, and plan refuses the group, naming it, in text and in Markdown."""
    world(tmp_path, {"+14155550101": "admin", "+14155550102": "admin"})
    path = tmp_path / "groups.yaml"
    path.write_text(
        "version: 1\n"
        "defaults:\n  min_admins: 2\n"
        "groups:\n"
        "  team:\n"
        "    subject: Team\n"
        "    members: ['+14155550101', '+14155550102']\n"
        "    admins: ['+14155550101']\n"
    )
    checked = run_groupctl(groupctl, "validate", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == (
        "warning: groups.yaml:5:3: group 'team' lists 1 admin, fewer than its min_admins: 2"
        " (the session's own number counts here if listed)\n"
    )
    refused = run_groupctl(groupctl, "plan", "--api", "sim:world.json", cwd=tmp_path)
    assert refused.returncode == 1
    assert '"Team" [team]' in refused.stdout
    assert "it would leave 1 admin besides the session, fewer than its min_admins: 2" in (
        refused.stdout
    )
    markdown = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--format", "markdown", cwd=tmp_path
    )
    assert "1 group refused" in markdown.stdout
    assert "fewer than its min_admins: 2" in html.unescape(markdown.stdout)
    path.write_text(path.read_text().replace("admins: ['+14155550101']", "admins: []"))
    path.write_text(path.read_text().replace("  min_admins: 2", "  min_admins: 0"))
    allowed = run_groupctl(groupctl, "plan", "--api", "sim:world.json", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
