"""Contract: `POST /api/messages/send` sends a text as a session, and the world keeps it."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.errors import NotFoundError, PermissionDeniedError
from tests.conftest import MakeSim
from tests.support.harness import (
    CAROL,
    DEFAULT,
    MARKETING,
    READ_ONLY_KEY,
    Harness,
    gid,
    jid,
)


async def test_a_text_to_a_person_is_answered_as_titan_documents_and_kept(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(clock=lambda: 1_800_000_000.0)
    async with sim.raw() as http:
        answer = await http.post(
            "/api/messages/send",
            json={
                "session": "default",
                "chatId": str(jid(CAROL)),
                "type": "text",
                "text": "Join us: https://chat.whatsapp.com/AbC123",
            },
        )
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert data == {
        "id": data["id"],
        "status": "sent",
        "timestamp": 1_800_000_000,
        "fromPhoneNumber": DEFAULT,
        "fromLid": f"{sim.world.person(DEFAULT).lid}@lid",
    }
    (kept,) = sim.world.state.messages
    assert (kept.id, kept.session, kept.sender, kept.chat_id, kept.text) == (
        data["id"],
        "default",
        DEFAULT,
        str(jid(CAROL)),
        "Join us: https://chat.whatsapp.com/AbC123",
    )


async def test_the_client_sends_a_text_with_the_session_in_the_body(sim: Harness) -> None:
    ident = await sim.client("other").send_text(jid(CAROL), "hello")
    (kept,) = sim.world.state.messages
    assert ident == kept.id
    assert (kept.session, kept.chat_id, kept.text) == ("other", str(jid(CAROL)), "hello")


async def test_a_key_without_messages_write_cannot_send(sim: Harness) -> None:
    with pytest.raises(PermissionDeniedError, match="messages:write"):
        await sim.client(api_key=READ_ONLY_KEY).send_text(jid(CAROL), "hello")
    assert sim.world.state.messages == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"chatId": "14155550103@s.whatsapp.net", "type": "text", "text": "hi"}, "session"),
        ({"session": "default", "chatId": "14155550103@s.whatsapp.net", "text": "hi"}, "type"),
        (
            {"session": "default", "chatId": "14155550103@s.whatsapp.net", "type": "image"},
            "type",
        ),
        (
            {"session": "default", "chatId": "14155550103@s.whatsapp.net", "type": "text"},
            "text",
        ),
        ({"session": "default", "chatId": "nobody", "type": "text", "text": "hi"}, "chat id"),
        (
            {
                "session": "default",
                "chatId": "14155550103@s.whatsapp.net",
                "type": "text",
                "text": "  ",
            },
            "empty",
        ),
    ],
    ids=["no-session", "no-type", "not-text", "no-text", "bad-chat", "blank-text"],
)
async def test_a_malformed_send_is_refused_and_sends_nothing(
    sim: Harness, body: dict[str, Any], problem: str
) -> None:
    async with sim.raw() as http:
        answer = await http.post("/api/messages/send", json=body)
    assert answer.status_code == 400
    assert problem in answer.json()["error"]
    assert sim.world.state.messages == []


async def test_a_group_the_account_is_not_in_an_unknown_lid_or_session_are_refused(
    sim: Harness,
) -> None:
    with pytest.raises(PermissionDeniedError, match="not a participant"):
        await sim.client("member").send_text(gid(MARKETING), "hello")
    with pytest.raises(NotFoundError, match="no WhatsApp account"):
        await sim.client().send_text(jid("999999999999999@lid"), "hello")
    with pytest.raises(NotFoundError, match="session 'nobody' not found"):
        await sim.client("nobody").send_text(jid(CAROL), "hello")
    assert sim.world.state.messages == []
