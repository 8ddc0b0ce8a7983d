"""A run told to stop (engine.stopping, TitanClient.stop): no action starts, no write is sent,
no call is tried again, a write waiting for its turn stops waiting, and what was in flight is
reported as done, not attempted, or unknown, truthfully."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.core.groups import LINK_SENT, NEEDS_INVITE
from reconciler.engine.apply import apply
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.report import ApplyReport, Outcome, Step
from reconciler.engine.service import plan_now
from reconciler.engine.statefile import StateFile
from reconciler.engine.stopping import Stop
from reconciler.errors import CutShortError, NotSentError
from reconciler.sim.gateway import FaultInjector
from reconciler.titan.client import TitanClient
from reconciler.titan.retries import RetryPolicy
from reconciler.util.rates import parse_rate
from tests.conftest import MakeSim
from tests.engine.test_apply import ENG_NOW
from tests.support.builders import desired, want
from tests.support.harness import (
    ALICE,
    BOB,
    CAROL,
    DEFAULT,
    ENGINEERING,
    Harness,
    gid,
    jid,
)

ENG = gid(ENGINEERING)
GUARD = 60.0  # seconds before a test that waits for the client gives up: a failure, not a wait


async def test_after_a_stop_no_group_or_action_starts(sim: Harness) -> None:
    """Stopped at the first step reported: that group's later actions and every other group
    are not attempted, and the world shows only what the report says was done."""
    client = sim.client()
    config = desired(
        *(
            want(f"g{n}", f"Group {n}", {DEFAULT: "admin", ALICE: "member"}, description="d")
            for n in range(6)
        )
    )
    plan = (await plan_now(client, config, PlanPolicy(), StateFile())).plan
    stop = Stop()

    def on_step(step: Step) -> None:
        stop.request("interrupted (test)")

    report = await apply(plan, client, stop=stop, on_step=on_step, concurrency=1)
    created = [g for g in report.groups if g.created is not None]
    assert len(created) == 1  # the one in flight finished its create
    subjects = [group.subject for group in sim.world.state.groups]
    assert [f"Group {n}" in subjects for n in range(6)] == [True] + [False] * 5
    skipped = [s for g in report.groups for s in g.steps if s.outcome == Outcome.SKIPPED]
    assert {s.detail for s in skipped} == {"not attempted: interrupted (test)"}
    assert {s.group for s in skipped} == {f"g{n}" for n in range(6)}  # g0's description too
    assert report.interrupted == "interrupted (test)"
    assert not report.ok
    assert "6 groups, 0 done, 1 stopped part-way, 5 not attempted." in report.summary()


async def test_a_stopped_client_sends_no_write_but_still_reads(sim: Harness) -> None:
    client = sim.client()
    client.stop("interrupted (test)")
    with pytest.raises(NotSentError, match=r"not sent: interrupted \(test\)") as refused:
        await client.set_subject(ENG, "Changed")
    assert refused.value.earlier is None
    assert sim.world.state.groups[0].subject == "Engineering"
    assert (await client.get_group(ENG)).name == "Engineering"  # a read goes out


def stopped_at_its_first_pause(sim: Harness) -> TitanClient:
    """A client that tries a call three times, and is told to stop as it pauses before the
    second try (as a signal would land during the backoff)."""
    clients: list[TitanClient] = []

    async def stop_during_the_pause(seconds: float) -> None:
        clients[0].stop("interrupted (test)")

    client = sim.client(retry=RetryPolicy(attempts=3), sleep=stop_during_the_pause)
    clients.append(client)
    return client


async def test_a_call_is_not_tried_again_after_a_stop_and_says_it_may_have_been_done(
    make_sim: MakeSim,
) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("lost", method="PUT")  # done, but the answer never arrives
    client = stopped_at_its_first_pause(sim)
    with pytest.raises(NotSentError) as refused:
        await client.set_subject(ENG, "Changed")
    assert refused.value.earlier is not None  # the lost attempt: it may have been done
    assert sim.world.state.groups[0].subject == "Changed"  # and it was
    assert client.stats.requests == 1


async def test_a_write_waiting_for_its_turn_stops_waiting(sim: Harness) -> None:
    client = sim.client(write_rate=parse_rate("1/hour"))
    await client.set_subject(ENG, "First")  # takes the hour's one turn
    waiting = asyncio.ensure_future(client.set_description(ENG, "Second"))
    await asyncio.sleep(0)  # let it start waiting for its turn
    client.stop("interrupted (test)")
    with pytest.raises(NotSentError):
        await asyncio.wait_for(waiting, GUARD)
    assert sim.world.state.groups[0].description != "Second"


async def test_what_is_still_in_flight_after_the_grace_is_cut_short() -> None:
    stop = Stop(grace=0.01)
    forever = asyncio.Event()
    stop.request("interrupted (test)")
    with pytest.raises(CutShortError, match="it may or may not have been done"):
        await asyncio.wait_for(stop.bounded(forever.wait()), GUARD)
    assert stop.cut_short


async def test_a_second_request_cuts_short_at_once() -> None:
    stop = Stop(grace=3600)
    forever = asyncio.Event()
    stop.request("interrupted (test)")
    stop.request("interrupted (test)")
    with pytest.raises(CutShortError):
        await asyncio.wait_for(stop.bounded(forever.wait()), GUARD)
    stop.close()


async def test_work_that_finishes_within_the_grace_is_not_cut(sim: Harness) -> None:
    stop = Stop(grace=3600)
    stop.request("interrupted (test)")
    assert await stop.bounded(asyncio.sleep(0, result="done")) == "done"
    stop.close()


async def stopped_at_the_first_step(
    sim: Harness, eng: dict[str, str], state_file: StateFile, invite_message: str | None = None
) -> ApplyReport:
    """Plan Engineering with these people, and apply it, told to stop at its first step."""
    client = sim.client()
    config = desired(want("eng", "Engineering", eng, id=ENGINEERING, invite_message=invite_message))
    plan = (await plan_now(client, config, PlanPolicy(), state_file)).plan
    assert plan.groups[0].actions[0].kind.value == "add"
    stop = Stop()
    return await apply(
        plan,
        client,
        state_file=state_file,
        stop=stop,
        on_step=lambda step: stop.request("interrupted (test)"),
    )


async def test_people_asked_before_a_stop_are_remembered(sim: Harness) -> None:
    """The add in flight when the stop comes finishes, invite link and all: Carol, who needs
    an invite, is reported with the link and remembered; the later promotion is not tried."""
    state_file = StateFile()
    report = await stopped_at_the_first_step(
        sim, {**ENG_NOW, BOB: "member", CAROL: "admin"}, state_file
    )
    outcomes = [(s.kind.value, s.person, s.outcome) for s in report.groups[0].steps]
    assert outcomes == [
        ("add", jid(BOB), Outcome.DONE),
        ("add", jid(CAROL), Outcome.NEEDS_INVITE),
        ("promote", jid(CAROL), Outcome.SKIPPED),
    ]
    assert report.groups[0].invite_link is not None
    assert state_file.records[ENG][jid(CAROL)].reason == NEEDS_INVITE


async def test_an_invite_message_not_sent_for_a_stop_is_sent_by_the_next_run(
    sim: Harness,
) -> None:
    state_file = StateFile()
    report = await stopped_at_the_first_step(
        sim, {**ENG_NOW, BOB: "member", CAROL: "member"}, state_file, invite_message="{link}"
    )
    carol = next(s for s in report.groups[0].steps if s.person == jid(CAROL))
    assert carol.outcome == Outcome.NEEDS_INVITE
    assert "the invite link was not sent by message: interrupted (test)" in carol.detail
    assert sim.world.state.messages == []
    assert jid(CAROL) not in state_file.records.get(ENG, {})  # so the next run sends it


async def test_a_retry_refused_after_an_attempt_that_may_have_worked_is_unknown(
    make_sim: MakeSim,
) -> None:
    """Not "not attempted": the first attempt was sent and its answer lost."""
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("lost", method="PUT")
    stop = Stop()

    async def stop_during_the_pause(seconds: float) -> None:
        stop.request("interrupted (test)")

    client = sim.client(retry=RetryPolicy(attempts=3), sleep=stop_during_the_pause)
    config = desired(want("eng", "Renamed", dict(ENG_NOW), id=ENGINEERING))
    plan = (await plan_now(client, config, PlanPolicy(), StateFile())).plan
    report = await apply(plan, client, stop=stop)
    (step,) = report.groups[0].steps
    assert step.outcome == Outcome.DONE  # the re-read finds the subject changed: it was done
    assert sim.world.state.groups[0].subject == "Renamed"
    assert "the attempt before failed" in step.detail


async def test_a_read_is_not_tried_again_after_a_stop(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("503", method="GET", path_contains="/groups/")
    client = stopped_at_its_first_pause(sim)
    with pytest.raises(NotSentError) as refused:
        await client.get_group(ENG)
    assert refused.value.earlier is not None
    group_reads = [
        call
        for call in sim.simulator.stats.by_call
        if call.startswith("GET") and "/groups/" in call
    ]
    assert [sim.simulator.stats.by_call[call] for call in group_reads] == [1]


async def test_an_invite_message_cut_short_is_not_sent_twice_nor_anyone_counted_twice(
    sim: Harness,
) -> None:
    """The grace runs out while Carol's invite link is being sent: Bob's add stands (once),
    Carol's message may have gone out, so she is remembered as sent it."""
    client = sim.client()
    state_file = StateFile()
    eng = {**ENG_NOW, BOB: "member", CAROL: "member"}
    config = desired(want("eng", "Engineering", eng, id=ENGINEERING, invite_message="{link}"))
    plan = (await plan_now(client, config, PlanPolicy(), state_file)).plan
    stop = Stop(grace=0.01)
    forever = asyncio.Event()

    async def sending(chat: object, text: str) -> str | None:
        stop.request("interrupted (test)")
        await forever.wait()
        return None

    client.send_text = sending  # type: ignore[method-assign,assignment]
    report = await apply(plan, client, state_file=state_file, stop=stop)
    people = [(s.person, s.outcome) for s in report.groups[0].steps]
    assert people == [(jid(BOB), Outcome.DONE), (jid(CAROL), Outcome.UNKNOWN)]
    assert state_file.records[ENG][jid(CAROL)].reason == LINK_SENT
    assert "People: 1 added, 1 outcome unknown." in report.summary()
