"""The simulator sends Titan's signed webhooks for every change."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx
import pytest

from reconciler.errors import UsageError
from reconciler.sim.webhooks import WebhookSender
from tests.conftest import MakeSim
from tests.support.harness import (
    ALICE,
    BOB,
    ENGINEERING,
    ENGINEERING_CODE,
    ERIN,
    MEMBER,
    Harness,
    gid,
    jid,
)
from tests.support.receiver import Receiver

SECRET = "whsec-test-1234"
ENG = gid(ENGINEERING)


def seen_by_number(sim: Harness, phone: str) -> dict[str, str]:
    """A person in a payload, as a JIDRef of someone whose number the session sees."""
    return {"phoneNumber": phone, "lid": f"{sim.lid(phone)}@lid", "mode": "pn"}


def with_webhooks(make_sim: MakeSim, receiver: Receiver) -> tuple[Harness, WebhookSender]:
    sender = WebhookSender(
        "http://hooks.test/titan", SECRET, first_backoff=0, transport=httpx.MockTransport(receiver)
    )
    return make_sim(webhooks=sender), sender


async def test_changes_are_delivered_signed_in_titans_envelope(make_sim: MakeSim) -> None:
    receiver = Receiver()
    sim, _ = with_webhooks(make_sim, receiver)
    await sim.client().set_subject(ENG, "Eng")
    await sim.client().add_participants(ENG, [jid(BOB)])
    await sim.drain_webhooks()
    for request in receiver.deliveries:
        expected = (
            "sha256=" + hmac.new(SECRET.encode(), request.content, hashlib.sha256).hexdigest()
        )
        assert request.headers["X-Webhook-Signature"] == expected
    events = [e for e in receiver.events() if e["session"] == "default"]
    assert [(e["event"], e["payload"]) for e in events] == [
        ("group.update", {"id": ENGINEERING, "newSubject": "Eng"}),
        ("group.participant", {"id": ENGINEERING, "joined": [seen_by_number(sim, BOB)]}),
    ]
    first = events[0]
    assert set(first) == {"id", "event", "session", "timestamp", "payload"}
    assert str(first["id"]).startswith("evt_")
    assert len({e["id"] for e in receiver.events()}) == len(receiver.deliveries)


async def test_every_session_in_the_group_is_told(make_sim: MakeSim) -> None:
    receiver = Receiver()
    sim, _ = with_webhooks(make_sim, receiver)
    await sim.client("other").remove_participants(ENG, [jid(ALICE), jid(MEMBER)])
    await sim.drain_webhooks()
    sessions = sorted(str(e["session"]) for e in receiver.events())
    assert sessions == ["default", "member", "other"]  # member was in the group before
    payloads = {json.dumps(e["payload"]) for e in receiver.events()}
    left = [seen_by_number(sim, ALICE), seen_by_number(sim, MEMBER)]
    assert payloads == {json.dumps({"id": ENGINEERING, "left": left})}


async def test_promote_demote_leave_and_join_are_reported(make_sim: MakeSim) -> None:
    receiver = Receiver()
    sim, _ = with_webhooks(make_sim, receiver)
    await sim.client().promote_participants(ENG, [jid(ALICE)])
    await sim.client().demote_participants(ENG, [jid(ALICE)])
    await sim.client("member").leave_group(ENG)
    await sim.client("outsider").join_group(ENGINEERING_CODE)
    await sim.client().set_description(ENG, "New")
    await sim.drain_webhooks()
    seen = [
        (e["event"], sorted(p for p in e["payload"] if p != "id"))
        for e in receiver.events()
        if e["session"] == "default"
    ]
    assert seen == [
        ("group.participant", ["promoted"]),
        ("group.participant", ["demoted"]),
        ("group.participant", ["left"]),
        ("group.participant", ["joined"]),
        ("group.update", ["newDescription"]),
    ]
    joined = [e for e in receiver.events() if e["session"] == "outsider"]
    assert {"id": ENGINEERING, "action": "joined"} in [e["payload"] for e in joined]


async def test_refusals_and_no_op_changes_send_nothing(make_sim: MakeSim) -> None:
    receiver = Receiver()
    sim, _ = with_webhooks(make_sim, receiver)
    await sim.client().set_subject(ENG, "Engineering")  # unchanged
    await sim.client().add_participants(ENG, [jid(ALICE)])  # already a member
    await sim.drain_webhooks()
    assert receiver.deliveries == []


async def test_a_failed_delivery_is_tried_again_three_times_in_all(make_sim: MakeSim) -> None:
    receiver = Receiver(fail_first=2)
    sim, sender = with_webhooks(make_sim, receiver)
    await sim.client().set_subject(ENG, "Eng")
    await sim.drain_webhooks()
    deliveries = [r for r in receiver.deliveries if json.loads(r.content)["session"] == "default"]
    assert len({r.content for r in deliveries}) == 1  # the same delivery, same event id
    assert sender.delivered == 3  # default, other, member: each once in the end
    assert sender.failed == 0
    assert len(receiver.deliveries) == 5


async def test_a_delivery_that_keeps_failing_is_given_up_after_three(make_sim: MakeSim) -> None:
    receiver = Receiver(fail_first=1000)
    sim, sender = with_webhooks(make_sim, receiver)
    await sim.client("other").set_description(gid("120363000000000002@g.us"), "x")
    await sim.drain_webhooks()
    assert sender.failed == 2  # other and default are in Marketing
    assert len(receiver.deliveries) == 6


async def test_people_appear_in_payloads_as_jidrefs_as_each_session_sees_them(
    make_sim: MakeSim,
) -> None:
    receiver = Receiver()
    sim, _ = with_webhooks(make_sim, receiver)
    # erin's number is shown only to her contacts: "other" has her, "member" does not.
    await sim.client().remove_participants(ENG, [jid(ERIN)])
    await sim.drain_webhooks()
    left = {e["session"]: e["payload"]["left"] for e in receiver.events()}
    erin_lid = f"{sim.lid(ERIN)}@lid"
    assert left["other"] == [{"phoneNumber": ERIN, "lid": erin_lid, "mode": "pn"}]
    assert left["member"] == [{"phoneNumber": None, "lid": erin_lid, "mode": "lid"}]
    assert {type(e["payload"]["id"]) for e in receiver.events()} == {str}


def test_a_webhook_url_that_cannot_work_is_refused_up_front() -> None:
    for url in ("http://127.0.0.1:99999/h", "ftp://x/h", "not a url", "http:///nohost"):
        with pytest.raises(UsageError, match="is not a webhook URL"):
            WebhookSender(url, SECRET)


async def test_one_broken_delivery_does_not_stop_the_next(make_sim: MakeSim) -> None:
    calls = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise RuntimeError("receiver exploded")
        return httpx.Response(200)

    sender = WebhookSender(
        "http://hooks.test/titan", SECRET, first_backoff=0, transport=httpx.MockTransport(flaky)
    )
    sim = make_sim(webhooks=sender)
    await sim.client().set_subject(ENG, "Eng")
    await sim.drain_webhooks()
    assert sender.failed == 1
    assert sender.delivered == 2  # the other two sessions of Engineering
