"""Creating and filling groups through apply: exactly the fewest API calls, at the pace set.

    python bench/apply_scale.py [--groups 100] [--members 500] [--admins 2] [--picture-every 10]
                                [--write-rate 50/s] [--latency-ms 0]

A config of GROUPS new groups of MEMBERS members each (ADMINS of them admins, a description on
each, a picture on every PICTURE-EVERY-th) is planned and applied through the library
(`reconciler.engine.service.plan_now` then `apply_now`, as `groupctl apply` does) against the
simulator, the client pacing its writes at WRITE-RATE. The simulator runs in-process, as
`--api sim:PATH` does (its world file saved after every change): what is measured, the calls
and their pacing, is the client's and the same over a socket (measured: 46.4/s against 45.8/s
at the defaults), while in-process needs no port or second process, and the simulator's own
count and world can be checked directly. LATENCY ms is added to every call.

The minimum is computed from the config, not from the plan: reading live state takes the
session and the list of groups (no group exists yet, so no group is read); each group then
takes one create (at most 256 participants), one add per further 256 members, one call for
its description, one for its picture, one promote per 256 admins, and one read of the group
to verify it (apply re-reads every group it changed). Reported: calls made
against that minimum, by kind (counted by the client and by the simulator), the achieved
write rate against the limit, and whether a second plan finds nothing left to do (its reads
are not counted). Exits 1 if the calls made are not exactly the minimum, or the groups do not
end as the config says.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image

from reconciler.config import load
from reconciler.core.limits import MAX_PARTICIPANTS_PER_CALL
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.service import apply_now, plan_now
from reconciler.engine.statefile import StateFile
from reconciler.sim.app import SimConfig, Simulator
from reconciler.sim.gateway import ALL_SCOPES
from reconciler.sim.state import Account, Person, WorldState
from reconciler.sim.store import WorldStore
from reconciler.sim.transport import SimTransport
from reconciler.titan.client import TitanClient
from reconciler.util.rates import parse_rate

BOT = "+14155550100"
KEY = "bench-key-0123456789"
BASE_URL = "http://titan-sim"
SESSION_PATH = "/api/sessions/default"


def phone(n: int) -> str:
    """A valid US number: exchanges start at 200."""
    return f"+1212{200 + n // 10_000:03d}{n % 10_000:04d}"


@dataclass(frozen=True)
class GroupSpec:
    subject: str
    description: str
    picture: str | None
    members: tuple[str, ...]
    admins: tuple[str, ...]


def build(args: argparse.Namespace, directory: Path) -> tuple[list[GroupSpec], Path, Path]:
    """The groups wanted, the config that asks for them, and a world with none of them."""
    specs = []
    for index in range(args.groups):
        members = tuple(phone(index * args.members + n) for n in range(args.members))
        picture = None
        if args.picture_every and index % args.picture_every == 0:
            picture = f"pictures/g{index}.jpg"
            image = Image.new("RGB", (320, 320), (index * 37 % 256, index * 91 % 256, 120))
            for x in range(0, 320, 40):  # some structure, so fingerprints tell pictures apart
                image.paste((255 - x % 256, x % 256, index % 256), (x, 0, x + 20, 320))
            out = io.BytesIO()
            image.save(out, format="JPEG")
            (directory / picture).parent.mkdir(exist_ok=True)
            (directory / picture).write_bytes(out.getvalue())
        specs.append(
            GroupSpec(
                subject=f"Scale {index:04d}",
                description=f"Bench group {index}: created and filled by apply.",
                picture=picture,
                members=members,
                admins=members[: args.admins],
            )
        )
    lines = ["version: 1", "groups:"]
    for index, spec in enumerate(specs):
        lines += [
            f"  g{index}:",
            f"    subject: {json.dumps(spec.subject)}",
            f"    description: {json.dumps(spec.description)}",
            *([f"    picture: {spec.picture}"] if spec.picture else []),
            f"    members: [{', '.join(json.dumps(p) for p in spec.members)}]",
            f"    admins: [{', '.join(json.dumps(p) for p in spec.admins)}]",
        ]
    config = directory / "groups.yaml"
    config.write_text("\n".join(lines) + "\n")
    world = directory / "world.json"
    world.write_text(
        WorldState(
            people=[Person(phone=BOT)], accounts=[Account(session="default", phone=BOT)]
        ).model_dump_json()
    )
    return specs, config, world


def minimum_calls(specs: list[GroupSpec]) -> Counter[str]:
    """The fewest calls that can read live state and make `specs` from nothing, by kind."""
    batch = MAX_PARTICIPANTS_PER_CALL
    calls: Counter[str] = Counter({"GET session": 1, "GET groups": 1})
    for spec in specs:
        others = len(set(spec.members) - {BOT})
        admins = len(set(spec.admins) - {BOT})
        calls["POST create"] += 1
        calls["POST add"] += math.ceil(max(0, others - batch) / batch)
        calls["PUT description"] += bool(spec.description)
        calls["PUT picture"] += spec.picture is not None
        calls["POST promote"] += math.ceil(admins / batch)
        calls["GET group"] += 1  # the re-read that verifies it
    return +calls  # kinds with no calls left out


def kind_of(method: str, path: str) -> str:
    """`POST /api/sessions/default/groups/<id>/participants` -> `POST add`."""
    rest = path.removeprefix(SESSION_PATH)
    if rest == "":
        return f"{method} session"
    if rest == "/groups":
        return f"{method} create" if method == "POST" else f"{method} groups"
    tail = rest.split("/")[3:]  # after "", "groups", "<id>"
    name = {
        ("POST", "participants"): "add",
        ("DELETE", "participants"): "remove",
        ("GET", ""): "group",
    }.get((method, "/".join(tail)), "/".join(tail).removeprefix("participants/"))
    return f"{method} {name}"


class Recorder(httpx.AsyncBaseTransport):
    """Notes when each request was sent, its kind, and how many participants it carried."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[float, str, int]] = []
        self.counting = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.counting:
            body = json.loads(request.content) if request.content else {}
            people = len(body.get("participants", ())) if isinstance(body, dict) else 0
            kind = kind_of(request.method, request.url.path)
            self.sent.append((time.perf_counter(), kind, people))
        return await self.inner.handle_async_request(request)


async def run(args: argparse.Namespace, directory: Path) -> bool:
    specs, config, world_file = build(args, directory)
    simulator = Simulator(
        WorldStore.open(world_file),
        SimConfig(api_keys={KEY: ALL_SCOPES}, latency=args.latency_ms / 1000),
    )
    recorder = Recorder(SimTransport(simulator.asgi))
    rate = parse_rate(args.write_rate)
    desired = load(config)
    policy = PlanPolicy(session="default", api=f"sim:{world_file}", config=str(config))
    state_file = StateFile()
    async with TitanClient(
        BASE_URL, api_key=KEY, transport=recorder, write_rate=rate, max_concurrency=8
    ) as client:
        started = time.perf_counter()
        planned = (await plan_now(client, desired, policy, state_file)).plan
        planned_at = time.perf_counter()
        # force: a run this size is past the brakes' limits on adds and creates by design.
        report = await apply_now(client, planned, state_file, pictures=None, force=True)
        applied_at = time.perf_counter()
        recorder.counting = False
        served = Counter(simulator.stats.by_call)
        again = (await plan_now(client, desired, policy, state_file)).plan

    minimum = minimum_calls(specs)
    made = Counter(kind for _, kind, _ in recorder.sent)
    by_server: Counter[str] = Counter()
    for call, n in served.items():
        by_server[kind_of(*call.split(" ", 1))] += n
    print(
        f"config: {args.groups} new groups x {args.members} members, {args.admins} admins"
        f" each, a description each, a picture on {sum(s.picture is not None for s in specs)};"
        f" simulator in-process, {args.latency_ms} ms latency"
    )
    print(f"  {'call':<18} {'minimum':>8} {'made':>6} {'served':>7}")
    for kind in sorted(set(minimum) | set(made)):
        print(
            f"  {kind:<18} {minimum[kind]:>8} {made[kind]:>6} {by_server[kind]:>7}"
            + ("" if minimum[kind] == made[kind] == by_server[kind] else "  <-")
        )
    total_min, total_made = sum(minimum.values()), sum(made.values())
    print(f"  {'total':<18} {total_min:>8} {total_made:>6}")

    writes = [at for at, kind, _ in recorder.sent if not kind.startswith("GET")]
    per_call = [n for _, kind, n in recorder.sent if kind in ("POST create", "POST add")]
    span = writes[-1] - writes[0] if len(writes) > 1 else 0.0
    per_second = rate.count / rate.period if rate else math.inf
    limit = (
        "none"
        if rate is None
        else f"{rate}" + ("" if rate.period == 1 else f" ({per_second:.2f}/s)")
    )
    achieved = (len(writes) - 1) / span if span else math.inf
    share = f" ({achieved / per_second:.0%} of it)" if rate else ""
    print(
        f"participants: {sum(per_call)} sent in {len(per_call)} create/add calls,"
        f" at most {max(per_call, default=0)} per call"
    )
    print(
        f"writes: {len(writes)} in {span:.2f} s from first to last = {achieved:.1f}/s against"
        f" a limit of {limit}{share}; {len(writes) / (applied_at - planned_at):.1f}/s over"
        f" the whole apply"
    )
    print(
        f"time: plan {planned_at - started:.2f} s, apply {applied_at - planned_at:.2f} s"
        f" (config load not counted); {report.summary()}"
    )

    problems = []
    if made != minimum or by_server != minimum:
        problems.append(
            f"{total_made} calls made ({sum(by_server.values())} served), the minimum is"
            f" {total_min}"
        )
    if achieved > per_second * 1.01:
        problems.append(f"writes went at {achieved:.1f}/s, faster than the limit {limit}")
    if client.stats.retries:
        problems.append(f"{client.stats.retries} retries")
    if not report.ok:
        problems.append("apply did not finish cleanly")
    leftover = sum(len(g.actions) for g in again.groups)
    if leftover:
        problems.append(f"a second plan still has {leftover} actions")
    wrong = wrong_groups(simulator, specs)
    if wrong:
        problems.append(f"{len(wrong)} groups differ from the config, e.g. {wrong[0]}")
    print(
        "result: "
        + (
            "; ".join(problems)
            if problems
            else "OK: exactly the minimum, and a second plan is empty"
        )
    )
    return not problems


def wrong_groups(simulator: Simulator, specs: list[GroupSpec]) -> list[str]:
    """Groups of the world that are not as their spec says (by subject)."""
    live = {g.subject: g for g in simulator.store.world().state.groups}
    wrong = []
    for spec in specs:
        group = live.get(spec.subject)
        expected = {BOT: "superadmin"} | {
            p: "admin" if p in spec.admins else "member" for p in spec.members
        }
        if group is None:
            wrong.append(f"{spec.subject}: missing")
        elif group.participants != expected or group.description != spec.description:
            wrong.append(f"{spec.subject}: members or description differ")
        elif (group.picture is None) != (spec.picture is None):
            wrong.append(f"{spec.subject}: picture differs")
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--admins", type=int, default=2, help="per group, among its members")
    parser.add_argument(
        "--picture-every", type=int, default=10, help="a picture on every Nth group (0: none)"
    )
    parser.add_argument(
        "--write-rate", default="50/s", help="the client's write pacing, e.g. 50/s or unlimited"
    )
    parser.add_argument("--latency-ms", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        ok = asyncio.run(run(args, Path(directory)))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
