"""The simulator keeps webhook registrations as Titan does (POST /api/webhooks; GET and DELETE
inferred), delivers to them, and reports changes of a session's state as `session.status`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from reconciler.sim.webhooks import WebhookSender, sign
from tests.conftest import MakeSim
from tests.support.harness import BOB, ENGINEERING, READ_ONLY_KEY, Harness, gid, jid, standard_world
from tests.support.receiver import Receiver

HOOK = "https://watch.example.com/webhooks/titan"
KEY_A, KEY_B = "hmac-key-a-0123456789", "hmac-key-b-9876543210"
ENG = gid(ENGINEERING)
Received = list[tuple[dict[str, str], bytes]]


async def test_a_webhook_is_registered_its_key_shown_once_and_deleted(sim: Harness) -> None:
    http = sim.raw()
    body = {
        "url": HOOK,
        "events": ["group.update", "session.status"],
        "session": "default",
        "hmacKey": KEY_A,
        "retries": {"attempts": 3, "delaySeconds": 5, "policy": "exponential"},
    }
    made = await http.post("/api/webhooks", json=body)
    assert made.status_code == 201
    data = made.json()["data"]
    assert (data["id"], data["url"], data["hmacKey"], data["enabled"]) == (1, HOOK, KEY_A, True)
    assert data["events"] == ["group.update", "session.status"]
    assert data["createdAt"].endswith("Z")
    listed = await http.get("/api/webhooks")
    assert [hook["id"] for hook in listed.json()["data"]] == [1]
    assert KEY_A not in listed.text  # shown once, at creation
    assert (await http.delete("/api/webhooks/1")).status_code == 200
    assert (await http.get("/api/webhooks")).json()["data"] == []
    again = await http.delete("/api/webhooks/1")
    assert again.status_code == 404


async def test_without_a_key_given_titan_makes_one_and_shows_it_once(sim: Harness) -> None:
    made = await sim.raw().post("/api/webhooks", json={"url": HOOK})
    assert made.status_code == 201
    assert len(made.json()["data"]["hmacKey"]) >= 32


@pytest.mark.parametrize(
    "url",
    [
        "http://watch.example.com/webhooks/titan",  # not HTTPS
        "https://localhost/webhooks/titan",
        "https://api.localhost/webhooks/titan",
        "https://127.0.0.1:8443/webhooks/titan",
        "https://10.1.2.3/webhooks/titan",
        "https://192.168.1.5/webhooks/titan",
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[::1]/webhooks/titan",
        "https://[fd00::1]/webhooks/titan",
        "https://watch/webhooks/titan",  # an internal name
        "https://watch.internal/webhooks/titan",
        "https://printer.local/webhooks/titan",
        "ftp://watch.example.com/webhooks/titan",
        "not a url",
    ],
)
async def test_urls_titan_refuses_are_refused(sim: Harness, url: str) -> None:
    refused = await sim.raw().post("/api/webhooks", json={"url": url})
    assert refused.status_code == 400
    assert "public HTTPS" in refused.json()["error"]
    assert sim.world.state.webhooks == []


async def test_a_key_without_the_webhooks_scope_is_refused(sim: Harness) -> None:
    refused = await sim.raw(READ_ONLY_KEY).post("/api/webhooks", json={"url": HOOK})
    assert refused.status_code == 403
    assert "webhooks:manage" in refused.json()["error"]
    listing = await sim.raw(READ_ONLY_KEY).get("/api/webhooks")
    assert listing.status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"url": HOOK, "secret": "x"}, 400, "secret"),  # not a field of Titan's
        ({"url": HOOK, "events": ["group update"]}, 400, "not an event name"),
        ({"url": HOOK, "session": "nobody"}, 404, "nobody"),
        ({"url": HOOK, "hmacKey": "short"}, 400, "hmacKey"),
        ({"url": HOOK, "retries": {"attempts": 0}}, 400, "attempts"),
    ],
)
async def test_a_registration_titan_would_not_take_is_refused(
    sim: Harness, body: dict[str, Any], status: int, says: str
) -> None:
    refused = await sim.raw().post("/api/webhooks", json=body)
    assert (refused.status_code, says in refused.json()["error"]) == (status, True)
    assert sim.world.state.webhooks == []


async def test_registered_webhooks_get_the_events_and_sessions_they_asked_for(
    make_sim: MakeSim, receiver: tuple[str, Received]
) -> None:
    url, received = receiver
    sim = make_sim(deliver_registered=True, allow_local_webhooks=True)
    http = sim.raw()
    only_updates = {
        "url": url,
        "events": ["group.update"],
        "session": "default",
        "hmacKey": KEY_A,
        "headers": {"X-Team": "eng"},
    }
    everything = {"url": url, "events": [], "hmacKey": KEY_B}
    for registration in (only_updates, everything):
        assert (await http.post("/api/webhooks", json=registration)).status_code == 201
    await sim.client().set_subject(ENG, "Eng")  # told to default, other and member
    await sim.client().add_participants(ENG, [jid(BOB)])
    await sim.drain_webhooks()
    by_key: dict[str, list[tuple[dict[str, str], dict[str, Any]]]] = {KEY_A: [], KEY_B: []}
    for headers, body in received:
        key = next(k for k in by_key if headers["X-Webhook-Signature"] == sign(k, body))
        by_key[key].append((headers, json.loads(body)))
    assert [(e["event"], e["session"]) for _, e in by_key[KEY_A]] == [("group.update", "default")]
    assert by_key[KEY_A][0][0]["X-Team"] == "eng"
    assert sorted((e["event"], e["session"]) for _, e in by_key[KEY_B]) == sorted(
        (event, session)
        for event in ("group.update", "group.participant")
        for session in ("default", "member", "other")
    )


async def test_with_the_test_allowance_a_local_url_is_taken(make_sim: MakeSim) -> None:
    sim = make_sim(allow_local_webhooks=True)
    made = await sim.raw().post("/api/webhooks", json={"url": "http://127.0.0.1:9/hooks"})
    assert made.status_code == 201


def status_events(receiver: Receiver, session: str) -> list[dict[str, Any]]:
    return [
        e["payload"]
        for e in receiver.events()
        if e["event"] == "session.status" and e["session"] == session
    ]


async def test_the_write_that_gets_an_account_banned_reports_session_status(
    make_sim: MakeSim,
) -> None:
    world = standard_world()
    world.accounts[0].writes_until_ban = 2
    receiver = Receiver()
    sender = WebhookSender(
        "http://hooks.test/", "s", first_backoff=0, transport=httpx.MockTransport(receiver)
    )
    sim = make_sim(world, webhooks=sender)
    await sim.client().set_subject(ENG, "One")
    await sim.client().set_subject(ENG, "Two")  # the second write: banned after it
    await sim.drain_webhooks()
    ours = [e for e in receiver.events() if e["session"] == "default"]
    assert [e["event"] for e in ours] == ["group.update", "group.update", "session.status"]
    assert ours[-1]["payload"] == {"status": "DISCONNECTED", "statusReason": "TEMPORARY_BAN"}


async def test_a_session_status_set_for_a_test_is_reported_once_per_change(
    make_sim: MakeSim,
) -> None:
    receiver = Receiver()
    sender = WebhookSender(
        "http://hooks.test/", "s", first_backoff=0, transport=httpx.MockTransport(receiver)
    )
    sim = make_sim(webhooks=sender)
    control = sim.raw(api_key=None)  # the _sim/ routes take no key
    stop = {"status": "DISCONNECTED", "statusReason": "MANUAL_STOP"}
    for body in (stop, stop, {"status": "CONNECTED"}):
        answer = await control.post("/_sim/sessions/default/status", json=body)
        assert answer.status_code == 200
    assert (await sim.client().get_session(refresh=True)).status == "CONNECTED"
    bad = await control.post("/_sim/sessions/default/status", json={"status": "ASLEEP"})
    assert bad.status_code == 400
    unknown = await control.post("/_sim/sessions/nobody/status", json=stop)
    assert unknown.status_code == 404
    await sim.drain_webhooks()
    assert status_events(receiver, "default") == [
        {"status": "DISCONNECTED", "statusReason": "MANUAL_STOP"},
        {"status": "CONNECTED", "statusReason": None},
    ]


async def test_a_webhook_registered_in_place_of_a_deleted_one_gets_the_events_signed_its_way(
    make_sim: MakeSim, receiver: tuple[str, Received]
) -> None:
    url, received = receiver
    sim = make_sim(deliver_registered=True, allow_local_webhooks=True)
    http = sim.raw()
    first = (await http.post("/api/webhooks", json={"url": url, "hmacKey": KEY_A})).json()
    await sim.client().set_subject(ENG, "Eng one")  # delivered signed with KEY_A
    assert (await http.delete(f"/api/webhooks/{first['data']['id']}")).status_code == 200
    assert (
        await http.post("/api/webhooks", json={"url": url, "hmacKey": KEY_B})
    ).status_code == 201
    await sim.client().set_subject(ENG, "Eng two")
    await sim.drain_webhooks()
    second = [
        json.loads(body)
        for headers, body in received
        if json.loads(body)["payload"].get("newSubject") == "Eng two"
    ]
    assert second
    assert all(
        headers["X-Webhook-Signature"] == sign(KEY_B, body)
        for headers, body in received
        if json.loads(body)["payload"].get("newSubject") == "Eng two"
    )
