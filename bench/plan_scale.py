"""How fast `plan` is at scale, and how close to the bound that latency sets.

    python bench/plan_scale.py [--groups 1000] [--members 200] [--latency-ms 20]
                               [--concurrency 4,8,16] [--repeat 1] [--rate-limit unlimited]
                               [--planner-groups 2000] [--planner-members 1024]

1. A world of GROUPS groups x MEMBERS members is served over real HTTP by `groupctl sim serve`
   (a separate process) with LATENCY ms added to every request; a config manages every group,
   5% of them drifted. Plan reads live state and plans, at CONCURRENCY and at concurrency 1.
   Each run is a fresh Python process, as `groupctl plan` is: no cache is warm from an earlier
   run. Its wall time is the live read and plan; loading the config is timed apart. Reported:
   wall time, API calls (counted by the simulator), the lower bound calls / concurrency x
   latency, and the CPU seconds spent meanwhile by the client, by the simulator and by anything
   else on the machine (a busy machine makes the figures meaningless). A process's CPU time is
   a bound too, since each is single-threaded: the floor is the largest of the three bounds.
   The client's CPU per group read is its CPU over the groups read. Requests are counted as
   the client sent them (retries included) against the answers other than 429, with the 429s
   apart: RATE-LIMIT is the simulator's (`default`: its own default, 100/s), to see that reads
   wait for their turn instead of being refused. With REPEAT > 1 each level runs that many
   times and the fastest run is shown.
2. The pure planner on PLANNER-GROUPS x PLANNER-MEMBERS, built in memory: time and peak
   memory of plan() itself (tracemalloc), and the size of its input.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from reconciler.config import load
from reconciler.core.groups import (
    DesiredGroup,
    DesiredState,
    GroupState,
    ListedGroup,
    LiveGroup,
    LiveState,
    standing,
)
from reconciler.core.jid import Jid, JidKind
from reconciler.engine.live import fetch
from reconciler.engine.planner import plan
from reconciler.errors import GroupctlError
from reconciler.sim.state import Account, Group, Person, WorldState
from reconciler.titan.client import TitanClient
from reconciler.titan.http import CallStats

BOT = "+14155550100"
KEY = "bench-key-0123456789"
TARGETS = (
    "targets: API calls <= groups + 2 (the session, the list, each group); wall <= 1.5 x bound;"
    " 429s <= 5% of answers; planner < 1 s and < 500 MiB"
)


def phone(n: int) -> str:
    """A valid US number: exchanges start at 200."""
    return f"+1212{200 + n // 10_000:03d}{n % 10_000:04d}"


def build(groups: int, members: int, directory: Path) -> tuple[Path, Path]:
    rng = random.Random(7)
    pool = [phone(n) for n in range(groups * members // 10 + members)]
    world_groups, config_lines = [], ["version: 1", "groups:"]
    for index in range(groups):
        people = rng.sample(pool, members)
        wanted = list(people)
        if index % 20 == 0:  # 5% drift: someone to add, someone to remove
            wanted[-1] = phone(7_000_000 + index)
        world_groups.append(
            Group(
                id=f"1203630{index:011d}@g.us",
                subject=f"Group {index:04d}",
                creator=BOT,
                created_at=1,
                invite_code=f"Code{index:018d}",
                participants={BOT: "superadmin", **dict.fromkeys(people, "member")},
            )
        )
        config_lines += [
            f"  g{index}:",
            f"    subject: Group {index:04d}",
            f"    members: [{', '.join(repr(p) for p in wanted)}]",
        ]
    world = directory / "world.json"
    world.write_text(
        WorldState(
            people=[Person(phone=BOT)],
            accounts=[Account(session="default", phone=BOT)],
            groups=world_groups,
        ).model_dump_json()
    )
    config = directory / "groups.yaml"
    config.write_text("\n".join(config_lines) + "\n")
    return world, config


@dataclass(frozen=True)
class Run:
    """One plan, timed in its own process."""

    load: float  # seconds to load the config (not in `wall`)
    wall: float  # seconds to read live state and plan
    client_cpu: float
    server_cpu: float | None  # None where /proc is not there to ask
    other_cpu: float | None  # every other process on the machine
    actions: int
    sent: int  # requests the client sent, retries included
    refused: int  # of which answered 429
    answered: int  # of which answered otherwise (the rest got no answer)
    failed: str | None = None  # why the read failed, if it did


def measure(url: str, config: Path, concurrency: int, server_pid: int) -> Run:
    """Load the config, then read live state and plan; run in a fresh process."""
    started = time.perf_counter()
    desired = load(config)
    loaded = time.perf_counter()
    machine, server, cpu = busy_cpu(), process_cpu(server_pid), time.process_time()

    stats, failed = CallStats(), None

    async def read_and_plan() -> int:
        nonlocal stats
        async with TitanClient(
            url, api_key=KEY, write_rate=None, max_concurrency=concurrency
        ) as client:
            stats = client.stats
            result = plan(desired, await fetch(client, desired))
        return sum(len(g.actions) for g in result.groups)

    try:
        actions = asyncio.run(read_and_plan())
    except GroupctlError as exc:  # shown, not raised: an error may not cross processes
        actions, failed = -1, f"{type(exc).__name__}: {exc}"
    done = time.perf_counter()
    client_cpu = time.process_time() - cpu
    server_after, machine_after = process_cpu(server_pid), busy_cpu()
    server_cpu = None if server is None or server_after is None else server_after - server
    other_cpu = (
        None
        if machine is None or machine_after is None or server_cpu is None
        else max(0.0, machine_after - machine - client_cpu - server_cpu)
    )
    refused = stats.by_status.get(429, 0)
    return Run(
        loaded - started,
        done - loaded,
        client_cpu,
        server_cpu,
        other_cpu,
        actions,
        stats.requests,
        refused,
        sum(stats.by_status.values()) - refused,
        failed,
    )


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used so far, from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_cpu() -> float | None:
    """CPU seconds the whole machine has been busy so far, from /proc/stat (Linux)."""
    try:
        ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return None
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # less idle, iowait


def in_fresh_process(url: str, config: Path, concurrency: int, server_pid: int) -> Run:
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(measure, url, config, concurrency, server_pid).result()


def served_calls(url: str) -> int:
    return int(httpx.get(f"{url}/_sim/stats").json()["requests"])


def seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def live_benchmark(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as directory:
        world, config = build(args.groups, args.members, Path(directory))
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("groupctl")),
                "sim",
                "serve",
                "--port",
                "0",
                "--state",
                str(world),
                "--api-key",
                KEY,
                "--latency-ms",
                str(args.latency_ms),
                *([] if args.rate_limit == "default" else ["--rate-limit", args.rate_limit]),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            match = re.search(r"(http://\S+)", server.stdout.readline())
            assert match, "sim serve did not start"
            url = match.group(1)
            latency = args.latency_ms / 1000
            print(
                f"world: {args.groups} groups x {args.members} members, {args.latency_ms} ms"
                f" latency, rate limit {args.rate_limit}, served by groupctl sim serve over"
                " HTTP; each run in a fresh process"
                + (f", fastest of {args.repeat}" if args.repeat > 1 else "")
            )
            print(
                f"  {'conc':>4} {'wall':>8} {'bound':>8} {'x bound':>8} {'floor':>8}"
                f" {'x floor':>8} {'client CPU':>11} {'per read':>9} {'server CPU':>11}"
                f" {'others CPU':>11} {'config load':>12}  {'API calls':<17} {'sent':>6}"
                f" {'answered':>8} {'429':>5} actions"
            )
            levels = [int(level) for level in args.concurrency.split(",")]
            for concurrency in levels if args.no_sequential else [*levels, 1]:
                runs = []
                for _ in range(args.repeat):
                    before = served_calls(url)
                    run = in_fresh_process(url, config, concurrency, server.pid)
                    runs.append((run, served_calls(url) - before))
                run, calls = min(runs, key=lambda pair: pair[0].wall)
                bound = calls / concurrency * latency
                floor = max(bound, run.client_cpu, run.server_cpu or 0.0)
                per_read = f"{run.client_cpu / args.groups * 1000:.2f} ms"
                print(
                    f"  {concurrency:>4} {seconds(run.wall):>8} {seconds(bound):>8}"
                    f" {run.wall / bound:>7.2f}x {seconds(floor):>8} {run.wall / floor:>7.2f}x"
                    f" {seconds(run.client_cpu):>11} {per_read:>9} {seconds(run.server_cpu):>11}"
                    f" {seconds(run.other_cpu):>11} {seconds(run.load):>12} "
                    f" {f'{calls} = groups + {calls - args.groups}':<17} {run.sent:>6}"
                    f" {run.answered:>8} {run.refused:>5} {run.actions}"
                )
                if run.failed:
                    print(f"       failed: {run.failed}")
        finally:
            server.terminate()
            server.wait(timeout=30)


def planner_benchmark(groups: int, members: int) -> None:
    me = Jid("14155550100", JidKind.PHONE)
    desired_groups, live_groups, listed = [], {}, []
    for index in range(groups):
        people = [Jid(f"1{index:04d}{n:06d}", JidKind.PHONE) for n in range(members)]
        group_id = Jid(f"1203630{index:011d}", JidKind.GROUP)
        wanted = dict.fromkeys(people[1:], standing())  # one to remove in every group
        now = {me: standing(super_admin=True), **dict.fromkeys(people[:-1], standing())}
        desired_groups.append(
            DesiredGroup(f"g{index}", group_id, GroupState(f"Group {index}", None, None, wanted))
        )
        live_groups[group_id] = LiveGroup(group_id, GroupState(f"Group {index}", "", None, now))
        listed.append(ListedGroup(group_id, f"Group {index}"))
    desired = DesiredState(groups=tuple(desired_groups))
    live = LiveState(me=me, me_lid=None, listed=tuple(listed), groups=live_groups)
    input_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    started = time.perf_counter()
    result = plan(desired, live)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"planner: {groups} groups x {members} members: {elapsed:.2f} s, peak memory of"
        f" plan() {peak / 2**20:.0f} MiB (process max RSS with its input"
        f" {input_rss:.0f} MiB), {len(result.groups)} groups with actions"
    )
    repeat = time.perf_counter()
    plan(desired, live)
    print(f"  again without tracemalloc: {time.perf_counter() - repeat:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument(
        "--concurrency",
        default="4,8,16",
        help="levels to run at, comma-separated (1 is always run too)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per level; the fastest is shown"
    )
    parser.add_argument(
        "--rate-limit",
        default="unlimited",
        help="the simulator's rate limit: e.g. 100/s, unlimited, or default (its own)",
    )
    parser.add_argument(
        "--no-planner", action="store_true", help="skip the pure planner's benchmark"
    )
    parser.add_argument(
        "--no-sequential", action="store_true", help="skip the run at concurrency 1"
    )
    parser.add_argument("--planner-groups", type=int, default=2000)
    parser.add_argument("--planner-members", type=int, default=1024)
    args = parser.parse_args()
    print(TARGETS)
    live_benchmark(args)
    if not args.no_planner:
        planner_benchmark(args.planner_groups, args.planner_members)


if __name__ == "__main__":
    main()
