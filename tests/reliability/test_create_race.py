"""A create never doubles a group that appeared since the plan (issue 13, item 3). Runs on
other machines share no lock: just before each create, apply reads the group list again, binds
to a group of that subject its session's account created since the plan (asking no one that
run asked), and creates nothing when any other group of that subject appeared."""

from __future__ import annotations

from reconciler.engine.apply import apply
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.report import Outcome
from reconciler.engine.service import plan_now
from reconciler.engine.statefile import StateFile
from tests.support.builders import desired, want
from tests.support.harness import ALICE, BOB, CAROL, DEFAULT, Harness, jid

LAUNCH = desired(
    want("launch", "Launch", {ALICE: "member", CAROL: "admin"}, description="Ship it.")
)


def launches(sim: Harness) -> list[str]:
    return [group.id for group in sim.world.state.groups if group.subject == "Launch"]


async def test_a_create_binds_to_the_group_its_session_created_since_the_plan(
    sim: Harness,
) -> None:
    client = sim.client()
    planned = (await plan_now(client, LAUNCH, PlanPolicy(), StateFile())).plan
    # Another run of the same config, elsewhere: it creates the group first. Carol's
    # privacy settings refuse adds: it asked her to join.
    async with sim.client() as elsewhere:
        made = await elsewhere.create_group("Launch", [jid(ALICE), jid(CAROL)])
    report = await apply(planned, client, state_file=StateFile())
    assert launches(sim) == [made.group.id]  # one group, not two
    (group,) = report.groups
    assert group.created is None  # this run created nothing
    steps = {(s.kind.value, s.person): (s.outcome, s.detail) for s in group.steps}
    outcome, detail = steps[("create", None)]
    assert outcome == Outcome.ALREADY
    assert f"{made.group.id}: created by another run since the plan was made" in detail
    assert steps[("create", jid(ALICE))][0] == Outcome.ALREADY
    assert steps[("create", jid(CAROL))][0] == Outcome.SKIPPED  # not asked a second time
    assert steps[("description", None)][0] == Outcome.DONE  # the rest goes on, on that group
    assert sim.world.state.groups[-1].description == "Ship it."


async def test_a_create_is_not_made_when_a_group_of_that_subject_appeared_from_elsewhere(
    sim: Harness,
) -> None:
    client = sim.client()
    planned = (await plan_now(client, LAUNCH, PlanPolicy(), StateFile())).plan
    async with sim.client("other") as someone:  # another account, which adds this session's
        theirs = await someone.create_group("Launch", [jid(DEFAULT), jid(BOB)])
    report = await apply(planned, client, state_file=StateFile())
    assert launches(sim) == [theirs.group.id]
    (group,) = report.groups
    assert group.created is None
    assert group.error is not None
    assert "a group named 'Launch' appeared since the plan was made" in group.error
    assert theirs.group.id in group.error
    assert not report.ok


async def test_without_a_group_of_that_subject_the_create_is_made(sim: Harness) -> None:
    client = sim.client()
    planned = (await plan_now(client, LAUNCH, PlanPolicy(), StateFile())).plan
    report = await apply(planned, client, state_file=StateFile())
    assert launches(sim) == [report.groups[0].created]
