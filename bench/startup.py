"""How long a command takes before it does anything: the installed `groupctl` as a whole
process, as a user or a CI step runs it.

    python bench/startup.py [--runs 10]

Times (median and fastest of RUNS, wall clock) `groupctl --help`, `groupctl validate` of the
example config (in a copy of examples/), `groupctl plan` of it against the built-in simulator
(`--api sim:world.json`, the README's first command: mostly start-up, its work is small), and,
for scale, a bare `python -c pass` of the same interpreter. Targets (issue 14): `--help` under
0.15 s, `validate` of the example under 0.25 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def timed(command: list[str], cwd: Path, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    groupctl = shutil.which("groupctl")
    if groupctl is None:
        sys.exit("groupctl is not installed in this environment (pip install -e .)")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch) / "examples"
        shutil.copytree(EXAMPLES, work)
        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"]),
            ("groupctl --help", [groupctl, "--help"]),
            ("groupctl validate (example)", [groupctl, "validate"]),
            ("groupctl plan (example, sim:)", [groupctl, "plan", "--api", "sim:world.json"]),
        ]
        print(f"{'command':32} {'median':>8} {'fastest':>8}   ({runs} runs)")
        for label, command in cases:
            timed(command, work, 1)  # warm the file cache
            seconds = timed(command, work, runs)
            print(f"{label:32} {statistics.median(seconds):7.3f}s {min(seconds):7.3f}s")


if __name__ == "__main__":
    main()
