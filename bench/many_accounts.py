"""Many accounts, one repository: plan wall time for 1, 2 and 5 shards run side by side, and
each account's apply rate against its pace.

    python bench/many_accounts.py [--sessions 10] [--groups 500] [--members 100]
                                  [--latency-ms 20] [--shards 1,2,5]
                                  [--apply-groups 20] [--pace 120/min]

A world of SESSIONS accounts, each in GROUPS groups of MEMBERS members, is served over real
HTTP by `groupctl sim serve --latency-ms LATENCY --rate-limit unlimited` (its own process).
The config (written here, one file per session) declares the sessions and binds every group
by id, with exactly its live members, so that every plan must say "no changes" (the bench
exits otherwise).

- Plans: for each N of --shards, N `groupctl plan` processes start together (`--shard K/N`;
  N = 1: one process, which plans every session at once), each under `/usr/bin/time -v`.
  Reported: the wall time until the last one ends, and the largest peak memory of one; then
  each shard alone, one after the other, as a CI matrix runs them on machines of their own:
  the slowest.
- Apply: a second world of SESSIONS accounts x APPLY_GROUPS groups, each group lacking one
  member of its config, every session paced at PACE (sessions: write_rate); one `groupctl
  apply --auto-approve` adds them all (every session at once). Reported: its wall time and
  each account's adds per minute, against its pace.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_scale import phone
from plan_cli import KEY, _path, serve

from reconciler.sim.state import Account, Group, Person, WorldState


def bot(session: int) -> str:
    return f"+1415555{session:04d}"


def estate(sessions: int, groups: int, members: int, lacking: int = 0) -> tuple[WorldState, str]:
    """The world, and its config as YAML text: each group's members are its live ones, and
    `lacking` more people the live group does not have yet."""
    people: set[str] = set()
    live: list[Group] = []
    config = ["version: 1", "session: s00", "sessions:"]
    config += [f"  s{s:02d}: {{write_rate: {PACE}}}" for s in range(sessions)]
    config.append("groups:")
    for s in range(sessions):
        for g in range(groups):
            index = s * groups + g
            wanted = [phone(index * 7 + m) for m in range(members + lacking)]
            there = wanted[:members]
            people.update(wanted)
            live.append(
                Group(
                    id=f"1203630{index:011d}@g.us",
                    subject=f"S{s:02d} G{g:04d}",
                    creator=bot(s),
                    created_at=1_700_000_000,
                    invite_code=f"Code{index:018d}",
                    participants={bot(s): "superadmin", **dict.fromkeys(there, "member")},
                )
            )
            config += [
                f"  s{s:02d}-g{g:04d}:",
                f'    id: "1203630{index:011d}@g.us"',
                f"    subject: S{s:02d} G{g:04d}",
                f"    session: s{s:02d}",
                f"    members: [{', '.join(repr(p) for p in wanted)}]",
            ]
    world = WorldState(
        people=[Person(phone=p) for p in sorted(people | {bot(s) for s in range(sessions)})],
        accounts=[Account(session=f"s{s:02d}", phone=bot(s)) for s in range(sessions)],
        groups=live,
    )
    return world, "\n".join(config) + "\n"


PACE = "120/min"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["/usr/bin/time", "-v", *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def peak_of(stderr: str) -> float:
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return int(found.group(1)) / 1024 if found else float("nan")


def plans(work: Path, url: str, shards: int, *, alone: int | None = None) -> tuple[float, float]:
    """N plan processes side by side (or only shard `alone`, as a matrix job on a machine of
    its own runs it): the wall time until the last ends, the largest peak."""
    env = {"TITAN_API_URL": url, "TITAN_API_KEY": KEY, "PATH": _path(), "NO_COLOR": "1"}
    cut = [[f"--shard={k}/{shards}"] for k in range(1, shards + 1)] if shards > 1 else [[]]
    if alone is not None:
        cut = [cut[alone - 1]]
    started = time.perf_counter()
    running = [
        timed(["groupctl", "plan", "-f", "config", "--detailed-exitcode", *extra], work, env)
        for extra in cut
    ]
    outputs = [process.communicate() for process in running]
    wall = time.perf_counter() - started
    for process, (out, err) in zip(running, outputs, strict=True):
        if process.returncode != 0:
            sys.exit(f"a plan did not say 'no changes' (exit {process.returncode}): {err[-2000:]}")
        if "Plan: no changes" not in out:
            sys.exit(f"a plan said something else: {out[-2000:]}")
    return wall, max(peak_of(err) for _, err in outputs)


def write_config(work: Path, text: str) -> None:
    """One file per session, as a big estate keeps it: the header, then each session's groups."""
    folder = work / "config"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    head, _, body = text.partition("groups:\n")
    (folder / "00-sessions.yaml").write_text(head)
    chunks: dict[str, list[str]] = {}
    current = ""
    for line in body.splitlines():
        if line.startswith("  s") and line.endswith(":"):
            current = line.strip()[:3]
        chunks.setdefault(current, []).append(line)
    for session, lines in chunks.items():
        (folder / f"{session}.yaml").write_text("version: 1\ngroups:\n" + "\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--shards", default="1,2,5")
    parser.add_argument("--apply-groups", type=int, default=20)
    args = parser.parse_args()
    if shutil.which("groupctl") is None:
        sys.exit("groupctl is not installed in this environment (pip install -e .)")
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        world, config = estate(args.sessions, args.groups, args.members)
        (work / "world.json").write_text(world.model_dump_json())
        write_config(work, config)
        size = sum(f.stat().st_size for f in (work / "config").iterdir()) / 1e6
        print(
            f"{args.sessions} sessions x {args.groups} groups x {args.members} members"
            f" (config {size:.1f} MB), sim serve --latency-ms {args.latency_ms}"
        )
        server, url = serve(work / "world.json", args.latency_ms)
        try:
            for shards in (int(n) for n in args.shards.split(",")):
                wall, peak = plans(work, url, shards)
                alone = [plans(work, url, shards, alone=k)[0] for k in range(1, shards + 1)]
                print(
                    f"plan, {shards} shard(s): side by side {wall:.2f} s (peak {peak:.0f} MiB"
                    f" each); one at a time, as jobs on machines of their own, the slowest"
                    f" {max(alone):.2f} s"
                )
        finally:
            server.kill()
            server.wait()

        world, config = estate(args.sessions, args.apply_groups, 10, lacking=1)
        (work / "world.json").write_text(world.model_dump_json())
        write_config(work, config)
        env = {"PATH": _path(), "NO_COLOR": "1"}
        started = time.perf_counter()
        done = subprocess.run(
            ["groupctl", "apply", "-f", "config", "--api", "sim:world.json", "--auto-approve"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"apply failed (exit {done.returncode}): {done.stderr[-2000:]}")
        added = len(re.findall(r"\] add .+?: done", done.stdout + done.stderr))
        expected = args.sessions * args.apply_groups
        if added != expected:
            sys.exit(f"apply added {added} people, not {expected}")
        rate = args.apply_groups / wall * 60
        print(
            f"apply, {args.sessions} accounts x {args.apply_groups} adds, each paced {PACE}:"
            f" {wall:.1f} s in all; {rate:.0f} adds/min per account ({added / wall * 60:.0f}/min"
            " in all)"
        )


if __name__ == "__main__":
    main()
