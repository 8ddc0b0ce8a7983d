"""previously: against the simulator: a renamed key keeps the group it names, and what
groupctl remembers of it; a rename that loses its group is called out."""

from __future__ import annotations

from reconciler.core.groups import NEEDS_INVITE
from reconciler.core.jid import parse_group_jid
from reconciler.engine.plan import Kind
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.service import plan_now
from reconciler.engine.statefile import StateFile
from tests.engine.test_apply import plan_and_apply
from tests.support.builders import desired, want
from tests.support.harness import ALICE, CAROL, DEFAULT, ENGINEERING, Harness, jid

ENG_NOW = {DEFAULT: "admin", "+14155550199": "admin", "+14155550198": "member", ALICE: "member"}


async def test_a_renamed_key_keeps_its_group_and_its_waiting_invitation(sim: Harness) -> None:
    state_file = StateFile()
    roles = {**ENG_NOW, "+14155550104": "member", CAROL: "member"}
    first, _ = await plan_and_apply(
        sim, desired(want("eng", "Engineering", roles, id=ENGINEERING)), state_file
    )
    assert [a.kind for a in first.groups[0].actions] == [Kind.ADD]
    assert state_file.records[parse_group_jid(ENGINEERING)][jid(CAROL)].reason == NEEDS_INVITE
    assert state_file.keys[parse_group_jid(ENGINEERING)] == "eng"

    renamed = desired(
        want(
            "engineering",
            "Engineering",
            roles,
            id=ENGINEERING,
            description="Builds",
            previously=("eng",),
        )
    )
    second, report = await plan_and_apply(sim, renamed, state_file)
    (group,) = second.groups
    assert group.group_id == parse_group_jid(ENGINEERING)
    assert [a.kind for a in group.actions] == [Kind.DESCRIPTION]  # Carol is not asked again
    assert group.notes[0] == (
        "renamed from 'eng': what groupctl remembers of the group stays with it"
    )
    assert any("needs an invite since" in note for note in group.notes)
    assert report.ok
    assert state_file.keys[parse_group_jid(ENGINEERING)] == "engineering"
    third = (await plan_now(sim.client(), renamed, PlanPolicy(), state_file)).plan
    assert not third.has_changes


async def test_a_key_and_subject_renamed_together_without_id_is_called_out(sim: Harness) -> None:
    state_file = StateFile()
    roles = {**ENG_NOW, "+14155550104": "member"}
    await plan_and_apply(
        sim, desired(want("eng", "Engineering", {**roles, CAROL: "member"})), state_file
    )
    assert state_file.keys[parse_group_jid(ENGINEERING)] == "eng"
    moved = desired(want("platform", "Platform", roles, previously=("eng",)))
    result = (await plan_now(sim.client(), moved, PlanPolicy(), state_file)).plan
    (group,) = result.groups
    assert group.group_id is None  # a create
    assert result.unmanaged >= 1
    assert (
        f"'eng', its key before, was the live group {ENGINEERING} ('Engineering')" in group.notes[0]
    )
    assert f"add id: '{ENGINEERING}'" in group.notes[0]


async def test_a_group_left_is_forgotten_key_and_all(sim: Harness) -> None:
    state_file = StateFile()
    await plan_and_apply(
        sim, desired(want("eng", "Engineering", ENG_NOW, id=ENGINEERING)), state_file
    )
    assert state_file.keys[parse_group_jid(ENGINEERING)] == "eng"
    left, report = await plan_and_apply(
        sim, desired(want("eng", "Engineering", id=ENGINEERING, ensure="absent")), state_file
    )
    assert [a.kind for a in left.groups[0].actions] == [Kind.LEAVE]
    assert report.ok
    assert parse_group_jid(ENGINEERING) not in state_file.keys
