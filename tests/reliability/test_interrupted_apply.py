"""An apply interrupted by SIGINT or SIGTERM (Ctrl-C, a CI job cancelled) sends no new change,
lets the calls in flight finish within --stop-timeout, saves the state file, reports what was
done (the new groups' ids too, written with --write-ids) and exits 130 or 143; the report is
true to the world, so the next plan is exactly what the report says was not done.

Through the installed CLI against `groupctl sim serve`, with a gate in front of it that holds
every write (tests/support/gate.py): each test knows which calls are in flight when it sends
the signal, without timing anything."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from reconciler.sim.state import WorldState
from tests.support.gate import WAIT, Gate, gate_in_front_of
from tests.support.processes import WITH_SIGINT, run_groupctl, sim_serve

KEY = "interrupt-key-5d1c"
EXAMPLES = Path(__file__).parent.parent.parent / "examples"
# The example's plan, in order: the groups apply works on, four at a time.
GROUPS = ["announcements", "engineering", "oncall", "sales-emea", "old-launch", "hackathon"]
IN_FLIGHT = 4  # apply's groups at once: each sends its first write, and the gate holds it


@dataclass
class Apply:
    """`groupctl apply` running in the background, its stdout and stderr read as they come
    (a reader thread each: a full pipe never blocks it)."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    out: list[str] = field(default_factory=list)
    _seen: threading.Condition = field(default_factory=threading.Condition)
    _readers: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        for stream, into in ((self.process.stderr, self.lines), (self.process.stdout, self.out)):
            reader = threading.Thread(target=self._read, args=(stream, into), daemon=True)
            reader.start()
            self._readers.append(reader)

    def _read(self, stream: IO[str], into: list[str]) -> None:
        with stream:
            for line in stream:
                with self._seen:
                    into.append(line)
                    self._seen.notify_all()

    def wait_for(self, text: str) -> None:
        """Until stderr has a line with `text` (AssertionError after WAIT s)."""
        with self._seen:
            found = self._seen.wait_for(lambda: any(text in line for line in self.lines), WAIT)
        assert found, f"{text!r} not said; stderr so far: {''.join(self.lines)}"

    def finish(self) -> tuple[int, dict[str, Any], str]:
        """Its exit status, the JSON report it printed, and all of its stderr."""
        out = self.output()
        return self.process.returncode, json.loads(out), "".join(self.lines)

    def output(self) -> str:
        """All it printed on stdout, once it has exited (AssertionError, the process killed,
        if it has not within WAIT s)."""
        try:
            self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"still running after {WAIT} s: {''.join(self.lines)}") from None
        for reader in self._readers:
            reader.join(timeout=WAIT)
        return "".join(self.out)


@dataclass
class Setup:
    work: Path
    env: dict[str, str]
    gate: Gate

    def start(self, *args: str) -> Apply:
        process = subprocess.Popen(
            [*WITH_SIGINT, "groupctl", "apply", "--auto-approve", "--format", "json", *args],
            cwd=self.work,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return Apply(process)

    def groupctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        direct = {**self.env, "TITAN_API_URL": self.env["DIRECT_URL"]}
        return run_groupctl(
            shutil.which("groupctl") or "groupctl", *args, env=direct, cwd=self.work
        )

    def subjects(self) -> list[str]:
        world = WorldState.model_validate_json((self.work / "world.json").read_text())
        return [group.subject for group in world.groups]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    work = tmp_path / "work"
    shutil.copytree(EXAMPLES, work)
    with (
        sim_serve("groupctl", work / "world.json", key=KEY) as served,
        gate_in_front_of(served.url) as (gate, url),
    ):
        env = {
            "PATH": _path(),
            "NO_COLOR": "1",
            "TITAN_API_URL": url,
            "TITAN_API_KEY": KEY,
            "TITAN_WRITE_RATE": "unlimited",
            "DIRECT_URL": served.url,
        }
        yield Setup(work, env, gate)


def _path() -> str:
    found = shutil.which("groupctl")
    assert found is not None, "the installed groupctl"
    return str(Path(found).parent) + ":/usr/bin:/bin"


def steps(report: dict[str, Any]) -> list[tuple[str, str, str | None, str, str]]:
    """(group, kind, person, outcome, detail) of every step the report gives."""
    return [
        (group["key"], s["action"], s.get("person"), s["outcome"], s.get("detail", ""))
        for group in report["groups"]
        for s in group["steps"]
    ]


def planned(plan: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    """(group, kind, person or None) of everything a plan would do."""
    found: set[tuple[str, str, str | None]] = set()
    for group in plan["groups"]:
        for action in group["actions"]:
            found.add((group["key"], action["kind"], None))
            found.update((group["key"], action["kind"], m) for m in action.get("members", []))
    return found


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_sends_no_new_change_and_reports_the_truth(
    setup: Setup, signum: signal.Signals, code: int
) -> None:
    running = setup.start("--write-ids")
    setup.gate.wait_for_writes(IN_FLIGHT)  # one write of each of the first four groups, held
    running.process.send_signal(signum)
    running.wait_for(f"{signum.name}: stopping")
    setup.gate.open()  # the calls in flight finish, within the bound
    status, report, stderr = running.finish()

    assert status == code, stderr
    assert f"error: interrupted ({signum.name}) while applying" in stderr
    assert "Traceback" not in stderr
    # Nothing was sent after the signal: only the four writes in flight reached the API.
    assert len(setup.gate.writes) == IN_FLIGHT, setup.gate.writes
    assert report["interrupted"] == f"interrupted ({signum.name})"
    assert report["ok"] is False
    assert "6 groups, 0 done, 4 stopped part-way, 2 not attempted." in report["summary"]
    counts = report["counts"]  # the same, as numbers
    assert (counts["groups"], counts["done"], counts["stopped_part_way"]) == (6, 0, 4)
    assert counts["not_attempted"] == 2
    assert f"\nApply interrupted ({signum.name}). The next plan shows what" in report["summary"]
    done = {g["key"] for g in report["groups"] if g["error"] is None}
    not_attempted = f"not attempted: interrupted ({signum.name})"
    for key, _, _, outcome, detail in steps(report):
        if key in ("old-launch", "hackathon"):  # never started
            assert (outcome, detail) == ("skipped", not_attempted)
    assert done == set()  # the four in flight each had more to do
    # The group created before the signal is reported, and its id written into the config.
    (created,) = [g["created"] for g in report["groups"] if g.get("created")]
    assert f'id: "{created}"' in (setup.work / "groups.yaml").read_text()
    assert setup.subjects().count("Infra On-Call") == 1

    # The report is true: the next plan is exactly what it says was not done.
    again = setup.groupctl("plan", "--format", "json")
    assert again.returncode == 0, again.stderr
    left = planned(json.loads(again.stdout))
    for key, kind, person, outcome, _ in steps(report):
        if outcome == "skipped":
            assert (key, kind, person) in left, (key, kind, person)
        if outcome == "done":
            assert (key, kind, person) not in left, (key, kind, person)

    finish = setup.groupctl("apply", "--auto-approve")
    assert finish.returncode == 0, finish.stdout + finish.stderr
    final = setup.groupctl("plan", "--detailed-exitcode")
    assert final.returncode == 0, final.stdout
    assert setup.subjects().count("Infra On-Call") == 1


def test_calls_still_in_flight_after_the_stop_timeout_are_cut_short(setup: Setup) -> None:
    before = (setup.work / "world.json").read_bytes()
    running = setup.start("--stop-timeout", "0.2")
    setup.gate.wait_for_writes(IN_FLIGHT)
    running.process.send_signal(signal.SIGINT)
    # The gate never opens: apply must end on its own once --stop-timeout is over.
    status, report, stderr = running.finish()
    setup.gate.drop()

    assert status == 130, stderr
    unknown = [
        (key, detail)
        for key, _, _, outcome, detail in steps(report)
        if outcome == "outcome unknown"
    ]
    assert {key for key, _ in unknown} == set(GROUPS[:IN_FLIGHT])
    assert all("cut short: still in flight 0.2 s after" in detail for _, detail in unknown)
    assert "4 groups with an outcome unknown" in report["summary"]
    later = {detail for _, _, _, outcome, detail in steps(report) if outcome == "skipped"}
    assert later == {"not attempted: interrupted (SIGINT)"}
    assert len(setup.gate.writes) == IN_FLIGHT
    # The gate dropped them: "may or may not have been done" was right to not claim either.
    assert (setup.work / "world.json").read_bytes() == before


def test_a_second_signal_stops_waiting_for_the_calls_in_flight(setup: Setup) -> None:
    running = setup.start("--stop-timeout", "3600")
    setup.gate.wait_for_writes(IN_FLIGHT)
    running.process.send_signal(signal.SIGINT)
    running.wait_for("SIGINT: stopping")
    running.process.send_signal(signal.SIGINT)  # an hour's wait otherwise: the test would fail
    status, report, stderr = running.finish()
    setup.gate.drop()

    assert status == 130, stderr
    assert "SIGINT again: not waiting for the calls in flight" in stderr
    assert sum(outcome == "outcome unknown" for _, _, _, outcome, _ in steps(report)) >= IN_FLIGHT


def test_a_signal_before_any_change_stops_at_once_and_changes_nothing(setup: Setup) -> None:
    before = (setup.work / "world.json").read_bytes()
    # A held lock keeps apply waiting before it plans: the signal lands before any change.
    lock = setup.work / ".groupctl-state.json.lock"
    with _held(lock):
        running = setup.start("--lock-timeout", "3600")
        running.wait_for("waiting up to 3600 s (--lock-timeout) for another run")
        running.process.send_signal(signal.SIGTERM)
        out = running.output()
        status = running.process.returncode
    stderr = "".join(running.lines)
    assert status == 143, stderr
    assert "error: interrupted (SIGTERM) before any change: nothing was changed" in stderr
    assert out == ""
    assert setup.gate.writes == []
    assert (setup.work / "world.json").read_bytes() == before


def test_a_state_file_that_breaks_mid_run_keeps_and_prints_the_report(setup: Setup) -> None:
    running = setup.start()
    setup.gate.wait_for_writes(IN_FLIGHT)
    state = setup.work / ".groupctl-state.json"
    state.unlink(missing_ok=True)
    state.mkdir()  # every save from now on fails, whoever runs it
    setup.gate.open()
    status, report, stderr = running.finish()

    assert status == 1, stderr
    assert "cannot read groupctl's state" in report["state_error"]
    assert "State file not saved:" in report["summary"]
    assert len(report["groups"]) == len(GROUPS)  # every group reported all the same
    assert "error: applied, but" in stderr
    assert "Traceback" not in stderr


@contextmanager
def _held(lock: Path) -> Iterator[None]:
    """Another run's hold on the lock beside the state file (a process of its own)."""
    holder = subprocess.Popen(
        [
            "python",
            "-c",
            "import fcntl, os, sys; f = open(sys.argv[1], 'a+'); f.write('another run\\n');"
            " f.flush(); fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True);"
            " sys.stdin.read()",
            str(lock),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    try:
        yield
    finally:
        holder.communicate(timeout=WAIT)  # its stdin closed: it lets go and ends


# A name the file system takes for the file, but not with the 14 characters of the temporary
# file a save writes first (".NAME.123456abcdef"): the save would fail after the changes.
TOO_LONG_TO_SAVE = "s" * 240 + ".json"


def test_a_state_file_that_cannot_be_saved_is_refused_before_any_change(setup: Setup) -> None:
    before = (setup.work / "world.json").read_bytes()
    refused = setup.groupctl("apply", "--auto-approve", "--state-file", TOO_LONG_TO_SAVE)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "groupctl's state could not be saved here: File name too long." in refused.stderr
    assert "Nothing was changed" in refused.stderr
    assert (setup.work / "world.json").read_bytes() == before


def test_ids_that_cannot_be_written_are_refused_before_any_change(setup: Setup) -> None:
    before = (setup.work / "world.json").read_bytes()
    config = setup.work / ("c" * 240 + ".yaml")
    (setup.work / "groups.yaml").rename(config)
    refused = setup.groupctl("apply", "--auto-approve", "--write-ids", "-f", config.name)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "--write-ids could not write the new groups' ids into it: File name" in refused.stderr
    assert "Nothing was changed" in refused.stderr
    assert (setup.work / "world.json").read_bytes() == before
    # Without --write-ids the same apply goes ahead.
    assert setup.groupctl("apply", "--auto-approve", "-f", config.name).returncode == 0


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_state_directory_is_refused_before_any_change(setup: Setup) -> None:
    before = (setup.work / "world.json").read_bytes()
    kept = setup.work / "kept"
    kept.mkdir()
    (kept / "state.json.lock").touch()  # left by an earlier run: the lock itself still works
    kept.chmod(0o555)
    try:
        refused = setup.groupctl("apply", "--auto-approve", "--state-file", "kept/state.json")
    finally:
        kept.chmod(0o755)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "could not be saved here: Permission denied. Nothing was changed" in refused.stderr
    assert (setup.work / "world.json").read_bytes() == before
