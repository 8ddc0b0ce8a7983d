"""TitanClient's routes: paths, bodies that name the session, answers in every shape,
leave and delete that finish what a lost answer did, scope checks, and options refused up front."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from reconciler.errors import NotFoundError, PermissionDeniedError, SettingsError
from reconciler.titan.client import TitanClient
from reconciler.titan.retries import RetryPolicy
from reconciler.util.rates import Rate
from tests.support.harness import ALICE, jid
from tests.titan.scripted import ENG, SECRET, Script, Sleeps, client_for, error, ok


async def test_group_ids_go_into_paths_url_encoded() -> None:
    script = Script(ok({"success": True}))
    await client_for(script).set_subject(ENG, "x")
    assert (
        script.calls[0].url.raw_path
        == b"/api/sessions/default/groups/120363000000000001%40g.us/subject"
    )


async def test_a_leave_whose_answer_was_lost_is_repeated_and_not_being_there_is_done() -> None:
    script = Script(httpx.ReadTimeout("read timed out"), error(403, "not a participant"))
    await client_for(script, retry=RetryPolicy(attempts=4)).leave_group(ENG)
    assert len(script.calls) == 2


async def test_a_delete_that_failed_is_repeated_and_the_group_gone_is_done() -> None:
    script = Script(error(500, "oops"), error(404, "group not found"))
    await client_for(script, retry=RetryPolicy(attempts=4)).delete_group(ENG)
    assert [r.method for r in script.calls] == ["DELETE", "DELETE"]


async def test_a_first_refusal_to_leave_or_delete_is_still_an_error() -> None:
    with pytest.raises(NotFoundError):
        await client_for(Script(error(404, "group not found"))).delete_group(ENG)
    with pytest.raises(PermissionDeniedError):
        await client_for(Script(error(403, "not a participant"))).leave_group(ENG)


async def test_unwrapped_bodies_and_waha_shapes_are_accepted() -> None:
    waha = [
        {
            "id": "120363000000000001@g.us",
            "subject": "Eng",
            "participants": [{"id": "14155550101@c.us", "admin": "superadmin"}],
        }
    ]
    group = (await client_for(Script(httpx.Response(200, json=waha))).list_groups())[0]
    assert group.name == "Eng"
    assert group.participants is not None
    assert group.participants[0].phone == jid(ALICE)
    assert group.participants[0].is_super_admin
    assert group.participants[0].is_admin


def test_bad_session_names_and_empty_keys_are_refused_up_front() -> None:
    with pytest.raises(SettingsError, match="not a valid session name"):
        TitanClient("https://titan.test", api_key=SECRET, session="../admin")
    with pytest.raises(SettingsError, match="empty"):
        TitanClient("https://titan.test", api_key="")


async def test_participant_calls_send_the_seed_body_with_the_session() -> None:
    script = Script(ok({"results": []}))
    await client_for(script, session="sales").add_participants(ENG, [jid(ALICE)])
    assert json.loads(script.calls[0].content) == {
        "session": "sales",
        "participants": ["14155550101@s.whatsapp.net"],
    }


async def test_every_group_write_with_a_body_names_the_session() -> None:
    script = Script(*[ok({"success": True})] * 4, ok({"id": "120363000000000009@g.us"}))
    client = client_for(script, session="sales")
    await client.set_subject(ENG, "New")
    await client.set_description(ENG, "Text")
    await client.set_picture(ENG, url="https://example.com/a.jpg")
    await client.promote_participants(ENG, [jid(ALICE)])
    await client.join_group("ABcDeFgHiJk")
    bodies = [json.loads(request.content) for request in script.calls]
    assert [body["session"] for body in bodies] == ["sales"] * 5


def test_a_client_token_is_refused_before_any_call() -> None:
    with pytest.raises(SettingsError, match="client token"):
        TitanClient("https://titan.test", api_key="titan_ct_abcdef0123456789")


async def test_scopes_are_checked_by_refusals_and_a_failed_check_is_no_verdict() -> None:
    script = Script(
        ok([]),  # groups:read
        error(404, "group not found"),  # groups:manage: the key got through
        error(500, "internal"),  # messages:write: cannot tell
    )
    sleeps = Sleeps()
    client = client_for(script, sleeps, write_rate=Rate(1, 3600), retry=RetryPolicy(attempts=1))
    found = await client.check_scopes()
    assert {scope: check.present for scope, check in found.items()} == {
        "sessions:read": True,
        "groups:read": True,
        "groups:manage": True,
        "messages:write": None,
    }
    assert "HTTP 500" in found["messages:write"].why


async def test_no_more_calls_go_at_once_than_max_concurrency() -> None:
    """Each call is held until the test lets it go: as many as allowed are held at once,
    never more, and the others go as those end."""
    held: list[asyncio.Future[None]] = []
    arrived = most = 0
    enough = asyncio.Event()

    async def holding(request: httpx.Request) -> httpx.Response:
        nonlocal arrived, most
        released = asyncio.get_running_loop().create_future()
        held.append(released)
        arrived, most = arrived + 1, max(most, len(held))
        if len(held) >= 3:
            enough.set()
        await released
        held.remove(released)
        return ok({"id": "120363000000000001@g.us", "name": "Eng", "participants": []})

    client = TitanClient(
        "https://titan.test",
        api_key=SECRET,
        transport=httpx.MockTransport(holding),
        write_rate=None,
        max_concurrency=3,
    )
    calls = asyncio.gather(*(client.get_group(ENG) for _ in range(10)))
    while arrived < 10:
        await enough.wait()  # three held: the next is let in only when one of them ends
        enough.clear()
        next(call for call in held if not call.done()).set_result(None)
    for last in held:
        if not last.done():
            last.set_result(None)
    await calls
    assert most == 3
