"""What loading a big config costs: `groupctl validate` of GROUPS groups x MEMBERS members.

    python bench/config_load.py [--groups 1000] [--members 200] [--style import,bench]
                                [--phones e164] [--repeat 3] [--profile]

Two shapes of the same world (a pool of GROUPS x MEMBERS / 10 + MEMBERS people, each group
MEMBERS of them, two of whom are admins):

- import: the shape `groupctl import` writes: a directory with the people in `people.yaml`
  (`p_12122000001: '+12122000001'`) and the groups, each with its id, subject, members and
  admins by name in block lists, in files of at most 250 groups (a file may hold 5 MB).
  `--phones display` writes the numbers as `+1 212-200-0001` instead of E.164.
- bench: one file whose groups list the numbers themselves (`members: ['+1212...', ...]`),
  as bench/plan_scale.py writes it.

Each is checked REPEAT times by the installed `groupctl validate` under `/usr/bin/time -v`,
each a fresh process (start-up included: `groupctl --help`'s time is printed for reference);
reported are the median wall time, its CPU time and peak memory, then the CPU time of the
load alone and of reading its YAML, in a fresh Python process (best of REPEAT). With
`--profile`, the load is then profiled in this process (cProfile) and its top functions
printed.

What reading one distinct phone number costs, as written three ways, is printed first.

Target (issue 14): the 1,000-group x 200-member imported config validates in under 1.5 s.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nested_teams import measure, phase_seconds

TARGET = "target: 1,000 groups x 200 members validate in under 1.5 s"
GROUPS_PER_FILE = 250


def phone(n: int) -> str:
    """A valid US number, E.164: exchanges start at 200."""
    return f"+1212{200 + n // 10_000:03d}{n % 10_000:04d}"


def shown(number: str) -> str:
    """The number as `groupctl import` writes it today: `+1 212-200-0001`."""
    return f"+1 {number[2:5]}-{number[5:8]}-{number[8:]}"


def memberships(groups: int, members: int) -> list[list[int]]:
    """For each group, the people (indexes into the pool) it holds, the last two admins."""
    rng = random.Random(14)
    pool = range(groups * members // 10 + members)
    return [rng.sample(pool, members) for _ in range(groups)]


def write_import(directory: Path, world: list[list[int]], phones: str) -> Path:
    used = sorted({n for people in world for n in people})
    write = shown if phones == "display" else str
    people = "".join(f"  p_{phone(n)[1:]}: '{write(phone(n))}'\n" for n in used)
    directory.mkdir()
    (directory / "people.yaml").write_text(f"version: 1\nsession: default\npeople:\n{people}")
    for first in range(0, len(world), GROUPS_PER_FILE):
        lines = ["version: 1", "groups:"]
        for index in range(first, min(first + GROUPS_PER_FILE, len(world))):
            names = [f"p_{phone(n)[1:]}" for n in world[index]]
            lines += [
                f"  # created 2024-01-01, {len(names)} participants besides the session",
                f"  group-{index:04d}:",
                f"    id: 1203630{index:011d}@g.us",
                f"    subject: Group {index:04d}",
                "    members:",
                *(f"      - {name}" for name in sorted(names[:-2])),
                "    admins:",
                *(f"      - {name}" for name in sorted(names[-2:])),
            ]
        (directory / f"groups-{first // GROUPS_PER_FILE + 1}.yaml").write_text(
            "\n".join(lines) + "\n"
        )
    return directory


def write_bench(file: Path, world: list[list[int]]) -> Path:
    lines = ["version: 1", "groups:"]
    for index, people in enumerate(world):
        numbers = [repr(phone(n)) for n in people]
        lines += [
            f"  g{index}:",
            f"    subject: Group {index:04d}",
            f"    members: [{', '.join(numbers[:-2])}]",
            f"    admins: [{', '.join(numbers[-2:])}]",
        ]
    file.write_text("\n".join(lines) + "\n")
    return file


def size_of(path: Path) -> int:
    files = path.rglob("*.yaml") if path.is_dir() else [path]
    return sum(file.stat().st_size for file in files)


def number_costs(count: int = 20_000) -> str:
    """What reading one distinct number costs (parse_phone, uncached), as written three ways."""
    from reconciler.core.jid import parse_phone

    numbers = [phone(n) for n in range(count)]
    forms = {
        "E.164": (numbers, None),
        "spaced (+1 212-200-0001)": ([shown(number) for number in numbers], None),
        "national ((212) 200-0001, country US)": (
            [f"({n[2:5]}) {n[5:8]}-{n[8:]}" for n in numbers],
            "US",
        ),
    }
    costs = []
    for form, (texts, country) in forms.items():
        started = time.process_time()
        for text in texts:
            parse_phone.__wrapped__(text, default_country=country)
        costs.append(f"{form} {(time.process_time() - started) / count * 1e6:.1f} us")
    return f"reading a distinct number (CPU, {count:,} numbers): " + ", ".join(costs)


def profile(path: Path, top: int) -> None:
    """The load alone, in this process, under cProfile: its top functions by own time."""
    from reconciler.config import load

    gc.collect()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    load(path)
    profiler.disable()
    print(f"  profiled load: {time.perf_counter() - started:.2f} s (cProfile slows it down)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--style", default="import,bench")
    parser.add_argument("--phones", choices=("e164", "display"), default="e164")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    groupctl = str(Path(sys.executable).with_name("groupctl"))
    print(TARGET)
    started = [float(measure(groupctl, "--help")["seconds"]) for _ in range(args.repeat)]
    print(f"groupctl --help (start-up alone): median wall {statistics.median(started):.2f} s")
    print(number_costs())
    world = memberships(args.groups, args.members)
    with tempfile.TemporaryDirectory() as directory:
        for style in args.style.split(","):
            if style == "import":
                path = write_import(Path(directory, "imported"), world, args.phones)
            else:
                path = write_bench(Path(directory, "bench.yaml"), world)
            runs = [measure(groupctl, "validate", "-f", str(path)) for _ in range(args.repeat)]
            run = sorted(runs, key=lambda r: float(r["seconds"]))[len(runs) // 2]
            yaml, load = min(phase_seconds(path) for _ in range(args.repeat))
            print(
                f"{style} ({args.groups} x {args.members}, {size_of(path):,} bytes):"
                f" exit {run['exit']}, median wall {run['seconds']} s of {args.repeat}"
                f" (CPU {run['cpu']} s), peak {run['peak MB']} MB; in-process CPU (best):"
                f" load {load:.2f} s, of which the YAML {yaml:.2f} s\n  {run['says']}"
            )
            if args.profile:
                profile(path, args.top)


if __name__ == "__main__":
    main()
