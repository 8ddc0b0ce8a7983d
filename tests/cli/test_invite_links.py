"""invite_link: revoked after removals and on a schedule, through the installed groupctl
against the simulator over HTTP; `groupctl links` prints the links of managed groups."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.cli.test_plan import world
from tests.support.processes import run_groupctl, sim_serve

KEY = "invite-links-key-5b1f"
OLD_CODE = "TeamInviteCode00000001"
GROUP = "120363000000000001@g.us"


def _world(tmp_path: Path) -> Path:
    return world(tmp_path, {"+14155550101": "admin", "+14155550102": "member"})


def _config(tmp_path: Path, members: str, invite_link: str) -> None:
    (tmp_path / "groups.yaml").write_text(
        "version: 1\n"
        "groups:\n"
        "  team:\n"
        "    subject: Team\n"
        f"    members: [{members}]\n"
        "    admins: ['+14155550101']\n"
        f"    invite_link: {invite_link}\n"
    )


def _preview(url: str, code: str) -> httpx.Response:
    return httpx.get(
        f"{url}/api/sessions/default/groups/join",
        params={"inviteCode": code},
        headers={"Authorization": f"Bearer {KEY}"},
    )


def test_a_removal_revokes_the_link_it_was_planned_to_and_the_old_code_is_refused(
    groupctl: str, tmp_path: Path
) -> None:
    state = _world(tmp_path)
    _config(tmp_path, "'+14155550101'", "{revoke_on_removal: true}")
    with sim_serve(groupctl, state, key=KEY) as served:
        env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY}
        assert _preview(served.url, OLD_CODE).status_code == 200

        planned = run_groupctl(groupctl, "plan", "--detailed-exitcode", env=env, cwd=tmp_path)
        assert planned.returncode == 3, planned.stdout + planned.stderr  # it removes someone
        lines = planned.stdout.splitlines()
        removal = next(i for i, line in enumerate(lines) if "- member" in line)
        revocation = next(i for i, line in enumerate(lines) if "invite link  revoke" in line)
        assert removal < revocation
        assert "after the removals" in lines[revocation]
        assert "1 invite link to revoke" in planned.stdout

        markdown = run_groupctl(groupctl, "plan", "--format", "markdown", env=env, cwd=tmp_path)
        assert "revoke the invite link" in markdown.stdout
        saved = run_groupctl(groupctl, "plan", "--out", "plan.json", env=env, cwd=tmp_path)
        assert saved.returncode == 0, saved.stdout + saved.stderr
        actions = json.loads((tmp_path / "plan.json").read_text())["groups"][0]["actions"]
        assert [a["kind"] for a in actions] == ["remove", "revoke_link"]

        # The reviewed plan is the one applied.
        applied = run_groupctl(
            groupctl, "apply", "--auto-approve", "plan.json", env=env, cwd=tmp_path
        )
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert "the old invite link no longer works" in applied.stdout

        old = _preview(served.url, OLD_CODE)
        assert old.status_code == 404, old.text
        new_code = httpx.get(
            f"{served.url}/api/sessions/default/groups/{GROUP}/invite",
            headers={"Authorization": f"Bearer {KEY}"},
        ).json()["data"]["code"]
        assert new_code != OLD_CODE
        assert _preview(served.url, new_code).status_code == 200

        again = run_groupctl(groupctl, "plan", "--detailed-exitcode", env=env, cwd=tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr


def test_a_rotation_is_due_without_a_record_and_not_again_until_its_period_is_over(
    groupctl: str, tmp_path: Path
) -> None:
    state = _world(tmp_path)
    _config(tmp_path, "'+14155550101', '+14155550102'", "{rotate_every: 30d}")
    with sim_serve(groupctl, state, key=KEY) as served:
        env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY}
        planned = run_groupctl(groupctl, "plan", "--detailed-exitcode", env=env, cwd=tmp_path)
        assert planned.returncode == 2, planned.stdout + planned.stderr
        assert "its rotate_every is due (no record of when it was made)" in planned.stdout
        saved = run_groupctl(groupctl, "plan", "--out", "early.json", env=env, cwd=tmp_path)
        assert saved.returncode == 0, saved.stdout + saved.stderr
        applied = run_groupctl(groupctl, "apply", "--auto-approve", env=env, cwd=tmp_path)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        assert _preview(served.url, OLD_CODE).status_code == 404
        rotated = httpx.get(
            f"{served.url}/api/sessions/default/groups/{GROUP}/invite",
            headers={"Authorization": f"Bearer {KEY}"},
        ).json()["data"]["code"]
        # The plan saved before that apply would rotate it again: it is stale now.
        stale = run_groupctl(
            groupctl, "apply", "--auto-approve", "early.json", env=env, cwd=tmp_path
        )
        assert stale.returncode == 4, stale.stdout + stale.stderr
        assert "its invite link was made again" in stale.stdout + stale.stderr
        assert _preview(served.url, rotated).status_code == 200

        kept = json.loads((tmp_path / ".groupctl-state.json").read_text())
        made = datetime.fromisoformat(kept["links"][GROUP])
        assert abs(datetime.now(UTC) - made) < timedelta(minutes=5)
        settled = run_groupctl(groupctl, "plan", "--detailed-exitcode", env=env, cwd=tmp_path)
        assert settled.returncode == 0, settled.stdout + settled.stderr

        # 31 days later, as the state file tells it: due again.
        kept["links"][GROUP] = (made - timedelta(days=31)).isoformat()
        (tmp_path / ".groupctl-state.json").write_text(json.dumps(kept))
        due = run_groupctl(groupctl, "plan", "--detailed-exitcode", env=env, cwd=tmp_path)
        assert due.returncode == 2, due.stdout + due.stderr
        assert f"made {(made - timedelta(days=31)).date().isoformat()}" in due.stdout


def test_links_prints_the_current_links_of_managed_groups_but_not_disabled_ones(
    groupctl: str, tmp_path: Path
) -> None:
    state = _world(tmp_path)
    _config(tmp_path, "'+14155550101', '+14155550102'", "{revoke_on_removal: true}")
    with sim_serve(groupctl, state, key=KEY) as served:
        env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY}
        shown = run_groupctl(groupctl, "links", "--format", "json", env=env, cwd=tmp_path)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert json.loads(shown.stdout) == [
            {
                "key": "team",
                "subject": "Team",
                "group_id": GROUP,
                "link": f"https://chat.whatsapp.com/{OLD_CODE}",
            }
        ]
        text = run_groupctl(groupctl, "links", env=env, cwd=tmp_path)
        assert f"https://chat.whatsapp.com/{OLD_CODE}" in text.stdout

        _config(tmp_path, "'+14155550101', '+14155550102'", "disabled")
        hidden = run_groupctl(groupctl, "links", "--format", "json", env=env, cwd=tmp_path)
        assert hidden.returncode == 0, hidden.stdout + hidden.stderr
        assert json.loads(hidden.stdout) == []
        assert OLD_CODE not in hidden.stdout + hidden.stderr


def test_links_refuses_a_group_it_cannot_tell_apart_as_plan_does(
    groupctl: str, tmp_path: Path
) -> None:
    state = _world(tmp_path)
    data = json.loads(state.read_text())
    twin = {
        **data["groups"][0],
        "id": "120363000000000002@g.us",
        "invite_code": "Twin0000000000000000002",
    }
    data["groups"].append(twin)
    state.write_text(json.dumps(data))
    (tmp_path / "groups.yaml").write_text(
        "version: 1\ngroups:\n  team:\n    subject: Team\n    members: ['+14155550101']\n"
    )
    with sim_serve(groupctl, state, key=KEY) as served:
        env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY}
        shown = run_groupctl(groupctl, "links", env=env, cwd=tmp_path)
    assert shown.returncode == 1
    assert "team 'Team': not read:" in shown.stdout
    assert "Twin0000" not in shown.stdout
    assert OLD_CODE not in shown.stdout
