"""A paced apply says first how long its writes will take: the calls that change WhatsApp,
the pace, and the time they need at it. Through the installed CLI, on the example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.util.wording import duration
from tests.support.processes import run_groupctl


def test_a_paced_apply_says_how_long_its_writes_will_take(groupctl: str, example: Path) -> None:
    planned = run_groupctl(
        groupctl, "plan", "--api", "sim:world.json", "--format", "json", cwd=example
    )
    calls = sum(len(g["actions"]) for g in json.loads(planned.stdout)["groups"] if not g["errors"])
    assert calls > 2
    done = run_groupctl(
        groupctl,
        *("apply", "--api", "sim:world.json", "--auto-approve", "--write-rate", "6000/min"),
        cwd=example,
    )
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stdout.splitlines() if line.startswith("apply: ")]
    assert said == [
        f"apply: {calls} calls that change WhatsApp, at most 6000/min (--write-rate, so that"
        f" WhatsApp sees no burst): about {duration((calls - 1) * 0.01)}"
    ]


def test_an_unpaced_apply_says_nothing_of_pace(groupctl: str, example: Path) -> None:
    done = run_groupctl(groupctl, "apply", "--api", "sim:world.json", "--auto-approve", cwd=example)
    assert done.returncode == 0, done.stderr
    assert "that change WhatsApp" not in done.stdout  # the simulator is not paced by default


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.4, "less than 1 s"),
        (45, "45 s"),
        (60, "1 min"),
        (200, "3 min 20 s"),
        (3600, "1 h"),
        (7500, "2 h 5 min"),
    ],
)
def test_durations_read_as_people_say_them(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown
