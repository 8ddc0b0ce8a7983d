"""`--parallelism N` (TITAN_PARALLELISM): how many API calls the commands that read live state
make at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.cli.connection import ApiSettings
from reconciler.sim.state import Account, WorldState
from reconciler.titan.client import DEFAULT_PARALLELISM
from tests.support.processes import run_groupctl


@pytest.mark.parametrize("command", ["plan", "apply", "status", "import"])
def test_every_command_that_reads_live_state_takes_parallelism(groupctl: str, command: str) -> None:
    done = run_groupctl(groupctl, command, "--help")
    assert "--parallelism" in done.stdout
    assert "TITAN_PARALLELISM" in done.stdout
    assert f"default: {DEFAULT_PARALLELISM}" in done.stdout


@pytest.mark.parametrize("given", [["--parallelism", "0"], ["--parallelism", "many"]])
def test_a_parallelism_that_is_not_a_positive_number_is_refused(
    groupctl: str, tmp_path: Path, given: list[str]
) -> None:
    done = run_groupctl(groupctl, "plan", "--api", f"sim:{tmp_path / 'w.json'}", *given)
    assert done.returncode == 1  # a usage error: never 2, which could read as "changes"
    assert "--parallelism" in done.stderr
    assert "Traceback" not in done.stderr


def test_plan_reads_one_group_at_a_time_when_told_to(groupctl: str, tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    world.write_text(
        WorldState(accounts=[Account(session="default", phone="+14155550100")]).model_dump_json()
    )
    (tmp_path / "groups.yaml").write_text("version: 1\ngroups: {}\n")
    done = run_groupctl(
        groupctl, "plan", "--api", f"sim:{world}", env={"TITAN_PARALLELISM": "1"}, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr


async def test_the_client_makes_as_many_calls_at_once_as_the_settings_say(
    tmp_path: Path,
) -> None:
    world = f"sim:{tmp_path / 'w.json'}"
    async with ApiSettings(api=world, api_key=None, parallelism=3).open_client() as client:
        assert client.max_concurrency == 3
    async with ApiSettings(api=world, api_key=None).open_client() as client:
        assert client.max_concurrency == DEFAULT_PARALLELISM
