"""A saved plan is applied where it was made, by what the address means, not how it is
written; without --api, apply uses the plan's address and says so."""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import run_groupctl, sim_serve

KEY = "address-key-2b7e"


def test_an_address_written_another_way_is_the_same_api(groupctl: str, example: Path) -> None:
    with sim_serve(groupctl, example / "world.json", key=KEY) as served:
        env = {"TITAN_API_KEY": KEY, "TITAN_WRITE_RATE": "unlimited"}
        with_slash = served.url + "/"
        planned = run_groupctl(
            groupctl, "plan", "--api", with_slash, "--out", "plan.json", env=env, cwd=example
        )
        assert planned.returncode == 0, planned.stderr
        written_otherwise = served.url.upper().replace("HTTP://", "http://")
        applied = run_groupctl(
            groupctl,
            "apply",
            "plan.json",
            "--auto-approve",
            "--api",
            written_otherwise,
            env=env,
            cwd=example,
        )
    assert applied.returncode == 0, applied.stderr
    assert "Apply: 6 groups, 6 done." in applied.stdout


def test_a_sim_world_is_the_same_by_its_absolute_path(groupctl: str, example: Path) -> None:
    planned = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--out", "plan.json", cwd=example
    )
    assert planned.returncode == 0, planned.stderr
    absolute = f"sim:{example / 'world.json'}"
    applied = run_groupctl(
        groupctl, "apply", "plan.json", "--auto-approve", "--api", absolute, cwd=example
    )
    assert applied.returncode == 0, applied.stderr


def test_without_an_address_apply_uses_the_plans_and_says_so(groupctl: str, example: Path) -> None:
    run_groupctl(groupctl, "plan", "--api", "sim:world.json", "--out", "plan.json", cwd=example)
    applied = run_groupctl(groupctl, "apply", "plan.json", "--auto-approve", cwd=example)
    assert applied.returncode == 0, applied.stderr
    assert "no --api or TITAN_API_URL: using the plan's, sim:world.json" in applied.stderr


def test_another_api_is_refused_saying_which(groupctl: str, example: Path) -> None:
    run_groupctl(groupctl, "plan", "--api", "sim:world.json", "--out", "plan.json", cwd=example)
    refused = run_groupctl(
        groupctl, "apply", "plan.json", "--auto-approve", "--api", "sim:other.json", cwd=example
    )
    assert refused.returncode == 1
    assert "the plan was made against sim:world.json, not sim:other.json" in refused.stderr


def test_a_sim_world_that_does_not_exist_is_made_with_a_notice(
    groupctl: str, tmp_path: Path
) -> None:
    (tmp_path / "groups.yaml").write_text("version: 1\ngroups: {}\n")
    done = run_groupctl(groupctl, "plan", "--api", "sim:new-world.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "note: new-world.json does not exist: a new simulated world is made there" in (
        done.stderr
    )
    assert (tmp_path / "new-world.json").exists()
