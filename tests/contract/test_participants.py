"""Contract: who may add, remove, promote and demote whom, and the per-participant answers."""

from __future__ import annotations

import pytest

from reconciler.core.limits import MAX_GROUP_SIZE
from reconciler.errors import BadRequestError, ConflictError, PermissionDeniedError
from reconciler.sim.rules.participants import ADD_REQUEST_SECONDS
from reconciler.sim.state import Group, Role
from reconciler.titan.models import Participant
from reconciler.titan.results import ParticipantResult, ParticipantStatus
from tests.conftest import MakeSim
from tests.support.harness import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    DEFAULT,
    ENGINEERING,
    ERIN,
    MEMBER,
    OTHER,
    Harness,
    gid,
    jid,
    standard_world,
)

ENG = gid(ENGINEERING)


def statuses(results: tuple[ParticipantResult, ...]) -> list[tuple[str, int]]:
    return [(str(r.jid), r.status) for r in results]


async def test_admin_adds_a_person(sim: Harness) -> None:
    results = await sim.client("other").add_participants(ENG, [jid(BOB)])
    assert statuses(results) == [(str(jid(BOB)), 200)]
    assert sim.world.state.groups[0].participants[BOB] == "member"


async def test_a_member_who_is_not_admin_cannot_add_remove_or_promote(sim: Harness) -> None:
    member = sim.client("member")
    for call in (member.add_participants, member.remove_participants, member.promote_participants):
        with pytest.raises(PermissionDeniedError, match="only group admins"):
            await call(ENG, [jid(ALICE)])
    assert sim.world.state.groups[0].participants[ALICE] == "member"


async def test_adding_a_member_again_answers_409_already_member(sim: Harness) -> None:
    results = await sim.client().add_participants(ENG, [jid(ALICE)])
    assert statuses(results) == [(str(jid(ALICE)), ParticipantStatus.ALREADY)]


async def test_privacy_settings_refuse_an_add_and_invite_nobody(sim: Harness) -> None:
    results = await sim.client().add_participants(ENG, [jid(CAROL), jid(BOB)])
    assert statuses(results) == [(str(jid(CAROL)), 403), (str(jid(BOB)), 200)]
    refused = results[0]
    assert refused.add_request is not None
    assert not refused.invite_sent
    group = sim.world.state.groups[0]
    assert CAROL not in group.participants
    assert CAROL in group.invited_at
    assert sim.world.state.messages == []  # nothing reaches her


async def test_the_403_answer_carries_an_add_request_and_says_no_invite_was_sent(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(clock=lambda: 1_800_000_000.0)
    async with sim.raw() as http:
        answer = await http.post(
            f"/api/sessions/default/groups/{ENGINEERING}/participants",
            json={"participants": [str(jid(CAROL))]},
        )
    assert answer.status_code == 200
    (result,) = answer.json()["data"]["results"]
    code = result["addRequest"]["code"]
    assert code.isalnum()
    assert result == {
        "jid": str(jid(CAROL)),
        "status": 403,
        "message": "privacy settings: they must be invited",
        "addRequest": {"code": code, "expiration": 1_800_000_000 + ADD_REQUEST_SECONDS},
        "inviteSent": False,
    }


async def test_someone_who_left_recently_cannot_be_added_back_408(make_sim: MakeSim) -> None:
    clock = [1_800_000_000.0]
    sim = make_sim(clock=lambda: clock[0])
    await sim.client("member").leave_group(ENG)
    results = await sim.client().add_participants(ENG, [jid(MEMBER)])
    assert statuses(results) == [(str(jid(MEMBER)), ParticipantStatus.RECENTLY_LEFT)]
    clock[0] += 86_401  # the window is over
    results = await sim.client().add_participants(ENG, [jid(MEMBER)])
    assert statuses(results) == [(str(jid(MEMBER)), 200)]


async def test_someone_removed_by_an_admin_may_be_added_back_at_once(sim: Harness) -> None:
    await sim.client().remove_participants(ENG, [jid(ALICE)])
    results = await sim.client().add_participants(ENG, [jid(ALICE)])
    assert statuses(results) == [(str(jid(ALICE)), 200)]


async def test_a_full_group_answers_419_per_participant(make_sim: MakeSim) -> None:
    world = standard_world()
    crowd: dict[str, Role] = {f"+1415777{n:04d}": "member" for n in range(MAX_GROUP_SIZE - 1)}
    world.groups.append(
        Group(
            id="120363000000000009@g.us",
            subject="Full",
            creator=DEFAULT,
            created_at=1,
            invite_code="FullInviteCode00000009",
            participants={DEFAULT: "superadmin", **crowd},
        )
    )
    sim = make_sim(world)
    results = await sim.client().add_participants(gid("120363000000000009@g.us"), [jid(BOB)])
    assert statuses(results) == [(str(jid(BOB)), ParticipantStatus.GROUP_FULL)]


@pytest.mark.parametrize(
    ("method", "path"), [("POST", ""), ("DELETE", ""), ("POST", "/promote"), ("POST", "/demote")]
)
async def test_more_than_256_participants_in_one_call_is_refused(
    sim: Harness, method: str, path: str
) -> None:
    many = [f"1415666{n:04d}@s.whatsapp.net" for n in range(257)]
    async with sim.raw() as http:
        answer = await http.request(
            method,
            f"/api/sessions/default/groups/{ENGINEERING}/participants{path}",
            json={"participants": many},
        )
    assert answer.status_code == 400
    assert "at most 256" in answer.json()["error"]


async def test_the_client_refuses_to_send_more_than_256(sim: Harness) -> None:
    many = [jid(f"+1415666{n:04d}") for n in range(257)]
    with pytest.raises(ValueError, match="at most 256"):
        await sim.client().add_participants(ENG, many)


async def test_admin_removes_a_member_and_a_stranger_is_404(sim: Harness) -> None:
    results = await sim.client("other").remove_participants(ENG, [jid(ALICE), jid(BOB)])
    assert statuses(results) == [(str(jid(ALICE)), 200), (str(jid(BOB)), 404)]
    assert ALICE not in sim.world.state.groups[0].participants


async def test_an_admin_may_remove_another_admin_but_never_the_creator(sim: Harness) -> None:
    await sim.client().promote_participants(ENG, [jid(ALICE)])
    results = await sim.client("other").remove_participants(ENG, [jid(ALICE), jid(DEFAULT)])
    assert statuses(results) == [(str(jid(ALICE)), 200), (str(jid(DEFAULT)), 403)]
    assert sim.world.state.groups[0].participants[DEFAULT] == "superadmin"


async def test_removing_oneself_is_refused_in_favour_of_leave(sim: Harness) -> None:
    results = await sim.client("other").remove_participants(ENG, [jid(OTHER)])
    assert statuses(results) == [(str(jid(OTHER)), 403)]


async def test_admin_promotes_and_promoting_an_admin_is_409(sim: Harness) -> None:
    results = await sim.client("other").promote_participants(ENG, [jid(ALICE), jid(OTHER)])
    assert statuses(results) == [(str(jid(ALICE)), 200), (str(jid(OTHER)), 409)]
    assert sim.world.state.groups[0].participants[ALICE] == "admin"


async def test_only_the_creator_demotes(sim: Harness) -> None:
    with pytest.raises(PermissionDeniedError, match="only the group creator"):
        await sim.client("other").demote_participants(ENG, [jid(OTHER)])
    results = await sim.client().demote_participants(ENG, [jid(OTHER), jid(ALICE)])
    assert statuses(results) == [(str(jid(OTHER)), 200), (str(jid(ALICE)), 409)]
    assert sim.world.state.groups[0].participants[OTHER] == "member"


async def test_the_creator_cannot_be_demoted(sim: Harness) -> None:
    results = await sim.client().demote_participants(ENG, [jid(DEFAULT)])
    assert statuses(results) == [(str(jid(DEFAULT)), 403)]


async def test_participants_are_addressed_by_lid_too(sim: Harness) -> None:
    dave_lid = f"{sim.lid(DAVE)}@lid"
    results = await sim.client().remove_participants(ENG, [jid(dave_lid)])
    assert statuses(results) == [(dave_lid, 200)]
    unknown = await sim.client().add_participants(ENG, [jid("999999999@lid")])
    assert statuses(unknown) == [("999999999@lid", 404)]


async def test_c_us_and_s_whatsapp_net_name_the_same_person(sim: Harness) -> None:
    async with sim.raw() as http:
        answer = await http.post(
            f"/api/sessions/default/groups/{ENGINEERING}/participants",
            json={"participants": ["14155550101@c.us"]},
        )
    assert answer.json()["data"]["results"][0]["status"] == 409  # alice is already in


async def test_a_group_jid_is_not_a_participant(sim: Harness) -> None:
    with pytest.raises(BadRequestError, match="not a participant JID"):
        await sim.client().add_participants(ENG, [gid(ENGINEERING)])


async def test_numbers_hidden_by_privacy_show_only_the_lid(sim: Harness) -> None:
    def phones(participants: list[Participant]) -> dict[str, str | None]:
        return {p.lid.user: (p.phone.e164 if p.phone else None) for p in participants if p.lid}

    dave_lid, erin_lid = sim.lid(DAVE), sim.lid(ERIN)
    as_member = phones(await sim.client("member").list_participants(ENG))
    as_admin_without_erin = phones(await sim.client().list_participants(ENG))
    as_admin_with_erin = phones(await sim.client("other").list_participants(ENG))
    # dave: admins and contacts see the number; erin: only her contacts do.
    assert (as_member[dave_lid], as_member[erin_lid]) == (None, None)
    assert (as_admin_without_erin[dave_lid], as_admin_without_erin[erin_lid]) == (DAVE, None)
    assert as_admin_with_erin[erin_lid] == ERIN
    assert as_member[sim.lid(ALICE)] == ALICE


async def test_participants_list_has_the_documented_fields(sim: Harness) -> None:
    async with sim.raw() as http:
        answer = await http.get(f"/api/sessions/member/groups/{ENGINEERING}/participants")
    entries = answer.json()["data"]
    assert {tuple(sorted(e)) for e in entries} == {
        ("isAdmin", "isSuperAdmin", "lid", "phoneNumber"),
        ("isAdmin", "isSuperAdmin", "lid"),
    }


async def test_a_full_group_cannot_be_joined_by_invite_either(make_sim: MakeSim) -> None:
    world = standard_world()
    crowd: dict[str, Role] = {f"+1415777{n:04d}": "member" for n in range(MAX_GROUP_SIZE - 6)}
    world.groups[0].participants.update(crowd)
    sim = make_sim(world)
    code = await sim.client().get_invite_code(ENG)
    with pytest.raises(ConflictError, match="full"):
        await sim.client("outsider").join_group(code)
