"""apply and invite_link against the simulator: the link dies after the removals, and those
who are sent a link in the same run get the new one."""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.core.groups import LINK_SENT, NEEDS_INVITE, DesiredState
from reconciler.core.jid import parse_group_jid
from reconciler.engine.apply import apply
from reconciler.engine.plan import Plan
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.report import ApplyReport, Outcome
from reconciler.engine.service import plan_now
from reconciler.engine.statefile import StateFile
from reconciler.sim.gateway import FaultInjector
from tests.conftest import MakeSim
from tests.support.builders import desired, want
from tests.support.harness import (
    ALICE,
    CAROL,
    DEFAULT,
    ENGINEERING,
    ENGINEERING_CODE,
    OTHER,
    Harness,
    jid,
)

GROUP = parse_group_jid(ENGINEERING)
# The standard world's Engineering but for MEMBER, who is to be removed; CAROL is to be
# added, and WhatsApp will not add her (privacy settings): she needs the link.
WANTED = {DEFAULT: "admin", OTHER: "admin", ALICE: "member", "+14155550104": "member"}
EARLIER = datetime(2026, 11, 1, tzinfo=UTC)


async def plan_and_apply(
    sim: Harness, config: DesiredState, state_file: StateFile
) -> tuple[Plan, ApplyReport]:
    client = sim.client()
    result = (await plan_now(client, config, PlanPolicy(), state_file)).plan
    return result, await apply(result, client, state_file=state_file)


def current_code(sim: Harness) -> str:
    (group,) = [g for g in sim.world.state.groups if g.id == ENGINEERING]
    return group.invite_code


async def test_the_link_sent_in_the_run_that_revokes_it_is_the_new_one(sim: Harness) -> None:
    state_file = StateFile()
    state_file.record(GROUP, jid("+14155550177"), LINK_SENT, EARLIER)  # sent the old link
    config = desired(
        want(
            "eng",
            "Engineering",
            {**WANTED, CAROL: "member"},
            id=ENGINEERING,
            revoke_on_removal=True,
            invite_message="Join {subject}: {link}",
        )
    )
    result, report = await plan_and_apply(sim, config, state_file)
    kinds = [a.kind.value for a in result.groups[0].actions]
    assert kinds == ["add", "remove", "revoke_link"]
    assert report.ok, report.to_json()
    new = current_code(sim)
    assert new != ENGINEERING_CODE
    (message,) = sim.world.state.messages
    assert message.text == f"Join Engineering: https://chat.whatsapp.com/{new}"
    revoked = [s for s in report.groups[0].steps if s.kind.value == "revoke_link"]
    assert [s.outcome for s in revoked] == [Outcome.DONE]
    assert "1 person given it earlier will be asked again" in revoked[0].detail
    assert "Invite links revoked: 1." in report.summary()
    # The holder of the dead link is forgotten (asked again next time); Carol is remembered.
    assert set(state_file.records[GROUP]) == {jid(CAROL)}
    assert state_file.records[GROUP][jid(CAROL)].reason == LINK_SENT
    assert GROUP in state_file.links


async def test_a_revocation_that_fails_still_reports_and_sends_the_link_that_works(
    make_sim: MakeSim,
) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("500", method="DELETE", path_contains="/invite")
    state_file = StateFile()
    config = desired(
        want(
            "eng",
            "Engineering",
            {**WANTED, CAROL: "member"},
            id=ENGINEERING,
            revoke_on_removal=True,
        )
    )
    _, report = await plan_and_apply(sim, config, state_file)
    assert not report.ok
    assert current_code(sim) == ENGINEERING_CODE  # still the one that works
    carol = [s for s in report.groups[0].steps if s.person == jid(CAROL)]
    assert [(s.outcome, s.invite_link) for s in carol] == [
        (Outcome.NEEDS_INVITE, f"https://chat.whatsapp.com/{ENGINEERING_CODE}")
    ]
    assert state_file.records[GROUP][jid(CAROL)].reason == NEEDS_INVITE
    assert GROUP not in state_file.links
    revoked = [s for s in report.groups[0].steps if s.kind.value == "revoke_link"]
    assert [s.outcome for s in revoked] == [Outcome.FAILED]
    assert "HTTP 500" in (report.groups[0].error or "")
