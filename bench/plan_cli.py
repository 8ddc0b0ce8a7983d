"""What a user waits for: the whole `groupctl plan` process, phase by phase, beside the raw
floor of reading the same groups and a naive script, measured in the same run.

    python bench/plan_cli.py [--groups 100,1000,3000] [--members 200] [--latency-ms 20]
                             [--runs 3]

For each size, a world of GROUPS groups x MEMBERS members is served over real HTTP by
`groupctl sim serve --latency-ms LATENCY --rate-limit unlimited` (its own process), and
`groupctl import --all -o DIR/` writes its config, as a user starts. Then, RUNS times each
(the median is shown):

- `groupctl plan -f DIR -v`, the installed command as a whole process, under
  `/usr/bin/time -v`: wall time, CPU, peak memory; and its phases from its `-v` lines (config
  load, live read, planning, printing; start-up and exit are the rest). It must say "no
  changes": the config was imported.
- the floor: a minimal asyncio HTTP/1.1 client (raw sockets, 64 connections kept alive) that
  reads the session, the group list and every group, and nothing else.
- a naive script: one `httpx.Client`, the same reads one after the other, what a user writes
  without groupctl.

Each plan's wall time is also given as a ratio to the floor and to the naive script.
Targets (issue 14), at 1,000 groups: plan at most 3x the floor and at least 6x faster than
the naive script; at 3,000: config load under 4.5 s, peak memory under 250 MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_scale import world

KEY = "bench-key-plan-cli"
PHASES = {
    "load": re.compile(r"groups loaded in ([\d.]+) s"),
    "read": re.compile(r"groups read in ([\d.]+) s"),
    "plan": re.compile(r"planned in ([\d.]+) s"),
    "print": re.compile(r"plan printed in ([\d.]+) s"),
}
CONNECTIONS = 64


def serve(state: Path, latency: int) -> tuple[subprocess.Popen[str], str]:
    groupctl = shutil.which("groupctl") or "groupctl"
    process = subprocess.Popen(
        [
            *(groupctl, "sim", "serve", "--port", "0", "--state", str(state), "--api-key", KEY),
            *("--latency-ms", str(latency), "--rate-limit", "unlimited"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"listening on (http://\S+)", line)
    if found is None:
        process.kill()
        sys.exit(f"sim serve did not start: {line!r}")
    return process, found.group(1)


def whole_plan(config: Path, url: str) -> dict[str, float]:
    """One `groupctl plan` as a process: wall, cpu, peak (MiB) and its phases, in seconds."""
    env = {"TITAN_API_URL": url, "TITAN_API_KEY": KEY, "PATH": _path(), "NO_COLOR": "1"}
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", "groupctl", "plan", "-f", str(config), "-v", "--detailed-exitcode"],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"plan did not say 'no changes' (exit {done.returncode}): {done.stderr[-3000:]}")
    figures = {"wall": wall}
    for phase, pattern in PHASES.items():
        found = pattern.search(done.stderr)
        figures[phase] = float(found.group(1)) if found else float("nan")
    figures["other"] = wall - sum(figures[p] for p in PHASES)
    user = re.search(r"User time \(seconds\): ([\d.]+)", done.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", done.stderr)
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    assert user is not None, done.stderr[-2000:]
    assert system is not None
    assert peak is not None
    figures["cpu"] = float(user.group(1)) + float(system.group(1))
    figures["peak"] = int(peak.group(1)) / 1024
    return figures


def _path() -> str:
    groupctl = shutil.which("groupctl")
    assert groupctl is not None
    return f"{Path(groupctl).parent}:/usr/bin:/bin"


async def floor(url: str) -> float:
    """Seconds for a minimal client to read the session, the list and every group."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    base = "/api/sessions/default"

    async def connection(paths: asyncio.Queue[str], bodies: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while not paths.empty():
                path = paths.get_nowait()
                writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {KEY}\r\n"
                    "\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: (\d+)", head)
                assert length is not None, head
                bodies.append(await reader.readexactly(int(length.group(1))))
        finally:
            writer.close()

    async def read(paths: list[str], connections: int) -> list[bytes]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for path in paths:
            queue.put_nowait(path)
        bodies: list[bytes] = []
        await asyncio.gather(*(connection(queue, bodies) for _ in range(connections)))
        return bodies

    started = time.perf_counter()
    await read([base], 1)
    (listed,) = await read([f"{base}/groups"], 1)
    ids = [group["id"] for group in json.loads(listed)["data"]]
    paths = [f"{base}/groups/{quote(gid, safe='')}" for gid in ids]
    bodies = await read(paths, min(CONNECTIONS, len(paths)))
    assert len(bodies) == len(ids)
    return time.perf_counter() - started


def read_floor(url: str) -> float:
    return asyncio.run(floor(url))


def naive(url: str) -> float:
    """Seconds for a plain script to read the same, one call after the other."""
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        client.get("/api/sessions/default").raise_for_status()
        listed = client.get("/api/sessions/default/groups").json()["data"]
        for group in listed:
            client.get(f"/api/sessions/default/groups/{quote(group['id'], safe='')}").json()
    return time.perf_counter() - started


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def repeat(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default="100,1000,3000")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("groupctl") is None:
        sys.exit("groupctl is not installed in this environment (pip install -e .)")
    print(
        f"groups x {args.members} members, sim serve --latency-ms {args.latency_ms}, median of"
        f" {args.runs}; times in seconds"
    )
    print(
        f"{'groups':>6} {'plan':>6} {'load':>5} {'read':>5} {'plan':>5} {'print':>5} {'other':>5}"
        f" {'cpu':>5} {'peak MiB':>8} {'floor':>6} {'naive':>6} {'x floor':>7} {'naive/x':>7}"
    )
    for groups in (int(n) for n in args.groups.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            work = Path(scratch)
            state = work / "world.json"
            state.write_text(world(groups, args.members).model_dump_json())
            server, url = serve(state, args.latency_ms)
            try:
                env = {"TITAN_API_URL": url, "TITAN_API_KEY": KEY, "PATH": _path()}
                subprocess.run(
                    ["groupctl", "import", "--all", "-o", "config/"],
                    cwd=work,
                    env=env,
                    check=True,
                    capture_output=True,
                )
                runs = [whole_plan(work / "config", url) for _ in range(args.runs)]
                bottom = repeat(args.runs, functools.partial(read_floor, url))
                plain = repeat(args.runs, functools.partial(naive, url))
            finally:
                server.kill()
                server.wait()
        wall = median(runs, "wall")
        print(
            f"{groups:>6} {wall:6.2f} {median(runs, 'load'):5.2f} {median(runs, 'read'):5.2f}"
            f" {median(runs, 'plan'):5.2f} {median(runs, 'print'):5.2f}"
            f" {median(runs, 'other'):5.2f} {median(runs, 'cpu'):5.1f}"
            f" {median(runs, 'peak'):8.0f} {bottom:6.2f} {plain:6.2f} {wall / bottom:7.1f}"
            f" {plain / wall:7.1f}"
        )


if __name__ == "__main__":
    main()
