"""Two `groupctl apply` processes started together on one config, against `groupctl sim serve`:
what the world, their reports and the state file show afterwards. Shared by
tests/reliability/test_two_applies.py and bench/two_applies.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import PIPE
from typing import Any

from reconciler.config import load
from reconciler.sim.state import WorldState
from tests.support.processes import sim_serve

KEY = "racing-key-3c81d5"
EXAMPLES = Path(__file__).parent.parent.parent / "examples"
# Outcomes that mean someone was asked to join (WhatsApp's invitation, or groupctl's link), or
# that the state file must remember.
ASKED = frozenset({"invited", "needs invite"})
REMEMBERED = ASKED | {"left recently"}


@dataclass
class Trial:
    """What one trial left behind."""

    codes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    waited: int = 0  # how many of the two said they waited for the other
    applied: int = 0  # how many of the two applied anything
    subjects: Counter[str] = field(default_factory=Counter)  # groups in the world, by subject
    wanted: list[str] = field(default_factory=list)  # subjects of the groups the config keeps
    asked: Counter[tuple[str, str]] = field(default_factory=Counter)  # (group, person) asked
    messages: Counter[tuple[str, str]] = field(default_factory=Counter)  # (chat, text) sent
    remembered: set[tuple[str, str]] = field(default_factory=set)  # reported, to be recorded
    recorded: set[tuple[str, str]] = field(default_factory=set)  # in the state file
    pictures_uploaded: set[str] = field(default_factory=set)  # group ids, reported
    pictures_recorded: set[str] = field(default_factory=set)  # group ids, in the state file
    errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Everything that went wrong: a group made twice, someone asked twice, a record lost."""
        found = list(self.errors)
        found += [
            f"{subject!r}: {self.subjects[subject]} groups, not 1"
            for subject in self.wanted
            if self.subjects[subject] != 1
        ]
        found += [f"{who} asked {n} times" for who, n in self.asked.items() if n > 1]
        found += [f"message {m} sent {n} times" for m, n in self.messages.items() if n > 1]
        found += [f"not in the state file: {r}" for r in sorted(self.remembered - self.recorded)]
        lost = self.pictures_uploaded - self.pictures_recorded
        found += [f"picture of {group} not in the state file" for group in sorted(lost)]
        if self.applied != 1:
            found.append(f"{self.applied} of the two applies applied something, not 1")
        return found


def race(groupctl: str, workdir: Path, *, latency_ms: int = 150) -> Trial:
    """One trial in `workdir` (made afresh): a copy of examples/ served by `groupctl sim serve
    --latency-ms LATENCY_MS`, two `apply --auto-approve --format json` started together."""
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(EXAMPLES, workdir)
    trial = Trial()
    desired = load(workdir / "groups.yaml")
    trial.wanted = [g.state.subject for g in desired.groups if g.policy.ensure == "present"]
    with sim_serve(
        groupctl, workdir / "world.json", "--latency-ms", str(latency_ms), key=KEY
    ) as sim:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "GROUPCTL_"))},
            "NO_COLOR": "1",
            "TITAN_API_URL": sim.url,
            "TITAN_API_KEY": KEY,
            "TITAN_WRITE_RATE": "unlimited",
        }
        command = [groupctl, "apply", "--auto-approve", "--format", "json"]
        started = time.monotonic()
        runs = [
            subprocess.Popen(command, cwd=workdir, env=env, stdout=PIPE, stderr=PIPE, text=True)
            for _ in range(2)
        ]

        def finished(run: subprocess.Popen[str]) -> tuple[str, str, float]:
            out, err = run.communicate(timeout=300)
            return out, err, time.monotonic() - started

        with ThreadPoolExecutor(2) as waiting:  # each read as it ends: no pipe fills up
            ended = list(waiting.map(finished, runs))
        for run, (out, err, seconds) in zip(runs, ended, strict=True):
            trial.seconds.append(seconds)
            trial.codes.append(run.returncode)
            trial.waited += "waiting up to" in err
            if run.returncode != 0:
                said = [line for line in err.splitlines() if line.startswith(("error", "failed"))]
                trial.errors.append(f"apply exited {run.returncode}: {' / '.join(said)}")
            if out.strip():
                trial.applied += 1
                _read_report(json.loads(out), trial)
    world = WorldState.model_validate_json((workdir / "world.json").read_text())
    trial.subjects.update(group.subject for group in world.groups)
    trial.messages.update((m.chat_id, m.text) for m in world.messages)
    _read_state(workdir / ".groupctl-state.json", trial)
    return trial


def _read_report(report: dict[str, Any], trial: Trial) -> None:
    for group in report["groups"]:
        group_id = group["group_id"] or group["created"]
        for step in group["steps"]:
            who = (group_id, step.get("person"))
            if step["outcome"] in ASKED:
                trial.asked[who] += 1
            if step["outcome"] in REMEMBERED:
                trial.remembered.add(who)
            if step["action"] == "picture" and step["outcome"] == "done":
                trial.pictures_uploaded.add(group_id)


def _read_state(path: Path, trial: Trial) -> None:
    if not path.exists():
        return
    state = json.loads(path.read_text())
    trial.recorded = {
        (group, person) for group, people in state["waiting"].items() for person in people
    }
    trial.pictures_recorded = set(state["pictures"])
