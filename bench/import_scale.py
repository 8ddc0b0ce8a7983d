"""What `groupctl import --all` costs at scale, and that its config plans to no changes.

    python bench/import_scale.py [--groups 1000] [--members 200]

A world of GROUPS groups x MEMBERS members (drawn from a pool of GROUPS x MEMBERS / 10
people, so people sit in several groups, as in a company) is served in-process by the
built-in simulator (`--api sim:world.json`). The installed `groupctl import --all -o DIR/`
runs under `/usr/bin/time -v`: reported are its wall time, CPU time and peak memory, the files
it wrote and their sizes. Then `groupctl plan -f DIR --detailed-exitcode` must exit 0 (no
changes), and its wall time is reported too.

Target (issue 14): seconds, not the 42.6 s and 300 MB of a one-file import of 1,000 groups;
every file under the 5 MB a config file may hold.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from reconciler.sim.state import Account, Group, Person, WorldState

BOT = "+14155550100"


def phone(n: int) -> str:
    """A valid US number: exchanges start at 200."""
    return f"+1212{200 + n // 10_000:03d}{n % 10_000:04d}"


def world(groups: int, members: int) -> WorldState:
    rng = random.Random(7)
    pool = [phone(n) for n in range(groups * members // 10 + members)]
    return WorldState(
        people=[Person(phone=BOT)],
        accounts=[Account(session="default", phone=BOT)],
        groups=[
            Group(
                id=f"1203630{index:011d}@g.us",
                subject=f"Group {index:04d}",
                description="Imported at scale",
                creator=BOT,
                created_at=1_700_000_000,
                invite_code=f"Code{index:018d}",
                participants={
                    BOT: "superadmin",
                    **dict.fromkeys(rng.sample(pool, members), "member"),
                },
            )
            for index in range(groups)
        ],
    )


def timed(command: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run `command` under /usr/bin/time -v: what it did, and `wall, CPU, peak` as text."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], cwd=cwd, capture_output=True, text=True
    )

    def field(name: str) -> str:
        found = re.search(rf"{re.escape(name)}: (.+)", done.stderr)
        return found.group(1).strip() if found else "?"

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    peak = int(field("Maximum resident set size (kbytes)")) / 1024
    return done, f"wall {wall}, CPU {cpu:.1f} s, peak {peak:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--members", type=int, default=200)
    args = parser.parse_args()
    groupctl = shutil.which("groupctl")
    if groupctl is None:
        sys.exit("groupctl is not installed in this environment (pip install -e .)")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "world.json").write_text(world(args.groups, args.members).model_dump_json())
        print(f"{args.groups} groups x {args.members} members")
        done, figures = timed(
            [groupctl, "import", "--all", "-o", "imported/", "--api", "sim:world.json"], work
        )
        if done.returncode != 0:
            sys.exit(f"import failed: {done.stderr[-2000:]}")
        files = sorted((work / "imported").iterdir())
        sizes = ", ".join(f"{f.name} {f.stat().st_size / 1e6:.1f} MB" for f in files)
        print(f"import --all: {figures}; wrote {sizes}")
        done, figures = timed(
            [groupctl, "plan", "-f", "imported", "--api", "sim:world.json", "--detailed-exitcode"],
            work,
        )
        verdict = "no changes" if done.returncode == 0 else f"exit {done.returncode}"
        print(f"plan of it: {figures}; {verdict}")
        if done.returncode != 0:
            sys.exit(done.stdout[-2000:] + done.stderr[-2000:])


if __name__ == "__main__":
    main()
