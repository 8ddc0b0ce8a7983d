"""`groupctl apply`, installed, against the simulator over real HTTP: the example settles,
saved plans are applied exactly or refused when stale, and nothing is asked of nobody."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.engine import planfile
from reconciler.sim.state import WorldState
from tests.support.processes import WITH_SIGINT, ServedSim, run_groupctl, sim_serve

ROOT = Path(__file__).parent.parent.parent
KEY = "apply-cli-key-5f3a9b"
ANNOUNCEMENTS = "120363000000000101@g.us"
ANNOUNCEMENTS_CODE = "Inv120363000000000101"  # examples/world.json
ENGINEERING_CODE = "Inv120363000000000102"
OLIVIA = "14155550111@s.whatsapp.net"
LUCAS = "14155550110@s.whatsapp.net"


@pytest.fixture
def served(groupctl: str, example: Path) -> Iterator[ServedSim]:
    with sim_serve(groupctl, example / "world.json", key=KEY) as running:
        yield running


def groupctl_in(
    groupctl: str, example: Path, served: ServedSim, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # Unpaced: pacing is the client's business, tested there; here it would only be slow.
    env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY, "TITAN_WRITE_RATE": "unlimited"}
    return run_groupctl(groupctl, *args, env=env, cwd=cwd or example)


def subjects(example: Path) -> list[str]:
    world = WorldState.model_validate_json((example / "world.json").read_text())
    return sorted(group.subject for group in world.groups)


def test_the_example_is_planned_applied_and_then_has_nothing_to_do(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    first = groupctl_in(groupctl, example, served, "plan", "--detailed-exitcode")
    assert first.returncode == 3, first.stderr
    applied = groupctl_in(groupctl, example, served, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert "created 'Infra On-Call' [oncall]: 120363" in applied.stdout
    assert "[announcements] add olivia (+1 415-555-0111): needs invite (403: " in applied.stdout
    assert (
        "olivia (+1 415-555-0111) needs an invite to 'Acme Announcements' [announcements]:"
        f" send them https://chat.whatsapp.com/{ANNOUNCEMENTS_CODE}\n"
        "Note: anyone holding an invite link can join its group" in applied.stdout
    )
    assert "[engineering] add olivia (+1 415-555-0111): invited (403: " in applied.stdout
    assert "Apply: 6 groups, 6 done. People: 5 added, 1 invited, 1 needing an invite" in (
        applied.stdout
    )
    again = groupctl_in(groupctl, example, served, "plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Plan: no changes." in again.stdout
    assert "olivia (+1 415-555-0111): needs an invite since" in again.stdout  # waiting
    assert "Hackathon 2025" not in subjects(example)
    assert subjects(example).count("Infra On-Call") == 1


def test_who_needs_an_invite_gets_the_link_in_the_report_or_once_by_message_and_plans_settle(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    # Olivia's privacy settings refuse adds. Announcements only reports its link; engineering
    # has invite_by_message: true.
    first = groupctl_in(groupctl, example, served, "apply", "--auto-approve", "--format", "json")
    assert first.returncode == 0, first.stderr
    groups = {group["key"]: group for group in json.loads(first.stdout)["groups"]}
    needs = [s for s in groups["announcements"]["steps"] if s.get("person") == OLIVIA]
    assert [(s["action"], s["outcome"], s["invite_link"]) for s in needs] == [
        ("add", "needs invite", f"https://chat.whatsapp.com/{ANNOUNCEMENTS_CODE}")
    ]
    assert "anyone holding" in groups["announcements"]["invite_link_warning"]
    sent = [s for s in groups["engineering"]["steps"] if s.get("person") == OLIVIA]
    assert [(s["action"], s["outcome"]) for s in sent] == [("add", "invited")]
    for _ in range(2):
        again = groupctl_in(groupctl, example, served, "apply", "--auto-approve")
        assert again.returncode == 0, again.stderr
        assert "Nothing to apply." in again.stdout
    world = WorldState.model_validate_json((example / "world.json").read_text())
    # The example revokes engineering's link after its removals: she is sent the new one.
    (engineering,) = [g for g in world.groups if g.subject == "Acme Engineering"]
    assert engineering.invite_code != ENGINEERING_CODE
    assert [(m.chat_id, m.text) for m in world.messages] == [
        (
            OLIVIA,
            'You are invited to join the WhatsApp group "Acme Engineering":'
            f" https://chat.whatsapp.com/{engineering.invite_code}",
        )
    ]
    assert OLIVIA[:11] not in "".join(world.groups[0].participants)  # she has not joined
    settled = groupctl_in(groupctl, example, served, "plan", "--detailed-exitcode")
    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert "olivia (+1 415-555-0111): needs an invite since" in settled.stdout
    assert "olivia (+1 415-555-0111): sent the group's invite link by message on" in (
        settled.stdout
    )
    # Plans become pull-request comments: the link, which lets anyone join, is never in one.
    for output in ("text", "markdown", "json"):
        shown = groupctl_in(groupctl, example, served, "plan", "--format", output)
        assert "chat.whatsapp.com" not in shown.stdout
        assert ANNOUNCEMENTS_CODE not in shown.stdout


def test_a_saved_plan_is_refused_when_another_account_changed_its_group(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    planned = groupctl_in(groupctl, example, served, "plan", "--out", "p.json")
    assert planned.returncode == 0, planned.stderr
    # Maria, an admin of the announcements group, removes Lucas through her own session.
    answer = httpx.request(
        "DELETE",
        f"{served.url}/api/sessions/maria/groups/{ANNOUNCEMENTS}/participants",
        json={"participants": [LUCAS]},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert answer.json()["data"]["results"][0]["status"] == 200
    before = (example / "world.json").read_bytes()
    refused = groupctl_in(groupctl, example, served, "apply", "p.json", "--auto-approve")
    assert refused.returncode == 4  # out of date: nothing was changed
    assert "the plan is stale: 1 group changed since it was made" in refused.stderr
    assert "announcements:\n    - lucas (+1 415-555-0110) left (was member)" in refused.stderr
    assert (example / "world.json").read_bytes() == before  # nothing applied, anywhere


def test_a_saved_plan_applies_exactly_its_actions(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    assert groupctl_in(groupctl, example, served, "plan", "--out", "p.json").returncode == 0
    saved = planfile.loads((example / "p.json").read_text(), key=KEY)
    applied = groupctl_in(
        groupctl, example, served, "apply", "p.json", "--auto-approve", "--format", "json"
    )
    assert applied.returncode == 0, applied.stderr
    report = json.loads(applied.stdout)
    assert report["ok"] is True
    done = {
        (step["group"], step["action"], step.get("person"))
        for group in report["groups"]
        for step in group["steps"]
        if step.get("person") is not None
    }
    planned = {
        (group.key, "add" if action.kind.value == "create" else action.kind.value, person)
        for group in saved.groups
        for action in group.actions
        for person in action.members
    }
    assert {(g, a if a != "create" else "add", p) for g, a, p in done} == planned
    after = groupctl_in(groupctl, example, served, "plan", "--detailed-exitcode")
    assert after.returncode == 0, after.stdout  # nothing else was done, nothing left


def test_apply_off_a_terminal_without_auto_approve_asks_nothing_and_changes_nothing(
    groupctl: str, example: Path
) -> None:
    before = (example / "world.json").read_bytes()
    done = run_groupctl(groupctl, "apply", "--api", "sim:world.json", cwd=example)
    assert done.returncode == 1
    assert "nobody can answer here: review the plan, then run with --auto-approve" in done.stderr
    assert (example / "world.json").read_bytes() == before


def test_the_safety_brakes_reason_is_in_the_markdown_plan(groupctl: str, example: Path) -> None:
    done = run_groupctl(
        groupctl,
        "plan",
        "--api",
        "sim:world.json",
        "--format",
        "markdown",
        "--max-removals",
        "2",
        cwd=example,
    )
    assert done.returncode == 1
    assert "Stopped by the safety brakes" in done.stdout
    assert "more than --max-removals 2" in done.stdout
    assert "run again with --force" in done.stdout


def test_a_saved_plan_finds_pictures_and_state_beside_its_config(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    elsewhere = example.parent / "elsewhere"
    elsewhere.mkdir()
    planned = groupctl_in(
        groupctl,
        example,
        served,
        "plan",
        "-f",
        "examples/groups.yaml",
        "--out",
        "p.json",
        cwd=example.parent,
    )
    assert planned.returncode == 0, planned.stderr
    shutil.move(example.parent / "p.json", elsewhere / "p.json")
    lost = groupctl_in(
        groupctl, example, served, "apply", "p.json", "--auto-approve", cwd=elsewhere
    )
    assert lost.returncode == 1
    assert "the plan was made from the config examples/groups.yaml, which is not here" in (
        lost.stderr
    )
    applied = groupctl_in(
        groupctl,
        example,
        served,
        "apply",
        "p.json",
        "-f",
        "../examples/groups.yaml",
        "--auto-approve",
        "--write-ids",
        cwd=elsewhere,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "[announcements] picture: done" in applied.stdout
    assert (example / ".groupctl-state.json").exists()  # olivia's invitation, remembered
    assert not (elsewhere / ".groupctl-state.json").exists()
    assert 'id: "120363' in (example / "groups.yaml").read_text()  # oncall, created, bound
    settled = groupctl_in(groupctl, example, served, "plan", "--detailed-exitcode")
    assert settled.returncode == 0, settled.stdout


FIELD = "120363000000000501@g.us"
HIDDEN_WORLD = {
    "people": [
        {"phone": f"+1415555016{n}", "lid": f"20435579123046{n}", "phone_visible_to": "contacts"}
        for n in range(1, 6)
    ],
    "accounts": [{"session": "default", "phone": "+14155550100"}],
    "groups": [
        {
            "id": FIELD,
            "subject": "Field Team",
            "creator": "+14155550100",
            "created_at": 1700000000,
            "invite_code": "FieldInviteCode0000001",
            "addressing_mode": "lid",
            "participants": {
                "+14155550100": "superadmin",
                "+14155550161": "member",
                "+14155550162": "member",
                "+14155550163": "admin",
                "+14155550164": "member",
            },
        }
    ],
}
# Every number but the session's is hidden from it: people are named by LID, or by both.
HIDDEN_CONFIG = """\
version: 1
people:
  ana: {lid: "204355791230461@lid"}
  ben: {phone: "+1 415 555 0162", lid: "204355791230462@lid"}
  cleo: {lid: "204355791230463@lid"}
  dan: {lid: "204355791230464@lid"}
  eve: {phone: "+1 415 555 0165", lid: "204355791230465@lid"}
groups:
  field:
    id: "120363000000000501@g.us"
    subject: Field Team
    members: [ben, cleo, dan, eve]
    admins: [ben]
"""


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_in_a_lid_addressed_group_hidden_people_are_changed_verified_and_settled(
    groupctl: str, tmp_path: Path, output_format: str
) -> None:
    (tmp_path / "world.json").write_text(json.dumps(HIDDEN_WORLD))
    (tmp_path / "groups.yaml").write_text(HIDDEN_CONFIG)
    with sim_serve(groupctl, tmp_path / "world.json", key=KEY) as served:
        env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY, "TITAN_WRITE_RATE": "unlimited"}
        first = run_groupctl(groupctl, "plan", "--detailed-exitcode", env=env, cwd=tmp_path)
        assert first.returncode == 3, first.stdout + first.stderr
        applied = run_groupctl(
            groupctl, "apply", "--auto-approve", "--format", output_format, env=env, cwd=tmp_path
        )
        assert applied.returncode == 0, applied.stdout + applied.stderr
        again = run_groupctl(groupctl, "plan", "--detailed-exitcode", env=env, cwd=tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
    people = {
        "add": "eve (+1 415-555-0165)",
        "promote": "ben (204355791230462@lid)",
        "demote": "cleo (204355791230463@lid)",
        "remove": "ana (204355791230461@lid)",
    }
    if output_format == "text":
        for action, person in people.items():
            assert f"[field] {action} {person}: done\n" in applied.stdout
        assert "re-read 'Field Team' [field]: 4 of 4 people as planned\n" in applied.stdout
        assert "Re-read: 4 of 4 people as planned." in applied.stdout
    else:
        (group,) = json.loads(applied.stdout)["groups"]
        steps = {
            (step["action"], step["person"]): (step["outcome"], step["verified"])
            for step in group["steps"]
        }
        assert steps == {
            ("add", "14155550165@s.whatsapp.net"): ("done", True),
            ("promote", "204355791230462@lid"): ("done", True),
            ("demote", "204355791230463@lid"): ("done", True),
            ("remove", "204355791230461@lid"): ("done", True),
        }
        assert (group["reread"], group["reread_error"]) == (True, None)
    world = WorldState.model_validate_json((tmp_path / "world.json").read_text())
    assert world.groups[0].participants == {
        "+14155550100": "superadmin",
        "+14155550162": "admin",
        "+14155550163": "member",
        "+14155550164": "member",
        "+14155550165": "member",
    }


def answer_on_a_terminal(
    groupctl: str,
    example: Path,
    served: ServedSim,
    answer: str,
    *args: str,
    meanwhile: Callable[[], object] = lambda: None,
) -> tuple[int, str]:
    """`groupctl apply` on a terminal (a pty), answering its question with `answer` (or, for
    "^C", pressing Ctrl-C: the terminal sends SIGINT). `meanwhile` runs while it asks."""
    primary, secondary = pty.openpty()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "GROUPCTL_"))},
        "NO_COLOR": "1",
        "TITAN_API_URL": served.url,
        "TITAN_API_KEY": KEY,
        "TITAN_WRITE_RATE": "unlimited",
    }
    process = subprocess.Popen(
        [*WITH_SIGINT, groupctl, "apply", *args],
        cwd=example,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    seen = b""
    answered = False
    while True:
        ready, _, _ = select.select([primary], [], [], 120)
        assert ready, f"no output for 120 s; so far: {seen.decode(errors='replace')}"
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the process closed the terminal: it is done
            break
        if not chunk:
            break
        seen += chunk
        if not answered and b"Apply these changes? [y/N]:" in seen:
            meanwhile()
            if answer == "^C":
                process.send_signal(signal.SIGINT)
            else:
                os.write(primary, answer.encode() + b"\n")
            answered = True
    os.close(primary)
    return process.wait(timeout=120), seen.decode(errors="replace").replace("\r\n", "\n")


def test_answering_no_on_a_terminal_applies_nothing_and_is_no_error(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    before = (example / "world.json").read_bytes()
    code, output = answer_on_a_terminal(groupctl, example, served, "n")
    assert code == 0, output
    assert "Plan: " in output
    assert "Nothing applied." in output
    assert "error" not in output
    assert (example / "world.json").read_bytes() == before


def test_answering_yes_on_a_terminal_applies_the_plan(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    code, output = answer_on_a_terminal(groupctl, example, served, "y")
    assert code == 0, output
    assert "created 'Infra On-Call' [oncall]: 120363" in output
    assert "Infra On-Call" in subjects(example)


def test_ctrl_c_at_the_question_stops_at_once_and_applies_nothing(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    before = (example / "world.json").read_bytes()
    code, output = answer_on_a_terminal(groupctl, example, served, "^C")
    assert code == 130, output  # 128 + SIGINT, as a shell reports it
    assert "error: interrupted (SIGINT) at the question: nothing was changed" in output
    assert "applying" not in output
    assert (example / "world.json").read_bytes() == before


def test_ids_that_cannot_be_written_do_not_hide_the_report_of_what_was_done(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    config = example / "groups.yaml"

    def break_the_config() -> None:  # edited while apply asks: the ids cannot go in
        config.write_text(config.read_text() + "\nbroken: [\n")

    code, output = answer_on_a_terminal(
        groupctl, example, served, "y", "--write-ids", meanwhile=break_the_config
    )
    assert code == 1, output
    assert "created 'Infra On-Call' [oncall]: 120363" in output
    assert "Apply: " in output
    assert "error: applied, but the new groups' ids were not written:" in output
    assert "groups.yaml" in output


def test_a_saved_plan_that_goes_stale_while_apply_asks_is_refused_after_the_answer(
    groupctl: str, example: Path, served: ServedSim
) -> None:
    assert groupctl_in(groupctl, example, served, "plan", "--out", "p.json").returncode == 0

    def maria_removes_lucas() -> None:
        answer = httpx.request(
            "DELETE",
            f"{served.url}/api/sessions/maria/groups/{ANNOUNCEMENTS}/participants",
            json={"participants": [LUCAS]},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert answer.json()["data"]["results"][0]["status"] == 200

    code, output = answer_on_a_terminal(
        groupctl, example, served, "y", "p.json", meanwhile=maria_removes_lucas
    )
    assert code == 4, output
    assert "the plan is stale: 1 group changed since it was made" in output
    assert "Infra On-Call" not in subjects(example)
