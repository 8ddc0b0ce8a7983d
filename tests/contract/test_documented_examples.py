"""Every request and answer example of Titan's published pages, replayed.

Requests, as the pages write them, are sent to the simulator over the wire (both transports);
answers, as the pages write them, are read through the client. Each case names its page on
docs.usetitan.app (`seed` is messaging/groups, the page titan-api.md started from; `ar/` is
api-reference/). The pages' example JIDs were mangled when saved: `123456789@g.us` and
`15551234567@s.whatsapp.net` stand for them, as titan-api.md says.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reconciler.core.jid import jid_from_api, parse_jid
from reconciler.errors import ApiResponseError, BadRequestError, OutcomeUnknownError
from reconciler.sim.state import Account, Group, Person, WorldState
from reconciler.titan.client import TitanClient
from reconciler.titan.retries import RetryPolicy
from tests.conftest import MakeSim

BOT = "+15550000001"
PERSON = "+15551234567"  # the pages' 15551234567@s.whatsapp.net
OTHER = "+15551234568"
GROUP = "123456789@g.us"  # the pages' [email protected]
CODE = "ABcDeFgHiJk"  # the seed's invite code
PATH = "/api/sessions/default"
GROUP_PATH = f"{PATH}/groups/{GROUP}"


def documented_world() -> WorldState:
    """The session `default` as creator of the pages' group, with the pages' person in it."""
    return WorldState(
        people=[Person(phone=BOT, name="Bot"), Person(phone=PERSON), Person(phone=OTHER)],
        accounts=[Account(session="default", phone=BOT)],
        groups=[
            Group(
                id=GROUP,
                subject="Team Updates",
                creator=BOT,
                created_at=1_705_315_200,
                invite_code=CODE,
                participants={BOT: "superadmin", PERSON: "member"},
            )
        ],
    )


@dataclass(frozen=True)
class Sent:
    """A request exactly as a page shows it, and the status the simulator must answer."""

    page: str
    method: str
    path: str
    body: dict[str, Any] | None
    status: int


def _jpeg() -> str:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(out, format="JPEG")
    return base64.b64encode(out.getvalue()).decode()


PERSON_JID = "15551234567@s.whatsapp.net"
OTHER_JID = "15551234568@s.whatsapp.net"

REQUESTS = [
    Sent("seed: Create a group", "POST", f"{PATH}/groups",
         {"name": "Team Updates", "participants": [PERSON_JID, OTHER_JID]}, 201),
    Sent("ar/groups: Create a group", "POST", f"{PATH}/groups",
         {"session": "default", "name": "Team Announcements",
          "participants": [PERSON_JID, OTHER_JID]}, 201),
    Sent("seed: List groups", "GET", f"{PATH}/groups", None, 200),
    Sent("ar/groups: List groups", "GET", f"{PATH}/groups", None, 200),
    Sent("seed: Get group info", "GET", GROUP_PATH, None, 200),
    Sent("seed: Update the group name", "PUT", f"{GROUP_PATH}/subject",
         {"value": "New Group Name"}, 200),
    Sent("ar/groups: Update the group name", "PUT", f"{GROUP_PATH}/subject",
         {"session": "default", "value": "New Group Name"}, 200),
    Sent("seed: Update the description", "PUT", f"{GROUP_PATH}/description",
         {"value": "Weekly team sync — every Monday at 10 AM"}, 200),
    Sent("ar/groups: Update the description", "PUT", f"{GROUP_PATH}/description",
         {"session": "default", "value": "Weekly team sync — every Monday at 10 AM"}, 200),
    Sent("seed: Set a profile picture (base64-encoded JPEG)", "PUT", f"{GROUP_PATH}/picture",
         {"base64": _jpeg()}, 200),
    Sent("seed: List participants", "GET", f"{GROUP_PATH}/participants", None, 200),
    Sent("seed: Add participants", "POST", f"{GROUP_PATH}/participants",
         {"participants": [OTHER_JID]}, 200),
    Sent("seed: Promote to admin", "POST", f"{GROUP_PATH}/participants/promote",
         {"participants": [PERSON_JID]}, 200),
    Sent("seed: Demote from admin (same body as promote)", "POST",
         f"{GROUP_PATH}/participants/demote", {"participants": [PERSON_JID]}, 200),
    Sent("seed: Remove participants (same body, on DELETE)", "DELETE",
         f"{GROUP_PATH}/participants", {"participants": [PERSON_JID]}, 200),
    Sent("seed: Get the invite code", "GET", f"{GROUP_PATH}/invite", None, 200),
    Sent("seed: Preview a group before joining", "GET",
         f"{PATH}/groups/join?inviteCode={CODE}", None, 200),
    Sent("seed: Revoke the invite link", "DELETE", f"{GROUP_PATH}/invite", None, 200),
    Sent("seed: Leave a group", "POST", f"{GROUP_PATH}/leave", None, 200),
    Sent("ar/sessions: Get a session", "GET", PATH, None, 200),
]  # fmt: skip


@pytest.mark.parametrize("sent", REQUESTS, ids=[r.page for r in REQUESTS])
async def test_each_documented_request_is_served_as_documented(
    make_sim: MakeSim, sent: Sent
) -> None:
    sim = make_sim(world=documented_world())
    async with sim.raw() as http:
        content = None if sent.body is None else json.dumps(sent.body).encode()
        answer = await http.request(
            sent.method, sent.path, content=content, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == sent.status, answer.text
    assert "data" in answer.json()  # ar/overview: every success is wrapped in `data`


async def test_the_seeds_delete_and_join_examples_are_served(make_sim: MakeSim) -> None:
    """seed: Delete a group (creator only); seed: POST /groups/join with `{"code"}`."""
    sim = make_sim(world=documented_world())
    async with sim.raw() as http:
        deleted = await http.delete(GROUP_PATH)
        assert deleted.status_code == 200
        assert sim.world.state.groups == []
    joiner = documented_world()
    joiner.accounts.append(Account(session="joiner", phone=OTHER))
    sim = make_sim(world=joiner)
    async with sim.raw() as http:
        joined = await http.post("/api/sessions/joiner/groups/join", json={"code": CODE})
    assert joined.status_code == 200
    assert joined.json()["data"]["id"] == GROUP


async def test_a_body_naming_another_session_is_refused(make_sim: MakeSim) -> None:
    sim = make_sim(world=documented_world())
    async with sim.raw() as http:
        answer = await http.put(
            f"{GROUP_PATH}/subject", json={"session": "someone-else", "value": "x"}
        )
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "the body's session 'someone-else' is not the path's 'default'",
        "docs": answer.json()["docs"],
    }


async def test_the_simulators_answers_have_the_documented_fields(make_sim: MakeSim) -> None:
    """ar/sessions (the session object), ar/groups (the group object), seed (participants)."""
    sim = make_sim(world=documented_world())
    async with sim.raw() as http:
        session = (await http.get(PATH)).json()["data"]
        group = (await http.get(GROUP_PATH)).json()["data"]
        participants = (await http.get(f"{GROUP_PATH}/participants")).json()["data"]
    assert {"name", "status", "statusReason", "phoneNumber", "pushName", "lid"} <= set(session)
    assert session["phoneNumber"] == BOT  # E.164, not a JID
    assert set(group) >= {"id", "name", "description", "ownerLid", "createdAt", "participants"}
    assert group["createdAt"] == 1_705_315_200  # Unix seconds
    assert group["ownerLid"].endswith("@lid")
    assert {"phoneNumber", "lid", "isAdmin", "isSuperAdmin"} == set(participants[0])
    assert participants[1]["phoneNumber"] == PERSON  # E.164 inside objects


# -- answers, as the pages write them, read through the client ----------------------------


def answering(data: Any, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=data)

    return answer


def client_of(answer: Callable[[httpx.Request], httpx.Response]) -> TitanClient:
    return TitanClient(
        "https://api.example.com",
        api_key="titan_documented_examples_key",
        transport=httpx.MockTransport(answer),
        write_rate=None,
        retry=RetryPolicy(attempts=1),
    )


async def test_ar_sessions_session_object_is_read_whole() -> None:
    client = client_of(
        answering(
            {
                "data": {
                    "name": "default",
                    "status": "CONNECTED",
                    "statusReason": None,
                    "phoneNumber": "+5511999999999",
                    "pushName": "Bot",
                    "businessName": "Acme",
                    "platform": "smba",
                    "lid": "12345678@lid",
                    "proxy": None,
                    "createdAt": "2025-01-15T10:00:00Z",
                    "updatedAt": "2025-01-15T10:00:00Z",
                }
            }
        )
    )
    info = await client.get_session()
    assert info.phone == parse_jid("5511999999999@s.whatsapp.net")
    assert str(info.lid) == "12345678@lid"
    assert (info.push_name, info.business_name, info.platform) == ("Bot", "Acme", "smba")
    assert info.connected


@pytest.mark.parametrize(
    ("page", "data"),
    [
        ("ar/overview: Response format", {"name": "default", "status": "CONNECTING"}),
        (
            "quickstart: Create a session",
            {"name": "my-session", "status": "DISCONNECTED", "statusReason": "MANUAL_STOP"},
        ),
    ],
)
async def test_a_session_before_pairing_has_no_account(page: str, data: dict[str, Any]) -> None:
    info = await client_of(answering({"data": data})).get_session()
    assert info.phone is None
    assert not info.connected


async def test_a_lid_without_its_server_is_read_as_a_lid() -> None:
    """titan-api.md: accept the account's `lid` with or without `@lid`."""
    client = client_of(
        answering({"data": {"name": "d", "status": "CONNECTED", "phoneNumber": "+1", "lid": "987"}})
    )
    with pytest.raises(ApiResponseError, match="phone"):  # "+1" is no phone number: refused
        await client.get_session()
    client = client_of(
        answering(
            {
                "data": {
                    "name": "d",
                    "status": "CONNECTED",
                    "phoneNumber": "+14155550100",
                    "lid": "987",
                }
            }
        )
    )
    assert str((await client.get_session()).lid) == "987@lid"


async def test_ar_groups_create_answer_is_read() -> None:
    client = client_of(
        answering(
            {
                "data": {
                    "id": "120363012345678901@g.us",
                    "name": "Team Announcements",
                    "ownerLid": "12345678@lid",
                    "createdAt": 1705315200,
                    "participants": [
                        {"phoneNumber": "+5511999999999", "isAdmin": False, "isSuperAdmin": False}
                    ],
                }
            },
            status=201,
        )
    )
    created = await client.create_group(
        "Team Announcements", [parse_jid("5511999999999@s.whatsapp.net")]
    )
    assert created.group.id == parse_jid("120363012345678901@g.us")
    assert created.group.created_at == 1705315200
    assert str(created.group.owner_lid) == "12345678@lid"
    participants = created.group.participants or ()
    assert [str(p.phone) for p in participants] == ["5511999999999@s.whatsapp.net"]


async def test_seed_invite_code_answer_is_read() -> None:
    client = client_of(answering({"code": CODE}))  # the seed shows it unwrapped
    assert await client.get_invite_code(parse_jid(GROUP)) == CODE
    client = client_of(answering({"data": {"code": CODE}}))
    assert await client.get_invite_code(parse_jid(GROUP)) == CODE


async def test_ar_overview_error_answer_is_an_error_naming_the_call_and_the_docs() -> None:
    client = client_of(
        answering(
            {
                "error": "missing required field: chatId",
                "docs": "https://docs.usetitan.app/api-reference/messages",
            },
            status=400,
        )
    )
    with pytest.raises(BadRequestError) as caught:
        await client.set_subject(parse_jid(GROUP), "x")
    assert caught.value.message == "missing required field: chatId"
    assert caught.value.docs == "https://docs.usetitan.app/api-reference/messages"
    assert "PUT /api/sessions/default/groups/123456789%40g.us/subject: HTTP 400" in str(
        caught.value
    )


async def test_advanced_async_commands_receipt_is_outcome_unknown() -> None:
    client = client_of(answering({"data": {"correlationId": "cmd-abc123"}}, status=202))
    with pytest.raises(OutcomeUnknownError, match="cmd-abc123"):
        await client.add_participants(parse_jid(GROUP), [jid_from_api(PERSON_JID)])


@pytest.mark.parametrize(
    ("source", "data", "phone", "lid"),
    [
        (
            "ar/sessions (flat)",
            {"name": "d", "status": "CONNECTED", "phoneNumber": "+14155550100", "lid": "1@lid"},
            "14155550100@s.whatsapp.net",
            "1@lid",
        ),
        (
            "ar/sessions, lid without @lid",
            {"name": "d", "status": "CONNECTED", "phoneNumber": "+14155550100", "lid": "1"},
            "14155550100@s.whatsapp.net",
            "1@lid",
        ),
        (
            "legacy me (WAHA /me)",
            {"name": "d", "status": "CONNECTED", "me": {"id": "14155550100@c.us", "lid": "2@lid"}},
            "14155550100@s.whatsapp.net",
            "2@lid",
        ),
        (
            "legacy me with a device suffix",
            {"name": "d", "status": "CONNECTED", "me": {"id": "14155550100:12@s.whatsapp.net"}},
            "14155550100@s.whatsapp.net",
            None,
        ),
        (
            "before pairing: empty and null fields",
            {"name": "d", "status": "CONNECTING", "phoneNumber": "", "lid": None},
            None,
            None,
        ),
    ],
)
async def test_every_known_session_shape_says_who_the_account_is(
    source: str, data: dict[str, Any], phone: str | None, lid: str | None
) -> None:
    info = await client_of(answering({"data": data})).get_session()
    assert (info.phone, info.lid) == (phone, lid)
