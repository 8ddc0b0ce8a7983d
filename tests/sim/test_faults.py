"""Injected faults and latency behave as a real flaky Titan would, over both transports."""

from __future__ import annotations

import pytest

from reconciler.errors import ApiConnectionError, RateLimitedError, ServerError, UsageError
from reconciler.sim.gateway import FAULT_KINDS, FaultInjector, parse_fault_rates
from reconciler.titan.retries import RetryPolicy
from tests.conftest import MakeSim
from tests.support.harness import ENGINEERING, gid

ENG = gid(ENGINEERING)


class NoSleep:
    async def __call__(self, seconds: float) -> None:
        return None


@pytest.mark.parametrize(("kind", "status"), [("500", 500), ("503", 503)])
async def test_injected_server_errors_change_nothing(
    make_sim: MakeSim, kind: str, status: int
) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject(kind, method="PUT")
    with pytest.raises(ServerError, match=f"HTTP {status}"):
        await sim.client().set_subject(ENG, "Changed")
    assert sim.world.state.groups[0].subject == "Engineering"


async def test_an_injected_429_carries_retry_after(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("429")
    with pytest.raises(RateLimitedError) as refused:
        await sim.client().list_groups()
    assert refused.value.retry_after == 1


async def test_a_dropped_connection_changes_nothing(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("drop", method="PUT")
    with pytest.raises(ApiConnectionError, match=r"connection to http://\S+ failed") as failed:
        await sim.client().set_subject(ENG, "Changed")
    assert failed.value.request_sent
    assert sim.world.state.groups[0].subject == "Engineering"


async def test_a_lost_answer_means_the_change_happened(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("lost", method="PUT")
    with pytest.raises(ApiConnectionError):
        await sim.client().set_subject(ENG, "Changed")
    assert sim.world.state.groups[0].subject == "Changed"


async def test_the_client_rides_out_transient_faults_on_idempotent_calls(
    make_sim: MakeSim,
) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    for kind in ("503", "429", "drop", "lost"):
        faults.inject(kind, method="PUT")
    client = sim.client(retry=RetryPolicy(attempts=6), sleep=NoSleep())
    await client.set_subject(ENG, "Changed")
    assert sim.world.state.groups[0].subject == "Changed"
    assert client.stats.retries == 4


async def test_a_seed_repeats_the_same_faults(make_sim: MakeSim) -> None:
    async def run(seed: int) -> list[str]:
        faults = FaultInjector(parse_fault_rates("0.5"), seed)
        sim = make_sim(faults=faults)
        outcomes = []
        for _ in range(30):
            try:
                await sim.client().list_groups()
                outcomes.append("ok")
            except (ServerError, RateLimitedError, ApiConnectionError) as exc:
                outcomes.append(type(exc).__name__)
        return outcomes

    first, again, other = await run(7), await run(7), await run(8)
    assert first == again
    assert first != other
    assert 5 < first.count("ok") < 25


def test_fault_rates_are_parsed_in_both_forms() -> None:
    even = parse_fault_rates("0.1")
    assert set(even) == set(FAULT_KINDS)
    assert sum(even.values()) == pytest.approx(0.1)
    assert parse_fault_rates("500=0.05,lost=0.02") == {"500": 0.05, "lost": 0.02}
    for wrong in ("lots", "teapot=0.1", "500=0.8,503=0.5", "-0.1"):
        with pytest.raises(UsageError, match="not a fault rate"):
            parse_fault_rates(wrong)


async def test_latency_is_added_to_every_api_request(make_sim: MakeSim) -> None:
    import asyncio

    sim = make_sim(latency=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await sim.client().list_groups()
    await sim.client().list_groups()
    assert loop.time() - started >= 0.1
