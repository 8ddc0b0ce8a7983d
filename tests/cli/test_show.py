"""`groupctl show PLANFILE`: a saved plan, as plan printed it, without the API; its seal
checked where it can be."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import run_groupctl, sim_serve

KEY = "show-key-71c2"


def test_a_saved_plan_shows_as_plan_printed_it(groupctl: str, example: Path) -> None:
    for output_format in ("text", "markdown"):
        planned = run_groupctl(
            groupctl,
            "plan",
            "--api",
            "sim:world.json",
            "--format",
            output_format,
            "--out",
            "plan.json",
            cwd=example,
        )
        assert planned.returncode == 0, planned.stderr
        shown = run_groupctl(groupctl, "show", "plan.json", "--format", output_format, cwd=example)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout == planned.stdout
        assert shown.stderr == ""
    as_json = run_groupctl(groupctl, "show", "plan.json", "--format", "json", cwd=example)
    assert json.loads(as_json.stdout) == json.loads((example / "plan.json").read_text())


def test_a_changed_plan_is_refused(groupctl: str, example: Path) -> None:
    run_groupctl(groupctl, "plan", "--api", "sim:world.json", "--out", "plan.json", cwd=example)
    plan = example / "plan.json"
    plan.write_text(plan.read_text().replace("Acme Announcements", "Acme Announcementz", 1))
    shown = run_groupctl(groupctl, "show", "plan.json", cwd=example)
    assert shown.returncode == 1
    assert "plan.json is refused: it was changed after it was made" in shown.stderr
    assert shown.stdout == ""


def test_a_plan_sealed_with_a_key_is_checked_with_it_and_shown_without(
    groupctl: str, example: Path
) -> None:
    with sim_serve(groupctl, example / "world.json", key=KEY) as served:
        env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY}
        planned = run_groupctl(groupctl, "plan", "--out", "plan.json", env=env, cwd=example)
    assert planned.returncode == 0, planned.stderr
    checked = run_groupctl(groupctl, "show", "plan.json", env={"TITAN_API_KEY": KEY}, cwd=example)
    assert (checked.returncode, checked.stderr) == (0, "")
    assert checked.stdout == planned.stdout
    unchecked = run_groupctl(groupctl, "show", "plan.json", cwd=example)
    assert unchecked.returncode == 0
    assert "its seal is not checked here (apply checks it)" in unchecked.stderr
    assert unchecked.stdout == planned.stdout
    wrong = run_groupctl(groupctl, "show", "plan.json", env={"TITAN_API_KEY": "other"}, cwd=example)
    assert wrong.returncode == 1
    assert KEY not in wrong.stdout + wrong.stderr + unchecked.stderr
