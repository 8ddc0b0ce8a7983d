"""One apply at a time (issue 13, item 3): runs on one state file hold the lock beside it from
planning to their last save, so two applies started together create each group once, ask each
person once and lose no record; an apply that meets a held lock says who holds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.engine.statefile import lock_for
from tests.support.processes import run_groupctl, start_groupctl
from tests.support.racing import race
from tests.support.thorough import trials

# Without the lock, 16 trials of 20 went wrong: 5 find a lost lock all but surely (0.2**5).
TRIALS = trials(5, 20)


@pytest.mark.slow
def test_two_applies_started_together_create_ask_and_record_everything_once(
    groupctl: str, tmp_path: Path
) -> None:
    trials = [race(groupctl, tmp_path / f"trial-{n}", latency_ms=150) for n in range(TRIALS)]
    problems = {n: trial.problems() for n, trial in enumerate(trials) if trial.problems()}
    assert problems == {}
    assert [trial.waited for trial in trials] == [1] * TRIALS  # the second waited each time


def test_an_apply_that_meets_a_held_lock_says_who_holds_it_and_changes_nothing(
    groupctl: str, example: Path
) -> None:
    before = (example / "world.json").read_bytes()
    other = lock_for(example / ".groupctl-state.json", holder="groupctl apply")
    assert other.try_acquire() is None
    try:
        done = run_groupctl(
            groupctl,
            "apply",
            "--api",
            "sim:world.json",
            "--auto-approve",
            "--lock-timeout",
            "0",
            cwd=example,
        )
    finally:
        other.release()
    assert done.returncode == 1, done.stdout
    assert f"error: another groupctl run holds {Path('.groupctl-state.json.lock')}" in done.stderr
    assert f": groupctl apply (pid {os.getpid()} on " in done.stderr
    assert "--lock-timeout" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""  # not even planned
    assert (example / "world.json").read_bytes() == before


def test_an_apply_waits_for_the_lock_then_plans_what_is_left(groupctl: str, example: Path) -> None:
    other = lock_for(example / ".groupctl-state.json", holder="groupctl watch --self-heal")
    assert other.try_acquire() is None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "GROUPCTL_"))}
    waiting = start_groupctl(
        groupctl,
        "apply",
        "--api",
        "sim:world.json",
        "--auto-approve",
        cwd=example,
        env={**env, "NO_COLOR": "1"},
    )
    try:
        assert waiting.stderr is not None
        said = waiting.stderr.readline()  # its first word: it waits, before any plan
        assert said.startswith("waiting up to 60 s (--lock-timeout) for another run:"), said
        assert "groupctl watch --self-heal (pid " in said
        assert (example / ".groupctl-state.json.lock").exists()
    finally:
        other.release()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "created 'Infra On-Call' [oncall]: 120363" in out
    assert not (example / ".groupctl-state.json.lock").exists()
