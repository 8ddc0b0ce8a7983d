"""What `groupctl validate` costs on big configs made of teams within teams.

    python bench/nested_teams.py [--size-mb 5] [--people 1000] [--shape squared,wide,tree]

Each shape is written to a config of SIZE-MB (its people first), then checked by the
installed `groupctl validate` under `/usr/bin/time -v`: reported are its exit status, what it
said, the wall time, the CPU time (user and system: on a machine others share, the fairer
figure) and the peak memory (maximum resident set size). A second, plain Python process then
times (CPU) the load alone and reading the YAML alone, so the figures split into start-up and
exit, what the YAML parser costs, and what checking and resolving people and teams costs.

- squared: each team lists the team before it, one half-way back, and a person: the teams
  stand for memberships growing with the square of their number (the shape of a hostile pull
  request). Refused at the budget of expanded memberships, naming the team.
- wide: one team of every person, listed by ten thousand teams and groups (the shape the issue
  measured: 724 KB, 38 s and 1.9 GB before teams had a budget). Refused at the budget.
- tree: squads of people, teams of squads, teams of those: a big organisation's real config,
  within the budget. Valid.

Targets (issue 13): under 2 s and under 300 MB for a 5 MB config.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

TARGET = "targets: under 2 s and 300 MB"


def people(count: int) -> Iterator[str]:
    yield "version: 1\npeople:\n"
    for n in range(count):
        yield f"  person{n}: '+4420{10_000_000 + n:08d}'\n"


def squared(people_count: int) -> Iterator[str]:
    yield "teams:\n  team0: [person0]\n  team1: [team:team0, person1]\n"
    yield "  team2: [team:team1, person2]\n"
    k = 3
    while True:
        yield f"  team{k}: [team:team{k - 1}, team:team{k // 2}, person{k % people_count}]\n"
        k += 1


def wide(people_count: int) -> Iterator[str]:
    yield "teams:\n  everyone: [" + ", ".join(f"person{n}" for n in range(people_count)) + "]\n"
    k = 0
    while True:
        yield f"  team{k}: [team:everyone]\n"
        k += 1


def tree(people_count: int) -> Iterator[str]:
    """Squads of 5 people, teams of 2 squads, departments of 2 teams (TREE_GROUPS lists
    them): each department stands for 20 people, each team for 10."""
    chosen = random.Random(13)
    yield "teams:\n"
    k = 0
    while True:
        crew = ", ".join(f"person{n}" for n in chosen.sample(range(people_count), 5))
        yield f"  squad{k}: [{crew}]\n"
        if k % 2:
            yield f"  team{k // 2}: [team:squad{k - 1}, team:squad{k}]\n"
        if k % 4 == 3:
            yield f"  department{k // 4}: [team:team{k // 2 - 1}, team:team{k // 2}]\n"
        k += 1


# 200 groups of 4 departments each (80 people, fewer where squads share someone): the
# departments they name exist in any tree of half a megabyte or more.
TREE_GROUPS = "groups:\n" + "".join(
    f"  group{g}: {{subject: Group {g}, members: ["
    + ", ".join(f"team:department{4 * g + d}" for d in range(4))
    + "]}\n"
    for g in range(200)
)
SHAPES: dict[str, tuple[Callable[[int], Iterator[str]], str]] = {
    "squared": (squared, ""),
    "wide": (wide, ""),
    "tree": (tree, TREE_GROUPS),
}


def write(path: Path, shape: str, size: int, people_count: int) -> None:
    """A config of at most `size` bytes: the people, the shape's groups, and its teams until
    it is full."""
    teams, groups = SHAPES[shape]
    head = "".join(people(people_count)) + groups
    path.write_text(head + "".join(_until(teams(people_count), size - len(head))))


def _until(lines: Iterator[str], room: int) -> Iterator[str]:
    used = 0
    for line in lines:
        used += len(line)
        if used > room:
            return
        yield line


def measure(groupctl: str, *args: str) -> dict[str, str]:
    """`groupctl ARGS` run under `/usr/bin/time -v`: what it said and what it cost."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", groupctl, *args],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", done.stderr)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    cpu = sum(
        float(t) for t in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)
    )
    said = [line for line in (done.stdout + done.stderr).splitlines() if line[:1] not in "\t "]
    return {
        "exit": str(done.returncode),
        "wall": wall.group(1) if wall else "?",
        "seconds": f"{_seconds(wall.group(1)) if wall else float('nan'):.2f}",
        "cpu": f"{cpu:.2f}",
        "peak MB": f"{int(peak.group(1)) / 1024:.0f}" if peak else "?",
        "says": "\n  ".join(line[:200] for line in said if "Command exited" not in line),
    }


def _seconds(wall: str) -> float:
    """`m:ss.ss` or `h:mm:ss` -> seconds."""
    total = 0.0
    for part in wall.split(":"):
        total = total * 60 + float(part)
    return total


def phase_seconds(path: Path) -> tuple[float, float]:
    """CPU seconds of reading the YAML alone, then of the whole load (YAML, schema, people,
    teams and groups), in a fresh process: the figures under the process's start-up and exit,
    and steadier than wall time on a machine others share."""
    code = (
        "import gc, sys, time\nfrom pathlib import Path\ngc.disable()  # as load() does\n"
        "from reconciler.config import load\nfrom reconciler.config.load import config_files\n"
        "from reconciler.config.yamlfile import read_yaml\n"
        "t = time.process_time()\nfor f in config_files(Path(sys.argv[1])): read_yaml(f)\n"
        "yaml = time.process_time() - t\nt = time.process_time()\n"
        "try:\n    load(sys.argv[1])\nexcept Exception:\n    pass\n"
        "print(yaml, time.process_time() - t)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    yaml, whole = done.stdout.split()
    return float(yaml), float(whole)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=5)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--shape", default=",".join(SHAPES))
    args = parser.parse_args()
    groupctl = str(Path(sys.executable).with_name("groupctl"))
    size = int(args.size_mb * 1024 * 1024) - 1024  # under the 5 MB a file may have
    print(TARGET)
    with tempfile.TemporaryDirectory() as directory:
        for shape in args.shape.split(","):
            path = Path(directory, f"{shape}.yaml")
            write(path, shape, size, args.people)
            result = measure(groupctl, "validate", "-f", str(path))
            yaml, load = phase_seconds(path)
            print(
                f"{shape}: {path.stat().st_size:,} bytes, exit {result['exit']},"
                f" wall {result['wall']} (CPU {result['cpu']} s), peak {result['peak MB']} MB;"
                f" in-process CPU: load {load:.2f} s, of which the YAML {yaml:.2f} s"
                f"\n  {result['says']}"
            )


if __name__ == "__main__":
    main()
