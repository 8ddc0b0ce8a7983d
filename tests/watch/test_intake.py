"""Over HTTP, before any API call: a delivery unsigned, too large, replayed or malformed is
refused; every documented shape of a delivery is taken, and one that is not a readable Titan
event is refused (400)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from reconciler.sim.webhooks import envelope
from reconciler.watch import MAX_BODY, WatchOptions
from tests.support.watching import ALICE, TEAM, Clock, Setup, running, signed

ALICE_REF = {"phoneNumber": ALICE, "lid": "204355791230411@lid", "mode": "pn"}


def delivery(number: int, payload: Any, *, key: str = "payload") -> bytes:
    event = {"id": f"evt_{number}", "event": "group.participant", "session": "default"}
    return json.dumps({**event, "timestamp": "2026-01-01T00:00:00Z", key: payload}).encode()


async def test_deliveries_are_taken_in_every_documented_shape_and_refused_otherwise(
    tmp_path: Path,
) -> None:
    async with running(Setup(tmp_path, WatchOptions(), Clock())) as setup:
        transport = httpx.ASGITransport(app=setup.watcher.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://watch.test") as http:

            async def post(body: bytes) -> int:
                answer = await http.post("/webhooks/titan", content=body, headers=signed(body))
                await setup.watcher.idle()
                return answer.status_code

            before = setup.sim.stats.requests
            refused = [
                {"id": TEAM, "left": [{"mode": "lid"}]},  # neither number nor LID
                {"id": TEAM, "left": [{"phoneNumber": "204355791230411@lid"}]},
                {"id": TEAM, "left": [42]},
                {"id": {"id": "14155550101@s.whatsapp.net"}, "left": [ALICE_REF]},
                {"left": [ALICE_REF]},  # no group
            ]
            for number, payload in enumerate(refused):
                assert await post(delivery(number, payload)) == 400, payload
            assert setup.sim.stats.requests == before  # none of them reached the API
            taken = [
                delivery(10, {"id": TEAM, "left": [ALICE_REF]}),
                delivery(11, {"id": {"id": TEAM}, "left": [ALICE_REF]}),
                delivery(12, {"id": TEAM, "left": [ALICE_REF]}, key="data"),
                delivery(13, {"id": TEAM, "left": ["14155550101@s.whatsapp.net"]}),
            ]
            for body in taken:
                checks = setup.count("groupctl_group_checks_total")
                assert await post(body) == 202
                assert setup.count("groupctl_group_checks_total") == checks + 1  # re-read
        assert setup.count("groupctl_webhooks_total", result="malformed") == len(refused)


def event(**payload: Any) -> bytes:
    return envelope("group.participant", {"id": TEAM, **payload}, "default")


async def test_unsigned_oversized_replayed_or_malformed_deliveries_make_no_api_call(
    tmp_path: Path,
) -> None:
    async with running(Setup(tmp_path, WatchOptions(self_heal=True), Clock())) as setup:
        requests = setup.sim.stats.requests
        body = event(left=[ALICE.removeprefix("+") + "@s.whatsapp.net"])
        good = signed(body)
        cases: list[tuple[bytes, dict[str, str], int]] = [
            (body, {}, 401),  # no signature
            (body, signed(body, "another-secret"), 401),  # wrong secret
            (body, {"X-Webhook-Signature": good["X-Webhook-Signature"][:-8]}, 401),  # truncated
            (body, {"X-Webhook-Signature": "md5=" + "0" * 32}, 401),  # not sha256
            (body[:-1], good, 401),  # the body changed after signing
            (b"x" * (10 * 1024 * 1024), signed(b"x" * (10 * 1024 * 1024)), 413),  # 10 MB
            (b"{not json", signed(b"{not json"), 400),
            (b'["a list"]', signed(b'["a list"]'), 400),
        ]
        transport = httpx.ASGITransport(app=setup.watcher.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://watch.test") as http:
            for content, headers, status in cases:
                answer = await http.post("/webhooks/titan", content=content, headers=headers)
                assert answer.status_code == status, (content[:40], headers)
            assert setup.sim.stats.requests == requests  # none of them reached the API
            first = await http.post("/webhooks/titan", content=body, headers=good)
            await setup.watcher.idle()
            assert first.status_code == 202
            after_first = setup.sim.stats.requests
            assert after_first > requests  # a valid one does: the group is re-read
            replay = await http.post("/webhooks/titan", content=body, headers=good)
            await setup.watcher.idle()
            assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
            assert setup.sim.stats.requests == after_first
        assert setup.count("groupctl_webhooks_total", result="bad_signature") == 5
        assert setup.count("groupctl_webhooks_total", result="too_large") == 1
        assert setup.count("groupctl_webhooks_total", result="malformed") == 2
        assert MAX_BODY < 10 * 1024 * 1024
