"""The review of a sharded config: each shard's saved plan, shown together by `groupctl show`
as one pull request comment (the sharded review workflow's comment job), a missing shard
called out, and plans that do not belong together refused."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from reconciler.render.markdown import SEPARATOR
from tests.cli.test_github import ROOT, ActionRun, FakeGitHub, runner
from tests.support.processes import run_groupctl

SHARDS = 3


def groupctl_run(groupctl: str, cwd: Path, *args: str) -> tuple[int, str, str]:
    done = run_groupctl(groupctl, *args, cwd=cwd)
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def shard_plans(groupctl: str, example: Path) -> Path:
    """The example planned as the matrix's jobs would: one saved plan for each shard, and the
    matrix they were made by; the directory they are in."""
    plans = example / "plans"
    plans.mkdir()
    code, matrix, err = groupctl_run(groupctl, example, "shards", str(SHARDS), "--format", "json")
    assert code == 0, err
    (example / "matrix.json").write_text(matrix)
    for number in range(1, SHARDS + 1):
        code, _, err = groupctl_run(
            groupctl,
            example,
            "plan",
            "--api",
            "sim:world.json",
            "--shard",
            f"{number}/{SHARDS}",
            "--out",
            f"plans/plan-{number}.json",
        )
        assert code == 0, err
    return plans


def test_the_shards_plans_make_one_comment_whose_sum_is_the_whole_plan(
    groupctl: str, example: Path, shard_plans: Path
) -> None:
    code, whole, err = groupctl_run(
        groupctl, example, "plan", "--api", "sim:world.json", "--format", "json"
    )
    assert code == 0, err
    whole_plan = json.loads(whole)
    code, comment, err = groupctl_run(
        groupctl, example, "show", "--format", "markdown", "--matrix", "matrix.json", "plans"
    )
    assert code == 0, err
    assert SEPARATOR.strip() not in comment  # one comment
    assert comment.startswith(f"### groupctl plan: {SHARDS} plans of 1 session")
    # The sum of the shards is the plan of the whole: the same totals, unmanaged counted once.
    assert f"**In all: {whole_plan['summary']}**" in comment
    for number in range(1, SHARDS + 1):
        assert f"| <code>default</code> | {number}/{SHARDS} | Plan: " in comment
    # Every group the whole plan changes is in it, under its shard's plan.
    for group in whole_plan["groups"]:
        assert f"(<code>{group['key']}</code>)" in comment, group["key"]


def test_a_shard_without_a_plan_is_called_out_and_fails_the_show(
    groupctl: str, example: Path, shard_plans: Path
) -> None:
    (shard_plans / "plan-2.json").unlink()
    code, comment, err = groupctl_run(
        groupctl, example, "show", "--format", "markdown", "--matrix", "matrix.json", "plans"
    )
    assert code == 1
    assert "> **1 plan missing: what it would do is not shown.**" in comment
    assert f"| <code>default</code> | 2/{SHARDS} | ⛔ **no plan** |" in comment
    assert f"1 plan of the matrix missing (session 'default' shard 2/{SHARDS})" in err


def test_plans_that_do_not_belong_together_are_refused(
    groupctl: str, example: Path, shard_plans: Path
) -> None:
    # One shard's plan twice (an old job's artifact beside the new one).
    shutil.copy(shard_plans / "plan-1.json", example / "again.json")
    code, out, err = groupctl_run(groupctl, example, "show", "plans", "again.json")
    assert (code, out) == (1, "")
    assert "are both the plan of session 'default', shard 1/3" in err
    # A shard of another split, beside these.
    code, _, err = groupctl_run(
        groupctl, example, "plan", "--api", "sim:world.json", "--shard", "1/2", "--out", "two.json"
    )
    assert code == 0, err
    code, out, err = groupctl_run(groupctl, example, "show", "plans", "two.json")
    assert (code, out) == (1, "")
    assert "split session 'default' differently (2 shards, 3 shards)" in err
    # A plan of another config.
    config = example / "groups.yaml"
    config.write_text(config.read_text() + "\n# changed\n")
    code, _, err = groupctl_run(
        groupctl, example, "plan", "--api", "sim:world.json", "--out", "other.json"
    )
    assert code == 0, err
    code, out, err = groupctl_run(groupctl, example, "show", "plans", "other.json")
    assert (code, out) == (1, "")
    assert "these plans were made from different configs" in err


def test_the_action_comments_the_shards_plans_as_one_comment(
    groupctl: str,
    example: Path,
    shard_plans: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sharded review workflow's comment job: the action's show of the downloaded plans."""
    github = FakeGitHub()
    runner(tmp_path, groupctl)
    context = {
        "repository": "acme/groups",
        "token": "gh-token",
        "event": {"pull_request": {"number": 5}},
    }
    run = ActionRun(example, tmp_path / "runner", context)
    for name, value in github.environment().items():
        monkeypatch.setenv(name, value)
    try:
        steps, logs = run(
            command="show",
            args="--format markdown --matrix matrix.json plans",
            comment="true",
            comment_key="plan",
        )
        assert steps["run"]["outputs"]["exit-code"] == "0", logs
        assert github.calls.count("POST /repos/acme/groups/issues/5/comments") == 1
        (body,) = github.comments.values()
        assert body.startswith(f"<!-- groupctl:plan:1 -->\n### groupctl plan: {SHARDS} plans")
    finally:
        github.close()


def test_a_sharded_apply_job_applies_only_its_own_shards_plan_and_replans_its_shard_when_stale(
    groupctl: str,
    example: Path,
    shard_plans: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """groupctl-apply-sharded.yml's job: apply --session S --shard K/N of the reviewed plan."""
    world = (example / "world.json").read_text()
    code, _, err = groupctl_run(
        groupctl,
        example,
        "apply",
        "--api",
        "sim:world.json",
        "--auto-approve",
        "--shard",
        f"1/{SHARDS}",
        "plans/plan-2.json",
    )
    assert code == 1
    assert f"is the plan of session 'default', shard 2/{SHARDS}, not of shard 1/{SHARDS}" in err
    assert (example / "world.json").read_text() == world  # nothing applied

    # The config moves on before the merge: the job applies nothing, and comments the plan of
    # its own shard as it is now.
    config = example / "groups.yaml"
    config.write_text(config.read_text() + "\n# a later commit\n")
    github = FakeGitHub()
    runner(tmp_path, groupctl)
    run = ActionRun(
        example,
        tmp_path / "runner",
        {"repository": "acme/groups", "token": "gh-token", "event": {}},
    )
    for name, value in github.environment().items():
        monkeypatch.setenv(name, value)
    try:
        steps, logs = run(
            command="apply",
            args=f"--auto-approve --session default --shard 2/{SHARDS}",
            plan_file="plans/plan-2.json",
            pull_request="5",
            comment="true",
            comment_key="apply-1",
            api_url="sim:world.json",
        )
        outputs = steps["run"]["outputs"]
        assert (outputs["exit-code"], outputs["stale"]) == ("1", "true"), logs
        (body,) = github.comments.values()
        assert "the reviewed plan was not applied" in body
        assert f"### groupctl plan for <code>default</code>, shard 2/{SHARDS}" in body
        assert f"shard 1/{SHARDS}" not in body
        assert f"shard 3/{SHARDS}" not in body
        assert (example / "world.json").read_text() == world
    finally:
        github.close()


def test_the_jobs_of_one_account_share_its_pace(
    groupctl: str, example: Path, shard_plans: Path
) -> None:
    """N shard jobs of one account write at once on a CI matrix: each at 1/N of its pace,
    planned now or applied from its saved plan."""
    code, out, err = groupctl_run(
        groupctl,
        example,
        "apply",
        "--api",
        "sim:world.json",
        "--auto-approve",
        "--write-rate",
        "600/min",
        "plans/plan-2.json",
    )
    assert code == 0, out + err
    assert f"at most {600 // SHARDS}/min" in out + err
    code, out, err = groupctl_run(
        groupctl,
        example,
        "apply",
        "--api",
        "sim:world.json",
        "--auto-approve",
        "--write-rate",
        "600/min",
        "--shard",
        "1/2",
    )
    assert code == 0, out + err
    assert "at most 300/min" in out + err


def test_the_sharded_review_workflows_plan_step_saves_the_plan_its_upload_takes(
    groupctl: str, example: Path, tmp_path: Path
) -> None:
    """The plan job's action step, with the workflow's own inputs for one job of the matrix
    groupctl shards prints: the plan is made, and saved where the upload step looks."""
    workflow = yaml.safe_load(
        (ROOT / "examples/workflows/groupctl-pull-request-sharded.yml").read_text()
    )
    steps = workflow["jobs"]["plan"]["steps"]
    (step,) = [s for s in steps if str(s.get("uses", "")).startswith("your-org/groupctl@")]
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    _, matrix, _ = groupctl_run(groupctl, example, "shards", "4", "--format", "json")
    job = {
        "matrix.session": json.loads(matrix)["session"][0],
        "matrix.shard": "3/4",
        "strategy.job-index": "2",
        "runner.temp": str(tmp_path / "runner"),
    }

    def filled(text: str) -> str:
        return re.sub(r"\$\{\{\s*([a-z.-]+)\s*\}\}", lambda m: job[m.group(1)], text)

    runner(tmp_path, groupctl)
    run = ActionRun(example, tmp_path / "runner", {"repository": "acme/groups", "event": {}})
    outputs, logs = run(
        command=step["with"]["command"],
        args=filled(step["with"]["args"]),
        plan_file=filled(step["with"]["plan-file"]),
        api_url="sim:world.json",
    )
    assert outputs["run"]["outputs"]["exit-code"] == "0", logs
    saved = list((example / upload["with"]["path"]).glob("*.json"))
    assert [p.name for p in saved] == ["groupctl-plan-default-2.json"]
    assert json.loads(saved[0].read_text())["shard"] == "3/4"


def test_shards_each_within_the_brakes_and_not_together_are_refused_by_show(
    groupctl: str, example: Path
) -> None:
    """The example removes 6 members in all (4 in one shard, a group of 3 deleted in another):
    with --max-removals 5 each shard's plan passes, and show of them all does not."""
    plans = example / "plans"
    plans.mkdir()
    for number in (1, 2, 3):
        code, out, err = groupctl_run(
            groupctl,
            example,
            "plan",
            "--api",
            "sim:world.json",
            "--max-removals",
            "5",
            "--shard",
            f"{number}/3",
            "--out",
            f"plans/plan-{number}.json",
        )
        assert code == 0, out + err
    # The whole plan is stopped, for what the shards are together.
    code, _, stopped = groupctl_run(
        groupctl, example, "plan", "--api", "sim:world.json", "--max-removals", "5"
    )
    assert code == 1
    assert "it removes 6 members in all, more than --max-removals 5" in stopped
    code, comment, err = groupctl_run(groupctl, example, "show", "--format", "markdown", "plans")
    assert code == 1
    assert "**The shards of session <code>default</code> are stopped by the safety brakes" in (
        comment
    )
    assert "it removes 6 members in all, more than --max-removals 5" in comment
    assert "it removes 6 members in all, more than --max-removals 5" in err
    assert len(list(plans.iterdir())) == 3


def test_a_matrix_whose_jobs_all_failed_shows_every_shard_missing(
    groupctl: str, example: Path
) -> None:
    (example / "matrix.json").write_text('{"session": ["default"], "shard": ["1/2", "2/2"]}')
    code, comment, err = groupctl_run(
        groupctl, example, "show", "--format", "markdown", "--matrix", "matrix.json", "plans"
    )
    assert code == 1
    assert "> **2 plans missing: what they would do is not shown.**" in comment
    assert "| <code>default</code> | 2/2 | ⛔ **no plan** |" in comment
    assert "2 plans of the matrix missing" in err
