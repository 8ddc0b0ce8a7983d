"""A create whose answer was lost reports every person as a create that was answered would:
who is in, and who needs an invite, with the group's link (engine.apply, titan.recovery)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.core.groups import LINK_SENT, NEEDS_INVITE
from reconciler.engine.apply import apply
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.report import ApplyReport
from reconciler.engine.service import plan_now
from reconciler.engine.statefile import StateFile
from reconciler.render.report import invite_lines
from reconciler.sim.gateway import FaultInjector
from reconciler.titan.retries import RetryPolicy
from tests.conftest import MakeSim
from tests.support.builders import desired, want
from tests.support.harness import BOB, CAROL, DEFAULT, Harness
from tests.titan.scripted import Sleeps


@dataclass
class Created:
    report: ApplyReport
    invites: list[str]  # the report's invite lines, the group's own link code blanked
    waiting: dict[str, str]  # person -> why the state file says they are waiting
    sim: Harness

    def outcomes(self) -> list[tuple[str | None, str]]:
        """Each step's person and outcome (a person in the new group may be reported under
        the create or as added, depending on whether the API listed a result for them)."""
        return [(s.person, s.outcome.value) for s in self.report.groups[0].steps]


async def create(make_sim: MakeSim, *, lose_answer: bool, message: str | None = None) -> Created:
    """Plan and apply the creation of Launch (Bob can be added; Carol's privacy settings
    stop adds), with the create's answer lost on the way back or not."""
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    if lose_answer:
        faults.inject("lost", method="POST", path_contains="/groups")
    client = sim.client(retry=RetryPolicy(attempts=3), sleep=Sleeps())
    state_file = StateFile()
    people = {DEFAULT: "admin", BOB: "member", CAROL: "admin"}
    config = desired(want("launch", "Launch", people, invite_message=message))
    plan = (await plan_now(client, config, PlanPolicy(), state_file)).plan
    report = await apply(plan, client, state_file=state_file)
    assert faults.injected["lost"] == int(lose_answer)
    launches = [g for g in sim.world.state.groups if g.subject == "Launch"]
    assert len(launches) == 1  # found after the loss, not made twice
    code = re.escape(launches[0].invite_code)
    invites = [re.sub(code, "CODE", line) for line in invite_lines(plan, report)]
    waiting = {
        str(person): record.reason
        for records in state_file.records.values()
        for person, record in records.items()
    }
    return Created(report, invites, waiting, sim)


async def test_a_lost_answer_still_reports_who_needs_an_invite(make_sim: MakeSim) -> None:
    answered = await create(make_sim, lose_answer=False)
    lost = await create(make_sim, lose_answer=True)
    assert lost.outcomes() == answered.outcomes()
    assert (CAROL_JID, "needs invite") in lost.outcomes()
    assert lost.invites == answered.invites
    assert any("send them https://chat.whatsapp.com/CODE" in line for line in lost.invites)
    assert lost.waiting == answered.waiting == {CAROL_JID: NEEDS_INVITE}
    assert lost.report.ok
    assert lost.report.summary() == answered.report.summary()


async def test_a_lost_answer_sends_the_invite_message_once(make_sim: MakeSim) -> None:
    lost = await create(make_sim, lose_answer=True, message="Join {subject}: {link}")
    assert (CAROL_JID, "invited") in lost.outcomes()
    (sent,) = lost.sim.world.state.messages
    assert sent.chat_id == CAROL_JID
    assert lost.waiting == {CAROL_JID: LINK_SENT}


async def test_when_asking_again_fails_they_stay_failed_for_the_next_plan(
    make_sim: MakeSim,
) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("lost", method="POST", path_contains="/groups")
    faults.inject("500", method="POST", path_contains="/participants", times=3)  # every attempt
    client = sim.client(retry=RetryPolicy(attempts=3), sleep=Sleeps())
    config = desired(want("launch", "Launch", {DEFAULT: "admin", CAROL: "member"}))
    plan = (await plan_now(client, config, PlanPolicy(), StateFile())).plan
    report = await apply(plan, client)
    assert faults.injected["500"] == 3
    step = next(s for s in report.groups[0].steps if s.person is not None)
    assert step.outcome.value == "failed"
    assert "the next plan adds them again" in step.detail


CAROL_JID = f"{CAROL[1:]}@s.whatsapp.net"
