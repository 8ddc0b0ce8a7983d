"""The installed `groupctl` as a real process: one-off commands, and `sim serve` running."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def run_groupctl(
    groupctl: str, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command with a clean environment: no TITAN_* or GROUPCTL_* from outside, no
    color."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "GROUPCTL_"))}
    return subprocess.run(
        [groupctl, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**clean, "NO_COLOR": "1", **(env or {})},
    )


# Runs a command with SIGINT as a user's Ctrl-C finds it, whatever this test run inherited: a
# suite started in the background (`pytest &`, a job runner) ignores SIGINT, its children
# would too, and groupctl rightly keeps an ignored SIGINT ignored. (A shell cannot undo an
# ignored signal it was started with; Python can, and exec keeps the pid the test signals.)
WITH_SIGINT = (
    sys.executable,
    "-I",  # isolated: nothing of the working directory shadows the standard library
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL);"
    " os.execvp(sys.argv[1], sys.argv[1:])",
)

LISTENING = re.compile(r"Titan simulator listening on (http://\S+)")


class ServedSim:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url

    def kill(self) -> None:
        """SIGKILL: no chance to clean up or save anything more."""
        self.process.send_signal(signal.SIGKILL)
        self.process.communicate(timeout=10)

    def stop(self) -> tuple[str, str]:
        """SIGTERM, wait, and return what it printed (stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=15)
        return out, err


@contextmanager
def sim_serve(
    groupctl: str, state: Path, *args: str, key: str = "K", env: dict[str, str] | None = None
) -> Iterator[ServedSim]:
    """Start `groupctl sim serve --port 0 ...`; ready once it prints its address. `env` adds
    to the environment."""
    env = {**os.environ, **(env or {}), "TITAN_API_KEY": key}
    process = subprocess.Popen(
        [groupctl, "sim", "serve", "--port", "0", "--state", str(state), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until the socket listens (or the process dies)
    match = LISTENING.search(line)
    if match is None:
        process.kill()
        _, err = process.communicate(timeout=10)
        raise AssertionError(f"sim serve did not start: {line!r} {err!r}")
    served = ServedSim(process, match.group(1))
    try:
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


def start_groupctl(
    groupctl: str, *args: str, cwd: Path, env: dict[str, str]
) -> subprocess.Popen[str]:
    """`groupctl ARGS` running in the background (watch), its output piped as text."""
    return subprocess.Popen(
        [groupctl, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
