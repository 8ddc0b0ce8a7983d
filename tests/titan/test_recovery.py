"""Creates never made twice: a create whose answer was lost is found, not repeated
(titan.recovery)."""

from __future__ import annotations

import httpx
import pytest

from reconciler.errors import CreateUncertainError
from reconciler.sim.gateway import FaultInjector
from reconciler.titan.retries import RetryPolicy
from tests.conftest import MakeSim
from tests.support.harness import ALICE, gid, jid
from tests.titan.scripted import Script, Sleeps, client_for, error, ok


async def test_a_lost_answer_to_create_does_not_make_a_second_group(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("lost", method="POST", path_contains="/groups")
    client = sim.client(retry=RetryPolicy(attempts=4), sleep=Sleeps())
    created = await client.create_group("Launch", [jid(ALICE)])
    launches = [g for g in sim.world.state.groups if g.subject == "Launch"]
    assert len(launches) == 1
    assert created.group.id == gid(launches[0].id)
    assert faults.injected["lost"] == 1
    assert client.stats.retries == 1


async def test_create_is_repeated_when_the_first_attempt_did_nothing(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("503", method="POST", path_contains="/groups")
    faults.inject("drop", method="POST", path_contains="/groups")
    client = sim.client(retry=RetryPolicy(attempts=4), sleep=Sleeps())
    await client.create_group("Launch", [jid(ALICE)])
    assert [g.subject for g in sim.world.state.groups].count("Launch") == 1
    # Two failed attempts, each followed by a look-up that found nothing, then the create.
    assert sim.simulator.stats.by_call["POST /api/sessions/default/groups"] == 3


async def test_create_found_despite_a_same_named_older_group(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    await sim.client().create_group("Launch", [])
    sim.world.state.groups[-1].created_at = 1  # an old group of the same name
    faults.inject("lost", method="POST", path_contains="/groups")
    client = sim.client(retry=RetryPolicy(attempts=4), sleep=Sleeps())
    created = await client.create_group("Launch", [jid(ALICE)])
    launches = [g for g in sim.world.state.groups if g.subject == "Launch"]
    assert len(launches) == 2
    assert created.group.id == gid(launches[-1].id)
    assert created.group.id != gid(launches[0].id)


async def test_a_timed_out_create_is_not_repeated() -> None:
    script = Script(
        httpx.ReadTimeout("read timed out"),
        ok([]),  # not there yet: Titan may still be making it
    )
    client = client_for(script, retry=RetryPolicy(attempts=5))
    with pytest.raises(CreateUncertainError, match=r"timed out .* not created again"):
        await client.create_group("Launch", [jid(ALICE)])
    assert [r.method for r in script.calls].count("POST") == 1


async def test_a_same_named_group_without_a_creation_time_stops_a_second_create() -> None:
    me = "14155550100@s.whatsapp.net"
    group = {
        "id": "120363000000000007@g.us",
        "name": "Launch",
        "participants": [{"phoneNumber": me, "isSuperAdmin": True}],
    }
    script = Script(
        error(503, "busy"),
        ok([{"id": group["id"], "name": "Launch"}]),
        ok(group),
    )
    client = client_for(script, retry=RetryPolicy(attempts=5))
    with pytest.raises(CreateUncertainError, match="no creation time"):
        await client.create_group("Launch", [jid(ALICE)])
    assert [r.method for r in script.calls].count("POST") == 1
