"""apply converges: on random worlds, through a flaky API, and after being killed."""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import load
from reconciler.core.groups import DesiredState
from reconciler.engine.apply import apply
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.service import plan_now
from reconciler.engine.statefile import StateFile
from reconciler.sim.app import SimConfig, Simulator
from reconciler.sim.gateway import ALL_SCOPES, FaultInjector, parse_fault_rates
from reconciler.sim.state import Account, Group, Person, WorldState
from reconciler.sim.store import WorldStore
from reconciler.sim.transport import SimTransport
from reconciler.sim.webhooks import WebhookSender
from reconciler.titan.client import TitanClient
from reconciler.titan.retries import RetryPolicy
from tests.support.builders import desired, want
from tests.support.processes import run_groupctl, sim_serve
from tests.support.thorough import trials

ROOT = Path(__file__).parent.parent.parent
KEY = "convergence-key-123456"
BOT = "+14155550100"
PEOPLE = [f"+1415555{n:04d}" for n in range(101, 109)]
SHY = PEOPLE[-1]  # privacy settings: needs an invite, never added
# Pictures are found beside the config the plan was made from.
EXAMPLE_POLICY = PlanPolicy(config=str(ROOT / "examples" / "groups.yaml"))


class NoSleep:
    async def __call__(self, seconds: float) -> None:
        return None


def simulator(path: Path, world: WorldState, **config: object) -> Simulator:
    path.write_text(world.model_dump_json())
    return Simulator(WorldStore.open(path), SimConfig(api_keys={KEY: ALL_SCOPES}, **config))  # type: ignore[arg-type]


def client_of(sim: Simulator) -> TitanClient:
    return TitanClient(
        "http://titan-sim",
        api_key=KEY,
        transport=SimTransport(sim.asgi),
        write_rate=None,
        retry=RetryPolicy(attempts=8),
        sleep=NoSleep(),
    )


async def run(client: TitanClient, config: DesiredState, state_file: StateFile) -> None:
    plan = (await plan_now(client, config, EXAMPLE_POLICY, state_file)).plan
    await apply(plan, client, state_file=state_file, pictures=ROOT / "examples")


async def leftover(client: TitanClient, config: DesiredState, state_file: StateFile) -> list[str]:
    """What a fresh plan would still do, by group and action kind."""
    plan = (await plan_now(client, config, EXAMPLE_POLICY, state_file)).plan
    return [f"{g.key}: {a.kind.value}" for g in plan.groups for a in g.actions]


# -- random worlds ------------------------------------------------------------------------------

roles = st.sampled_from(["member", "admin"])


@st.composite
def worlds(draw: st.DrawFn) -> tuple[WorldState, DesiredState]:
    me_role = draw(st.sampled_from(["superadmin", "admin", "member"]))
    live_people = draw(st.dictionaries(st.sampled_from(PEOPLE[:-1]), roles, max_size=6))
    creator = None if me_role == "superadmin" else PEOPLE[0]
    participants = {BOT: me_role, **live_people}
    if creator:
        participants[creator] = "superadmin"
    world = WorldState(
        people=[Person(phone=BOT), *(Person(phone=p, invite_only=p == SHY) for p in PEOPLE)],
        accounts=[Account(session="default", phone=BOT)],
        groups=[
            Group(
                id="120363000000000001@g.us",
                subject="Team",
                creator=creator or BOT,
                created_at=1,
                invite_code="TeamInviteCode00000001",
                participants=participants,
            )
        ],
    )
    groups = [
        want(
            "team",
            draw(st.sampled_from(["Team", "Team 2"])),
            draw(st.dictionaries(st.sampled_from(PEOPLE), roles, max_size=6)),
            id="120363000000000001@g.us",
            description=draw(st.sampled_from([None, "", "About us"])),
            members_policy=draw(st.sampled_from(["exact", "additive"])),
        )
    ]
    if draw(st.booleans()):
        groups.append(
            want("new", "New", draw(st.dictionaries(st.sampled_from(PEOPLE), roles, max_size=5)))
        )
    return world, desired(*groups)


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=worlds())
def test_after_apply_a_fresh_plan_has_nothing_left_to_do(
    scratch: Path, case: tuple[WorldState, DesiredState]
) -> None:
    world, config = case
    sim = simulator(scratch / "world.json", world)

    async def scenario() -> list[str]:
        state_file = StateFile()
        async with client_of(sim) as client:
            await run(client, config, state_file)
            return await leftover(client, config, state_file)

    # Refused groups plan no actions; people needing an invite are waiting, not to add.
    assert asyncio.run(scenario()) == []


# -- a flaky API --------------------------------------------------------------------------------


def example() -> tuple[DesiredState, WorldState]:
    config = load(ROOT / "examples" / "groups.yaml")
    world = WorldState.model_validate_json((ROOT / "examples" / "world.json").read_text())
    return config, world


@pytest.mark.slow
def test_a_flaky_api_converges_without_duplicates_in_50_of_50_seeds(tmp_path: Path) -> None:
    config, world = example()
    failures = []
    for seed in range(50):
        joined: Counter[tuple[str, str]] = Counter()

        def record(
            request: httpx.Request, joined: Counter[tuple[str, str]] = joined
        ) -> httpx.Response:
            event = httpx.Response(200, content=request.content).json()
            if event["session"] == "default":
                for person in event["payload"].get("joined", []):
                    joined[(event["payload"]["id"], person["lid"])] += 1
            return httpx.Response(200)

        faults = FaultInjector(parse_fault_rates("500=0.05,503=0.05,429=0.05,lost=0.02"), seed)
        hooks = WebhookSender("http://hooks.test/", "s", transport=httpx.MockTransport(record))
        sim = simulator(tmp_path / f"world-{seed}.json", world, faults=faults, webhooks=hooks)

        async def scenario(
            sim: Simulator = sim, hooks: WebhookSender = hooks, faults: FaultInjector = faults
        ) -> list[str]:
            state_file = StateFile()
            async with client_of(sim) as client:
                await run(client, config, state_file)  # may fail in places
                await run(client, config, state_file)  # finishes the job
                faults.rates = {}
                left = await leftover(client, config, state_file)
            await hooks.close()
            return left

        left = asyncio.run(scenario())
        subjects = Counter(g.subject for g in sim.store.world().state.groups)
        twice = {key: n for key, n in joined.items() if n > 1}
        if left or twice or max(subjects.values()) > 1:
            failures.append((seed, left, twice, subjects))
        assert sum(faults.injected.values()) > 0
        assert joined, "the deliveries were counted"
    assert failures == []


# -- killed in the middle -----------------------------------------------------------------------


@pytest.mark.slow
def test_an_apply_killed_at_a_random_point_is_finished_by_the_next_run(
    groupctl: str, tmp_path: Path
) -> None:
    rng = random.Random(2024)
    # Killed after the first of the example apply's 17 reported steps, after the 16th (the
    # last would race its summary line), and evenly between; the long profile adds kills at
    # random steps.
    targets = [1, 4, 7, 10, 13, 16] + [rng.randint(1, 16) for _ in range(trials(0, 14))]
    mid_apply = 0
    for trial, target in enumerate(targets):
        work = tmp_path / f"trial-{trial}"
        shutil.copytree(ROOT / "examples", work)
        with sim_serve(groupctl, work / "world.json", "--latency-ms", "15", key=KEY) as served:
            # Unpaced: pacing only makes an apply slower, and the kill lands anywhere anyway.
            env = {"TITAN_API_URL": served.url, "TITAN_API_KEY": KEY}
            unpaced = ("--write-rate", "unlimited")
            victim = subprocess.Popen(
                [groupctl, "apply", "-f", "groups.yaml", "--auto-approve", *unpaced],
                cwd=work,
                env={**env, "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            # Killed after a random number of the steps it reports, one line each: so the
            # kill lands in the middle of the apply, at a different point each trial.
            assert victim.stdout is not None
            steps = 0
            for line in victim.stdout:  # the plan first, then "[group] step: outcome" lines
                steps += line.startswith("[")
                if steps >= target:
                    break
            victim.send_signal(signal.SIGKILL)
            rest, _ = victim.communicate(timeout=30)
            mid_apply += "Apply:" not in rest
            again = run_groupctl(
                groupctl,
                "apply",
                "-f",
                "groups.yaml",
                "--auto-approve",
                *unpaced,
                env=env,
                cwd=work,
            )
            assert again.returncode == 0, (trial, again.stdout, again.stderr)
            final = run_groupctl(
                groupctl, "plan", "-f", "groups.yaml", "--detailed-exitcode", env=env, cwd=work
            )
            assert final.returncode == 0, (trial, final.stdout, final.stderr)
        subjects = Counter(
            g.subject
            for g in WorldState.model_validate_json((work / "world.json").read_text()).groups
        )
        assert max(subjects.values()) == 1, subjects
    assert mid_apply == len(targets), f"{mid_apply} of {len(targets)} kills landed mid-apply"
