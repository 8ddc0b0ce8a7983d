"""The README's shell blocks run as pasted, so that the README cannot drift from the tool.

Every ```sh block of the README is accounted for here: run, in a fresh directory, as a user
pastes it (the only change: the simulator's and watch's fixed ports become free ones, since
tests run side by side); or, for the few that cannot run on a machine with no release, no
Docker engine and no real account, said why and checked otherwise. A new block fails
`test_every_shell_block_is_accounted_for` until it is added below.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from tests.support.watching import LUCAS, free_port

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"

# The first line of each block, and how this file treats it.
SETUP = "python3 -m venv .venv && . .venv/bin/activate && pip install . && ("
TESTS = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]' && pytest -n auto"
WATCH_DEMO = "export TITAN_API_KEY=K TITAN_WEBHOOK_SECRET=S TITAN_API_URL=http://127.0.0.1:8765"
SIM_EXAMPLE = "groupctl sim serve --port 8765 --state world.json --api-key K &"
NOT_RUN = {
    # Synopses: [optional] parts, not commands.
    "groupctl plan [-f groups.yaml]": "a synopsis",
    "groupctl apply [-f groups.yaml]": "a synopsis",
    "groupctl diff --base origin/main [-f groups.yaml]": "a synopsis",
    # Need what a test machine has not.
    "pipx install groupctl==": "needs a release on PyPI; the release test checks the version",
    'docker run --rm --user "$(id -u):$(id -g)"': "needs a Docker engine: CI's container job",
    "groupctl import --all -o groups.yaml": "needs a real account's group ids",
    "TITAN_WEBHOOK_SECRET=... groupctl watch --listen 0.0.0.0:8443": "needs a public address",
    "groupctl shards 4 --format json > matrix.json": (
        "needs the plans of a CI matrix's jobs: tests/cli/test_shard_review.py makes and shows them"
    ),
}


def shell_blocks() -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", README.read_text(), flags=re.MULTILINE | re.DOTALL)


def block(first_line: str) -> str:
    (found,) = [text for text in shell_blocks() if text.startswith(first_line)]
    return found


def test_every_shell_block_is_accounted_for() -> None:
    known = (SETUP, TESTS, WATCH_DEMO, SIM_EXAMPLE, *NOT_RUN)
    for text in shell_blocks():
        matches = [first for first in known if text.startswith(first)]
        assert len(matches) == 1, f"a README block this test does not know:\n{text}"
    # The two set-up commands come first, before any other block.
    assert shell_blocks()[:2] == [block(SETUP), block(TESTS)]


def test_ci_runs_the_readmes_test_command() -> None:
    """The suite cannot run itself: `.ci/run` runs the README's test command, step by step,
    in a fresh virtual environment, and CI runs `.ci/run`."""
    steps = [step.strip() for step in block(TESTS).strip().split("&&")]
    assert steps[:2] == ["python3 -m venv .venv", ". .venv/bin/activate"]
    run = (ROOT / ".ci" / "run").read_text()
    assert 'python3 -m venv "$venv"' in run
    assert '. "$venv/bin/activate"' in run
    commands = [line for line in run.splitlines() if line and not line.startswith(("#", " "))]
    assert commands[commands.index('. "$venv/bin/activate"') + 1 :][:2] == steps[2:]
    assert "bash .ci/run" in (ROOT / ".github" / "workflows" / "ci.yml").read_text()


def _clean_env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "GROUPCTL_"))}
    env.pop("VIRTUAL_ENV", None)
    return {**env, "NO_COLOR": "1", **more}


def _copy_tracked(to: Path) -> None:
    """The checkout as a fresh clone has it: its tracked files (those present)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    for name in listed.stdout.strip("\0").split("\0"):
        source = ROOT / name
        if source.is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            (to / name).write_bytes(source.read_bytes())


@pytest.mark.slow
def test_the_first_setup_command_plans_applies_and_converges(tmp_path: Path) -> None:
    """Pasted into a fresh clone: a new venv, `pip install .` (from PyPI), and plan, apply,
    plan of the example against the built-in simulator."""
    clone = tmp_path / "clone"
    _copy_tracked(clone)
    done = subprocess.run(
        ["bash", "-c", f"set -e\n{block(SETUP)}"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=900,
        env=_clean_env(PIP_DISABLE_PIP_VERSION_CHECK="1"),
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    plans = done.stdout.split("Plan: ")
    assert len(plans) >= 3, done.stdout
    assert "create" in plans[1]  # the first plan has work to do
    assert "remove" in plans[1]
    assert plans[-1].startswith("no changes."), done.stdout[-2000:]
    assert not (clone / ".groupctl-state.json").exists()  # the checkout is left as it was


class Pasted:
    """A README block running in bash, in a fresh directory, in a process group of its own
    (the background jobs it starts included), its output read line by line as it comes."""

    def __init__(self, text: str, cwd: Path, env: dict[str, str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.text = ""  # what it printed so far
        self.position = 0  # where the last text found ends
        self.process = subprocess.Popen(
            ["bash", "-c", f"set -e\n{text}"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 120) -> str:
        """The first text after the last one found that matches `pattern` (a multi-line
        regex: curl ends its answer with no line break, so what follows shares its line).
        `timeout` only bounds a failure."""
        while True:
            found = re.compile(pattern, re.MULTILINE).search(self.text, self.position)
            if found:
                self.position = found.end()
                return found.group(0)
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {pattern!r} in:\n{self.text}") from None
            if line is None:
                raise AssertionError(f"ended without {pattern!r}:\n{self.text}")
            self.text += line

    def _left(self) -> list[str]:
        """The command lines of the processes left in the block's process group."""
        left = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.process.pid:  # its process group
                    left.append((stat.parent / "cmdline").read_text().replace("\0", " "))
            except (OSError, IndexError, ValueError):
                continue
        return left

    def stop(self) -> None:
        """SIGTERM to the block's processes, and once each has ended (the output's end
        says so), the pipe closed."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)
        self.reader.join(timeout=60)
        assert not self.reader.is_alive(), f"outlived SIGTERM: {self._left()}\n{self.text}"
        assert self.process.stdout is not None
        self.process.stdout.close()


def _on_free_ports(text: str, **ports: int) -> str:
    for fixed, free in ports.items():
        text = text.replace(fixed.removeprefix("port"), str(free))
    return text


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the example, as the README's first command makes one."""
    demo = tmp_path / "demo"
    demo.mkdir()
    for source in (ROOT / "examples").iterdir():
        if source.is_file():
            (demo / source.name).write_bytes(source.read_bytes())
        else:
            subprocess.run(["cp", "-r", str(source), str(demo)], check=True)
    return demo


def _logged(event: str) -> str:
    """A pattern for watch's JSON log line of `event` (an event name or its start)."""
    return rf'\{{"time": [^\n]*"event": "{event}[^\n]*'


def test_the_watch_demo_puts_lucas_back(example: Path) -> None:
    text = _on_free_ports(block(WATCH_DEMO), port8765=free_port(), port8080=free_port())
    pasted = Pasted(text, example, _clean_env())
    try:
        # The last curl: Maria's removal of Lucas, answered for him.
        pasted.wait_for(rf'"jid":"{re.escape(LUCAS)}","status":200')
        drift = json.loads(pasted.wait_for(_logged("drift")))
        assert drift["group"] == "announcements"
        assert drift["changes"] == ["add lucas (+1 415-555-0110)"]
        healed = json.loads(pasted.wait_for(_logged("heal_")))
        assert healed["event"] == "heal_applied", healed
    finally:
        pasted.stop()
    world = json.loads((example / "world.json").read_text())
    (group,) = [g for g in world["groups"] if g["id"] == "120363000000000101@g.us"]
    assert group["participants"]["+" + LUCAS.split("@")[0]] == "member"  # Lucas is back


def test_the_simulator_example_serves_and_status_reads_it(tmp_path: Path) -> None:
    text = _on_free_ports(block(SIM_EXAMPLE), port8765=free_port())
    pasted = Pasted(text, tmp_path, _clean_env())
    try:
        pasted.wait_for(r"^Titan simulator listening on http://127\.0\.0\.1:\d+$")
        pasted.wait_for(r'^\{"data":\[')  # the curl: the session's groups
        pasted.wait_for(r"^Session: +default: CONNECTED")  # groupctl -v status
        pasted.wait_for(r"^Groups: +0$")
        assert pasted.process.wait(timeout=60) == 0, pasted.text
    finally:
        pasted.stop()
    assert (tmp_path / "world.json").is_file()  # the world is kept where the block says


def test_the_blocks_run_here_use_only_the_ports_they_say() -> None:
    """The free ports stand in for every port each block names, so nothing else changes."""
    for text, ports in ((block(WATCH_DEMO), {"8765", "8080"}), (block(SIM_EXAMPLE), {"8765"})):
        assert set(re.findall(r"(?:127\.0\.0\.1:|--port )(\d+)", text)) == ports
