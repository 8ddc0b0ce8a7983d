"""Contract: invite codes, revoking them, previewing and joining."""

from __future__ import annotations

import pytest

from reconciler.errors import ConflictError, NotFoundError, PermissionDeniedError
from tests.support.harness import ENGINEERING, ENGINEERING_CODE, OUTSIDER, Harness, gid, jid

ENG = gid(ENGINEERING)


async def test_an_admin_gets_the_invite_code(sim: Harness) -> None:
    assert await sim.client("other").get_invite_code(ENG) == ENGINEERING_CODE


async def test_a_member_who_is_not_admin_cannot_see_the_invite_code(sim: Harness) -> None:
    with pytest.raises(PermissionDeniedError, match="only group admins"):
        await sim.client("member").get_invite_code(ENG)


async def test_a_member_who_is_not_admin_cannot_revoke_the_link(sim: Harness) -> None:
    with pytest.raises(PermissionDeniedError, match="only group admins"):
        await sim.client("member").revoke_invite_code(ENG)
    assert sim.world.state.groups[0].invite_code == ENGINEERING_CODE


async def test_revoking_gives_a_new_code_and_the_old_one_stops_working(sim: Harness) -> None:
    new = await sim.client().revoke_invite_code(ENG)
    assert new is not None  # the simulator answers with the new code, as Baileys does
    assert new != ENGINEERING_CODE
    assert len(new) == 22
    assert await sim.client().get_invite_code(ENG) == new
    with pytest.raises(NotFoundError, match="invite code"):
        await sim.client("outsider").preview_invite(ENGINEERING_CODE)
    with pytest.raises(NotFoundError):
        await sim.client("outsider").join_group(ENGINEERING_CODE)


async def test_preview_shows_subject_size_and_participants_before_joining(sim: Harness) -> None:
    info = await sim.client("outsider").preview_invite(ENGINEERING_CODE)
    assert info.id == ENG
    assert info.subject == "Engineering"
    assert info.size == 6
    assert len(info.participants) == 6


async def test_join_by_code_makes_the_session_a_member(sim: Harness) -> None:
    joined = await sim.client("outsider").join_group(ENGINEERING_CODE)
    assert joined == ENG
    assert sim.world.state.groups[0].participants[OUTSIDER] == "member"
    assert [g.id for g in await sim.client("outsider").list_groups()] == [ENG]


async def test_joining_a_group_one_is_in_is_409(sim: Harness) -> None:
    with pytest.raises(ConflictError, match="already a participant"):
        await sim.client("member").join_group(ENGINEERING_CODE)


async def test_joining_clears_a_pending_invitation(sim: Harness) -> None:
    sim.world.state.groups[0].invited_at[OUTSIDER] = 1
    await sim.client("outsider").join_group(ENGINEERING_CODE)
    assert OUTSIDER not in sim.world.state.groups[0].invited_at


async def test_preview_without_a_code_is_400(sim: Harness) -> None:
    async with sim.raw() as http:
        answer = await http.get("/api/sessions/default/groups/join")
    assert answer.status_code == 400
    assert answer.json()["error"] == "the inviteCode query parameter is required"


async def test_the_person_from_join_can_be_found_by_phone(sim: Harness) -> None:
    await sim.client("outsider").join_group(ENGINEERING_CODE)
    participants = await sim.client().list_participants(ENG)
    assert jid(OUTSIDER) in {p.phone for p in participants}
