"""apply and invite_link against the simulator: the link dies after the removals, and those
who are sent a link in the same run get the new one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from reconciler.core.groups import LINK_SENT, NEEDS_INVITE
from reconciler.core.jid import parse_group_jid
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.report import Outcome
from reconciler.engine.service import plan_now
from reconciler.engine.statefile import StateFile
from reconciler.sim.gateway import FaultInjector
from tests.conftest import MakeSim
from tests.engine.test_apply import plan_and_apply
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
EARLIER = datetime.now(UTC) - timedelta(days=1)  # within the wait


def current_code(sim: Harness) -> str:
    (group,) = [g for g in sim.world.state.groups if g.id == ENGINEERING]
    return group.invite_code


async def test_the_link_sent_in_the_run_that_revokes_it_is_the_new_one(sim: Harness) -> None:
    """Carol, whom this run cannot add, and Zoe, sent the old link by an earlier run, are
    both sent the new one; they wait for it as before, and the next plan is empty."""
    state_file = StateFile()
    zoe = "+14155550177"
    state_file.record(GROUP, jid(zoe), LINK_SENT, EARLIER)  # sent the old link
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
    (revoke,) = [a for a in result.groups[0].actions if a.kind.value == "revoke_link"]
    assert [a.kind.value for a in result.groups[0].actions] == ["add", "remove", "revoke_link"]
    assert revoke.members == (jid(zoe),)  # the plan says who gets the new link
    assert report.ok, report.to_json()
    new = current_code(sim)
    assert new != ENGINEERING_CODE
    link = f"https://chat.whatsapp.com/{new}"
    assert sorted((m.chat_id, m.text) for m in sim.world.state.messages) == [
        (jid(CAROL), f"Join Engineering: {link}"),
        (jid(zoe), f"Join Engineering: {link}"),
    ]
    assert "Invite links revoked: 1." in report.summary()
    assert {person: w.reason for person, w in state_file.records[GROUP].items()} == {
        jid(CAROL): LINK_SENT,
        jid(zoe): LINK_SENT,
    }
    assert GROUP in state_file.links
    again = (await plan_now(sim.client(), config, PlanPolicy(), state_file)).plan
    assert not again.has_changes


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
    # Owed: the removal went through, the link did not die; the next plan revokes it.
    assert state_file.links_owed == {GROUP}
    again, done = await plan_and_apply(sim, config, state_file)
    (action,) = [a for a in again.groups[0].actions if a.kind.value == "revoke_link"]
    assert action.new == "owed"
    assert done.ok, done.to_json()
    assert current_code(sim) != ENGINEERING_CODE
    assert state_file.links_owed == set()
    settled = (await plan_now(sim.client(), config, PlanPolicy(), state_file)).plan
    assert not any(a.kind.value == "revoke_link" for g in settled.groups for a in g.actions)


async def test_a_disabled_link_is_never_read_nor_shown_to_whom_needs_an_invite(
    sim: Harness,
) -> None:
    state_file = StateFile()
    config = desired(
        want("eng", "Engineering", {**WANTED, CAROL: "member"}, id=ENGINEERING, links_disabled=True)
    )
    _, report = await plan_and_apply(sim, config, state_file)
    carol = [s for s in report.groups[0].steps if s.person == jid(CAROL)]
    assert [(s.outcome, s.invite_link) for s in carol] == [(Outcome.NEEDS_INVITE, None)]
    assert "invite_link: disabled" in carol[0].detail
    assert report.groups[0].invite_link is None
    assert ENGINEERING_CODE not in json.dumps(report.to_json())
