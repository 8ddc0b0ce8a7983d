"""Contract: LID-addressed groups. WhatsApp keys more and more groups by LID; there, engines
find a member to remove, promote or demote only by the LID, and a phone JID answers 404."""

from __future__ import annotations

from reconciler.sim.state import WorldState
from reconciler.titan.results import ParticipantResult, ParticipantStatus
from tests.conftest import MakeSim
from tests.support.harness import (
    ALICE,
    BOB,
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
NOT_PARTICIPANT = ParticipantStatus.NOT_PARTICIPANT


def lid_addressed() -> WorldState:
    """The standard world, with Engineering keyed by LID."""
    world = standard_world()
    world.groups[0].addressing_mode = "lid"
    return world


def statuses(results: tuple[ParticipantResult, ...]) -> list[tuple[str, int]]:
    return [(str(r.jid), r.status) for r in results]


def roles(sim: Harness) -> dict[str, str]:
    return dict(sim.world.state.groups[0].participants)


async def test_by_phone_jid_remove_promote_and_demote_answer_404_and_change_nothing(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(lid_addressed())
    client = sim.client()
    before = roles(sim)
    removed = await client.remove_participants(ENG, [jid(ALICE)])
    promoted = await client.promote_participants(ENG, [jid(MEMBER)])
    demoted = await client.demote_participants(ENG, [jid(OTHER)])
    assert statuses(removed) == [(str(jid(ALICE)), NOT_PARTICIPANT)]
    assert statuses(promoted) == [(str(jid(MEMBER)), NOT_PARTICIPANT)]
    assert statuses(demoted) == [(str(jid(OTHER)), NOT_PARTICIPANT)]
    assert roles(sim) == before


async def test_by_lid_remove_promote_and_demote_work(make_sim: MakeSim) -> None:
    sim = make_sim(lid_addressed())
    client = sim.client()
    alice, member, other = (f"{sim.lid(p)}@lid" for p in (ALICE, MEMBER, OTHER))
    assert statuses(await client.remove_participants(ENG, [jid(alice)])) == [(alice, 200)]
    assert statuses(await client.promote_participants(ENG, [jid(member)])) == [(member, 200)]
    assert statuses(await client.demote_participants(ENG, [jid(other)])) == [(other, 200)]
    after = roles(sim)
    assert ALICE not in after
    assert (after[MEMBER], after[OTHER]) == ("admin", "member")


async def test_adds_by_phone_jid_still_work(make_sim: MakeSim) -> None:
    sim = make_sim(lid_addressed())
    results = await sim.client().add_participants(ENG, [jid(BOB)])
    assert statuses(results) == [(str(jid(BOB)), 200)]
    assert roles(sim)[BOB] == "member"


async def test_a_phone_group_finds_members_by_phone_jid(sim: Harness) -> None:
    assert sim.world.state.groups[0].addressing_mode == "pn"  # the default
    results = await sim.client().remove_participants(ENG, [jid(ALICE)])
    assert statuses(results) == [(str(jid(ALICE)), 200)]


async def test_the_participant_list_shows_the_lid_always_and_the_number_when_visible(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(lid_addressed())
    shown = {
        p.lid.user: p.phone.e164 if p.phone else None
        for p in await sim.client().list_participants(ENG)
        if p.lid is not None
    }
    # Dave shows his number to admins, the session is one; Erin only to her contacts.
    assert shown[sim.lid(DAVE)] == DAVE
    assert shown[sim.lid(ERIN)] is None
    assert shown[sim.lid(DEFAULT)] == DEFAULT
    assert len(shown) == len(roles(sim))


def test_the_world_file_keeps_the_addressing_mode() -> None:
    saved = lid_addressed().model_dump_json()
    again = WorldState.model_validate_json(saved)
    assert [g.addressing_mode for g in again.groups] == ["lid", "pn"]
