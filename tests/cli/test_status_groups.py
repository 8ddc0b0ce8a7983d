"""`groupctl status --groups`: every group the session is in, with its id, its participants
and the config entry that manages it, through the installed CLI on the example's world."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from reconciler.core.groups import same_subject
from tests.support.processes import run_groupctl


def test_status_lists_the_sessions_groups_and_which_entry_manages_each(
    groupctl: str, example: Path
) -> None:
    world = json.loads((example / "world.json").read_text())
    me = next(a["phone"] for a in world["accounts"] if a["session"] == "default")
    mine = [g for g in world["groups"] if me in g["participants"]]
    config = yaml.safe_load((example / "groups.yaml").read_text())["groups"]
    by_id = {entry["id"]: key for key, entry in config.items() if "id" in entry}
    by_subject = {same_subject(e["subject"]): k for k, e in config.items() if "id" not in e}

    done = run_groupctl(groupctl, "status", "--groups", "--api", "sim:world.json", cwd=example)

    assert done.returncode == 0, done.stderr
    rows = {
        line.split()[0]: line.split(maxsplit=3)[1:]
        for line in done.stdout.splitlines()
        if line.startswith("  120363")
    }
    assert set(rows) == {g["id"] for g in mine}  # every group of the session, and no other
    for group in mine:
        members, managed_by, subject = rows[group["id"]]
        assert members == str(len(group["participants"]))
        expected = by_id.get(group["id"]) or by_subject.get(same_subject(group["subject"]), "-")
        assert managed_by == expected, group["subject"]
        assert subject == json.dumps(group["subject"])
    assert any(key == "-" for _, key, _ in rows.values())  # a group no entry manages
    assert any(key != "-" for _, key, _ in rows.values())
