"""Contract: group lifecycle and settings, through the client, in-process and over a socket."""

from __future__ import annotations

import pytest

from reconciler.errors import (
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
    SessionNotReadyError,
)
from reconciler.titan.results import ParticipantStatus
from tests.support.harness import (
    ALICE,
    BOB,
    CAROL,
    DEFAULT,
    ENGINEERING,
    MARKETING,
    OTHER,
    Harness,
    gid,
    jid,
)


async def test_list_shows_only_the_groups_the_session_is_in(sim: Harness) -> None:
    listed = await sim.client("member").list_groups()
    assert [(g.id, g.name) for g in listed] == [(gid(ENGINEERING), "Engineering")]
    assert await sim.client("outsider").list_groups() == []


async def test_group_info_has_the_documented_fields(sim: Harness) -> None:
    group = await sim.client().get_group(gid(ENGINEERING))
    assert group.name == "Engineering"
    assert group.description == "Build things"
    assert group.created_at == 1_700_000_000
    assert group.owner_lid is not None
    assert group.owner_lid.user == sim.world.person(DEFAULT).lid
    roles = {p.phone: (p.is_admin, p.is_super_admin) for p in group.participants or ()}
    assert roles[jid(DEFAULT)] == (True, True)
    assert roles[jid(OTHER)] == (True, False)
    assert roles[jid(ALICE)] == (False, False)


async def test_unknown_group_is_404_and_a_group_one_is_not_in_is_403(sim: Harness) -> None:
    with pytest.raises(NotFoundError):
        await sim.client().get_group(gid("120363999999999999@g.us"))
    with pytest.raises(PermissionDeniedError, match="not a participant"):
        await sim.client("outsider").get_group(gid(ENGINEERING))


async def test_an_outsider_cannot_read_participants_nor_leave(sim: Harness) -> None:
    outsider = sim.client("outsider")
    group = gid(ENGINEERING)
    with pytest.raises(PermissionDeniedError, match="not a participant"):
        await outsider.list_participants(group)
    with pytest.raises(PermissionDeniedError, match="not a participant"):
        await outsider.leave_group(group)
    with pytest.raises(NotFoundError):
        await sim.client().leave_group(gid("120363999999999999@g.us"))


async def test_create_makes_the_session_creator_and_adds_participants(sim: Harness) -> None:
    created = await sim.client().create_group("Launch", [jid(ALICE), jid(BOB)])
    group = created.group
    assert group.name == "Launch"
    assert group.id.is_group
    supers = [p.phone for p in group.participants or () if p.is_super_admin]
    assert supers == [jid(DEFAULT)]
    assert {p.phone for p in group.participants or ()} == {jid(DEFAULT), jid(ALICE), jid(BOB)}
    assert [(r.jid, r.status) for r in created.results] == [(jid(ALICE), 200), (jid(BOB), 200)]
    assert sim.world.state.groups[-1].creator == DEFAULT


async def test_create_does_not_add_people_whose_privacy_settings_forbid_it(
    sim: Harness,
) -> None:
    created = await sim.client().create_group("Launch", [jid(CAROL)])
    statuses = [(r.jid, r.status) for r in created.results]
    assert statuses == [(jid(CAROL), ParticipantStatus.NEEDS_INVITE)]
    assert created.results[0].add_request is not None
    assert not created.results[0].invite_sent
    assert CAROL not in sim.world.state.groups[-1].participants
    assert CAROL in sim.world.state.groups[-1].invited_at


@pytest.mark.parametrize(
    ("name", "problem"), [("", "empty"), ("x" * 26, "longer than 25"), ("   ", "empty")]
)
async def test_create_refuses_a_bad_subject(sim: Harness, name: str, problem: str) -> None:
    with pytest.raises(BadRequestError, match=problem):
        await sim.client().create_group(name, [])
    assert len(sim.world.state.groups) == 2


async def test_create_refuses_more_than_256_participants(sim: Harness) -> None:
    many = [f"1415666{n:04d}@s.whatsapp.net" for n in range(257)]
    async with sim.raw() as http:
        answer = await http.post(
            "/api/sessions/default/groups", json={"name": "Big", "participants": many}
        )
    assert answer.status_code == 400
    assert "at most 256" in answer.json()["error"]


async def test_admin_changes_subject_and_description(sim: Harness) -> None:
    admin = sim.client("other")
    await admin.set_subject(gid(ENGINEERING), "Eng")
    await admin.set_description(gid(ENGINEERING), "New text")
    group = await sim.client().get_group(gid(ENGINEERING))
    assert (group.name, group.description) == ("Eng", "New text")


@pytest.mark.parametrize("setting", ["subject", "description", "picture"])
async def test_a_member_who_is_not_admin_cannot_change_settings(
    sim: Harness, setting: str, jpeg: bytes
) -> None:
    member = sim.client("member")

    async def change() -> None:
        if setting == "subject":
            await member.set_subject(gid(ENGINEERING), "Mine")
        elif setting == "description":
            await member.set_description(gid(ENGINEERING), "Mine")
        else:
            await member.set_picture(gid(ENGINEERING), jpeg=jpeg)

    with pytest.raises(PermissionDeniedError, match="only group admins"):
        await change()
    group = sim.world.state.groups[0]
    assert (group.subject, group.description, group.picture) == (
        "Engineering",
        "Build things",
        None,
    )


async def test_subject_over_25_and_description_over_2048_characters_are_refused(
    sim: Harness,
) -> None:
    client = sim.client()
    with pytest.raises(BadRequestError, match="longer than 25"):
        await client.set_subject(gid(ENGINEERING), "y" * 26)
    with pytest.raises(BadRequestError, match="longer than 2048"):
        await client.set_description(gid(ENGINEERING), "y" * 2049)
    await client.set_description(gid(ENGINEERING), "y" * 2048)


async def test_picture_that_is_not_a_jpeg_is_refused(sim: Harness, png: bytes) -> None:
    with pytest.raises(BadRequestError, match="must be a JPEG"):
        await sim.client().set_picture(gid(ENGINEERING), jpeg=png)
    with pytest.raises(BadRequestError, match="not a readable image"):
        await sim.client().set_picture(gid(ENGINEERING), jpeg=b"not an image at all")


async def test_picture_from_a_url_is_downloaded_and_stored_as_jpeg(
    sim: Harness, png_url: str
) -> None:
    await sim.client().set_picture(gid(ENGINEERING), url=png_url)
    stored = sim.world.picture_jpeg(sim.world.state.groups[0])
    assert stored is not None
    assert stored.startswith(b"\xff\xd8")  # JPEG magic


async def test_leave_removes_the_session_and_records_when(sim: Harness) -> None:
    await sim.client("member").leave_group(gid(ENGINEERING))
    assert await sim.client("member").list_groups() == []
    assert "+14155550198" in sim.world.state.groups[0].left_at


async def test_when_the_last_admin_leaves_the_longest_member_becomes_admin(
    sim: Harness,
) -> None:
    # Marketing: other (super admin), default, bob. The creator leaves.
    await sim.client("other").leave_group(gid(MARKETING))
    roles = sim.world.state.groups[1].participants
    assert OTHER not in roles
    assert roles[DEFAULT] == "admin"


async def test_only_the_creator_deletes_a_group(sim: Harness) -> None:
    with pytest.raises(PermissionDeniedError, match="only the group creator"):
        await sim.client("other").delete_group(gid(ENGINEERING))
    await sim.client().delete_group(gid(ENGINEERING))
    with pytest.raises(NotFoundError):
        await sim.client("other").get_group(gid(ENGINEERING))


async def test_when_the_last_member_leaves_the_group_is_gone(sim: Harness) -> None:
    created = await sim.client("outsider").create_group("Solo", [])
    await sim.client("outsider").leave_group(created.group.id)
    assert all(g.subject != "Solo" for g in sim.world.state.groups)
    with pytest.raises(NotFoundError):
        await sim.client("outsider").get_group(created.group.id)


async def test_a_creator_who_left_and_came_back_is_an_ordinary_member(sim: Harness) -> None:
    await sim.client().leave_group(gid(ENGINEERING))
    code = await sim.client("other").get_invite_code(gid(ENGINEERING))
    await sim.client().join_group(code)
    assert sim.world.state.groups[0].participants[DEFAULT] == "member"
    with pytest.raises(PermissionDeniedError, match="only the group creator"):
        await sim.client().delete_group(gid(ENGINEERING))
    with pytest.raises(PermissionDeniedError):
        await sim.client().demote_participants(gid(ENGINEERING), [jid(OTHER)])
    results = await sim.client("other").remove_participants(gid(ENGINEERING), [jid(DEFAULT)])
    assert [r.status for r in results] == [200]


async def test_a_session_that_is_not_connected_cannot_write_either(sim: Harness) -> None:
    with pytest.raises(SessionNotReadyError):
        await sim.client("stopped").create_group("Nope", [])
    assert len(sim.world.state.groups) == 2
