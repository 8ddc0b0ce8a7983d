"""The reviewed plan is the applied plan: the action saves the sealed plan of a pull request,
applies exactly it once merged, and, when the world moved since the review, applies nothing
and comments the plan as it is now on the merged pull request. Against the fake GitHub of
test_github and the simulator over HTTP."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.sim.state import WorldState
from tests.cli.test_apply import ANNOUNCEMENTS, LUCAS
from tests.cli.test_github import KEY, ActionRun, FakeGitHub, runner
from tests.support.processes import ServedSim, sim_serve

REPO = "acme/groups"


@pytest.fixture
def titan(groupctl: str, example: Path) -> Iterator[ServedSim]:
    with sim_serve(groupctl, example / "world.json", key=KEY) as running:
        yield running


def review(example: Path, temp: Path, served: ServedSim, number: int, plan: Path) -> str:
    """The pull request's plan job: the plan commented, and saved; its seal."""
    run = ActionRun(
        example,
        temp,
        {"repository": REPO, "token": "gh-token", "event": {"pull_request": {"number": number}}},
    )
    steps, logs = run(
        command="plan",
        args="--format markdown",
        plan_file=str(plan),
        api_url=served.url,
        api_key=KEY,
        comment="true",
    )
    assert steps["run"]["outputs"]["exit-code"] == "0", logs
    seal = json.loads(plan.read_text())["checksum"]
    assert steps["run"]["outputs"]["plan-checksum"] == seal
    return str(seal)


def merge(
    example: Path, temp: Path, served: ServedSim, number: int, plan: Path
) -> tuple[dict[str, str], list[str]]:
    """The apply job on the push that merged pull request `number`: its outputs and logs."""
    run = ActionRun(example, temp, {"repository": REPO, "token": "gh-token", "event": {}})
    steps, logs = run(
        command="apply",
        args="--auto-approve --write-rate unlimited",  # pacing is the client's, tested there
        plan_file=str(plan),
        pull_request=str(number),
        comment="true",
        api_url=served.url,
        api_key=KEY,
    )
    return steps["run"]["outputs"], logs


def comments_on(github: FakeGitHub, number: int) -> int:
    return sum(1 for call in github.calls if call == f"POST /repos/{REPO}/issues/{number}/comments")


@pytest.mark.slow
def test_a_merge_applies_the_reviewed_plan_and_a_stale_one_is_refused_and_commented(
    groupctl: str,
    example: Path,
    titan: ServedSim,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = titan
    github = FakeGitHub()
    temp = runner(tmp_path, groupctl)
    for name, value in github.environment().items():
        monkeypatch.setenv(name, value)
    try:
        # Pull request 7 is reviewed, then merged: exactly its plan is applied.
        seal = review(example, temp, served, 7, tmp_path / "plan-7.json")
        outputs, logs = merge(example, temp, served, 7, tmp_path / "plan-7.json")
        assert outputs["exit-code"] == "0", logs
        assert (outputs["plan-checksum"], outputs["stale"]) == (seal, "false")
        state = json.loads((example / ".groupctl-state.json").read_text())
        assert list(state["applied"]) == [seal]  # the record of the plan apply carried out
        assert comments_on(github, 7) == 1  # the review's; apply's report is for the log
        assert all("chat.whatsapp.com" not in body for body in github.comments.values())

        # Pull request 8 changes the announcements; before it is merged, lucas leaves.
        config = example / "groups.yaml"
        config.write_text(
            config.read_text().replace(
                "Company-wide news. Only admins post here.", "Company news, by the admins."
            )
        )
        review(example, temp, served, 8, tmp_path / "plan-8.json")
        before = comments_on(github, 8)
        left = httpx.request(
            "DELETE",
            f"{served.url}/api/sessions/maria/groups/{ANNOUNCEMENTS}/participants",
            json={"participants": [LUCAS]},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert left.json()["data"]["results"][0]["status"] == 200
        outputs, logs = merge(example, temp, served, 8, tmp_path / "plan-8.json")
        assert (outputs["exit-code"], outputs["stale"]) == ("1", "true"), logs
        assert "the plan is stale: 1 group changed since it was made" in "".join(logs)
        world = WorldState.model_validate_json((example / "world.json").read_text())
        (announcements,) = [g for g in world.groups if g.id == ANNOUNCEMENTS]
        assert announcements.description != "Company news, by the admins."  # nothing applied
        # The merged pull request is told, with the plan as it is now (lucas back, and the
        # new description), in a comment of its own key.
        assert comments_on(github, 8) == before + 1
        told = html.unescape(github.comments[max(github.comments)])
        assert told.startswith("<!-- groupctl:apply:1 -->\n### groupctl: the reviewed plan was not")
        assert "lucas" in told
        assert "Company news, by the admins." in told
    finally:
        github.close()
