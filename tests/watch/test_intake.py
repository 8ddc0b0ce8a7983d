"""Over HTTP: every documented shape of a delivery is taken, and one that is not a readable
Titan event is refused (400) before any API call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from reconciler.watch import WatchOptions
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
