"""Over HTTP, before any API call: a delivery unsigned, too large, too slow, beyond the slots,
outside the replay window, replayed or malformed is refused; every documented shape of a
delivery is taken, and one that is not a readable Titan event is refused (400)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sim.webhooks import envelope
from reconciler.watch import MAX_BODY, WatchOptions
from reconciler.watch.intake import (
    MAX_DELIVERIES,
    MAX_DEPTH,
    RefusedError,
    check_sent,
    parse_json,
)
from tests.support.watching import ALICE, TEAM, Clock, Setup, running, signed

ALICE_REF = {"phoneNumber": ALICE, "lid": "204355791230411@lid", "mode": "pn"}


def delivery(number: int, payload: Any, *, key: str = "payload", sent: Any = "now") -> bytes:
    event = {"id": f"evt_{number}", "event": "group.participant", "session": "default"}
    if sent == "now":
        sent = datetime.now(UTC).isoformat()
    timestamp = {} if sent is None else {"timestamp": sent}
    return json.dumps({**event, **timestamp, key: payload}).encode()


def watch_client(setup: Setup) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=setup.watcher.app)
    return httpx.AsyncClient(transport=transport, base_url="http://watch.test")


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
            (nested(100_000), signed(nested(100_000)), 400),  # too deep for the parser
            (nested(MAX_DEPTH + 1), signed(nested(MAX_DEPTH + 1)), 400),  # parsed, too deep
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
        assert setup.count("groupctl_webhooks_total", result="malformed") == 4


def nested(depth: int) -> bytes:
    """A group event whose JSON nests `depth` levels: the envelope, its payload, then lists."""
    lists = "[" * (depth - 2) + "]" * (depth - 2)
    payload = f'{{"id": "{TEAM}", "x": {lists}}}'
    return f'{{"id": "evt_deep", "event": "group.update", "payload": {payload}}}'.encode()


def test_json_is_read_up_to_its_depth_limit_and_no_deeper() -> None:
    assert parse_json(nested(MAX_DEPTH))["payload"]["id"] == TEAM
    with pytest.raises(RefusedError, match=f"nests deeper than {MAX_DEPTH} levels"):
        parse_json(nested(MAX_DEPTH + 1))


async def test_a_signature_beyond_ascii_is_refused_like_any_wrong_one(tmp_path: Path) -> None:
    async with running(Setup(tmp_path, WatchOptions(), Clock())) as setup:
        body = event(left=[ALICE_REF])
        async with watch_client(setup) as http:
            for value in (b"sha256=\xff\xfe", "sha256=é".encode(), b"\xc3\xa9" * 32):
                headers = [(b"X-Webhook-Signature", value)]
                answer = await http.post("/webhooks/titan", content=body, headers=headers)
                assert answer.status_code == 401, value
        assert setup.count("groupctl_webhooks_total", result="bad_signature") == 3


def largest_group_event() -> bytes:
    """What Titan sends when a full group's every member is named, indented generously."""
    person = {"phoneNumber": "+551199999999999", "lid": "123456789012345@lid", "mode": "pn"}
    payload = {"id": TEAM, "joined": [person] * 1024}
    event = {"id": "evt_" + "a" * 24, "event": "group.participant", "session": "default"}
    sent = {"timestamp": datetime.now(UTC).isoformat()}
    return json.dumps({**event, **sent, "payload": payload}, indent=4).encode()


async def test_the_largest_group_event_fits_and_300_kib_do_not(tmp_path: Path) -> None:
    async def streamed(size: int) -> AsyncIterator[bytes]:  # no Content-Length: read to learn
        for _ in range(size // 4096):
            yield b" " * 4096

    async with running(Setup(tmp_path, WatchOptions(), Clock())) as setup:
        largest = largest_group_event()
        assert len(largest) > 150 * 1024
        async with watch_client(setup) as http:
            answer = await http.post("/webhooks/titan", content=largest, headers=signed(largest))
            assert answer.status_code == 202
            over = b" " * (300 * 1024)  # what an anonymous peer may make watch hold is small
            answer = await http.post("/webhooks/titan", content=over, headers=signed(over))
            assert (answer.status_code, answer.headers["connection"]) == (413, "close")
            answer = await http.post("/webhooks/titan", content=streamed(300 * 1024))
            assert answer.status_code == 413
        assert setup.count("groupctl_webhooks_total", result="too_large") == 2
        assert len(largest) < MAX_BODY < 300 * 1024


class Stalled:
    """Bodies that send their first bytes, then wait for `release` (a slow sender)."""

    def __init__(self, expected: int) -> None:
        self.release = asyncio.Event()
        self.all_started = asyncio.Event()
        self._started = 0
        self._expected = expected

    async def body(self) -> AsyncIterator[bytes]:
        self._started += 1
        if self._started == self._expected:
            self.all_started.set()
        yield b'{"id": "evt_'
        await self.release.wait()
        yield b'slow"}'


async def test_a_slow_body_is_cut_off_at_the_read_timeout(tmp_path: Path) -> None:
    options = WatchOptions(read_timeout=0.05)  # small, so that the test is short
    async with running(Setup(tmp_path, options, Clock())) as setup:
        requests = setup.sim.stats.requests
        stalled = Stalled(1)  # never released: only the read timeout ends the read
        async with watch_client(setup) as http:
            answer = await http.post("/webhooks/titan", content=stalled.body())
        assert answer.status_code == 408
        assert answer.headers["connection"] == "close"
        assert "did not arrive within 0.05 s" in answer.json()["error"]
        assert setup.count("groupctl_webhooks_total", result="too_slow") == 1
        assert setup.count("groupctl_webhooks_reading") == 0
        assert setup.sim.stats.requests == requests


async def test_deliveries_beyond_the_slots_are_answered_busy_until_one_is_free(
    tmp_path: Path,
) -> None:
    async with running(Setup(tmp_path, WatchOptions(), Clock())) as setup:
        stalled = Stalled(MAX_DELIVERIES)
        async with watch_client(setup) as http:
            slow = [
                asyncio.create_task(http.post("/webhooks/titan", content=stalled.body()))
                for _ in range(MAX_DELIVERIES)
            ]
            await stalled.all_started.wait()  # every slot taken by a slow sender
            assert setup.count("groupctl_webhooks_reading") == MAX_DELIVERIES
            body = event(left=[ALICE_REF])
            busy = await http.post("/webhooks/titan", content=body, headers=signed(body))
            assert (busy.status_code, busy.headers["connection"]) == (503, "close")
            stalled.release.set()
            assert {answer.status_code for answer in await asyncio.gather(*slow)} == {401}
            taken = await http.post("/webhooks/titan", content=body, headers=signed(body))
            assert taken.status_code == 202  # the same delivery, tried again, as Titan does
        assert setup.count("groupctl_webhooks_total", result="busy") == 1
        assert setup.count("groupctl_webhooks_reading") == 0


async def test_deliveries_sent_outside_the_replay_window_are_refused(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    window = WatchOptions().replay_window
    async with running(Setup(tmp_path, WatchOptions(), Clock())) as setup:
        requests = setup.sim.stats.requests

        async def post(number: int, sent: Any) -> int:
            body = delivery(number, {"id": TEAM, "left": [ALICE_REF]}, sent=sent)
            async with watch_client(setup) as http:
                answer = await http.post("/webhooks/titan", content=body, headers=signed(body))
            await setup.watcher.idle()
            return answer.status_code

        assert await post(1, (now - timedelta(seconds=window + 60)).isoformat()) == 400
        assert await post(2, (now + timedelta(seconds=window + 60)).isoformat()) == 400
        assert await post(3, int((now - timedelta(hours=1)).timestamp() * 1000)) == 400
        assert await post(4, "yesterday") == 400
        assert setup.sim.stats.requests == requests  # none of them reached the API
        assert await post(5, (now - timedelta(seconds=window - 60)).isoformat()) == 202
        assert await post(6, int(now.timestamp())) == 202
        assert await post(7, None) == 202  # Titan's pages do not promise a timestamp
        assert setup.count("groupctl_webhooks_total", result="too_old") == 2
        assert setup.count("groupctl_webhooks_total", result="clock_skew") == 1
        assert setup.count("groupctl_webhooks_total", result="malformed") == 1


@pytest.mark.parametrize(
    ("seconds_ago", "refused"),
    [(300.0, None), (300.5, "too_old"), (-300.0, None), (-300.5, "clock_skew"), (0.0, None)],
)
def test_the_replay_window_is_five_minutes_either_way(
    seconds_ago: float, refused: str | None
) -> None:
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    sent = now - timedelta(seconds=seconds_ago)
    if refused is None:
        check_sent(sent, now, WatchOptions().replay_window)
        return
    with pytest.raises(RefusedError) as caught:
        check_sent(sent, now, WatchOptions().replay_window)
    assert (caught.value.status, caught.value.result) == (400, refused)
