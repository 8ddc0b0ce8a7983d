"""Calls paced by Titan's rate-limit headers (titan.pacing), on a clock of the test's own:
every wait is virtual, and a simulated sliding window (the simulator's) answers each call."""

from __future__ import annotations

import asyncio
import math

import httpx
import pytest

from reconciler.sim.gateway import SlidingWindow
from reconciler.titan.pacing import Pacer, Ticket
from reconciler.util.rates import Rate


class Clock:
    """Time that passes only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


class Titan:
    """A key's sliding window, answering as the simulator's gateway does."""

    def __init__(self, clock: Clock, rate: str) -> None:
        count, period = rate.split("/")
        self.window = SlidingWindow(Rate(int(count), float(period)), clock=clock)
        self.answers: list[int] = []

    def call(self, key: str = "ours") -> tuple[int, httpx.Headers]:
        allowed, remaining, wait = self.window.hit(key)
        headers = {
            "X-RateLimit-Limit": str(self.window.limit),
            "X-RateLimit-Remaining": str(remaining),
        }
        if not allowed:
            headers["Retry-After"] = str(math.ceil(wait))
        self.answers.append(200 if allowed else 429)
        return (200 if allowed else 429), httpx.Headers(headers)


async def paced_calls(pacer: Pacer, titan: Titan, count: int, *, between: object = None) -> None:
    for _ in range(count):
        ticket = Ticket()
        await pacer.turn(ticket)
        if callable(between):
            between()
        pacer.answered(ticket, *titan.call())


def test_without_rate_limit_headers_calls_never_wait() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)

    async def calls() -> None:
        for _ in range(500):
            ticket = Ticket()
            await pacer.turn(ticket)
            pacer.answered(ticket, 200, httpx.Headers())

    asyncio.run(calls())
    assert clock.waits == []


def test_a_429_holds_every_call_for_its_retry_after() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)

    async def calls() -> list[float]:
        first = Ticket()
        await pacer.turn(first)
        pacer.answered(first, 429, httpx.Headers({"Retry-After": "3"}))
        sent = []
        for _ in range(3):
            ticket = Ticket()
            await pacer.turn(ticket)
            assert ticket.sent_at is not None
            sent.append(ticket.sent_at)
        return sent

    assert asyncio.run(calls()) == [3.0, 3.0, 3.0]
    assert clock.waits == [3.0]


def test_calls_made_at_once_wait_for_the_answers_when_none_is_left() -> None:
    """Known limit, unknown window: Remaining less what was sent since is spent, so the next
    call waits for the answers in flight, then goes alone to find out."""
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    limits = {"X-RateLimit-Limit": "10"}

    async def calls() -> list[str]:
        seen = Ticket()
        await pacer.turn(seen)
        pacer.answered(seen, 200, httpx.Headers({**limits, "X-RateLimit-Remaining": "3"}))
        in_flight = [Ticket() for _ in range(3)]
        for ticket in in_flight:
            await pacer.turn(ticket)
        order: list[str] = []

        async def fourth() -> None:
            ticket = Ticket()
            await pacer.turn(ticket)
            order.append("fourth sent")
            pacer.answered(ticket, 200, httpx.Headers({**limits, "X-RateLimit-Remaining": "9"}))

        waiting = asyncio.create_task(fourth())
        for ticket in in_flight:
            await asyncio.sleep(0)
            order.append("answer")
            pacer.answered(ticket, 200, httpx.Headers({**limits, "X-RateLimit-Remaining": "0"}))
        await waiting
        return order

    assert asyncio.run(calls()) == ["answer", "answer", "answer", "fourth sent"]


def test_a_plan_s_calls_stay_under_the_limit_of_a_window_the_answers_never_name() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    titan = Titan(clock, "100/1")
    asyncio.run(paced_calls(pacer, titan, 1000))
    assert titan.answers.count(429) <= 2
    assert pacer.window is not None
    assert 1.0 <= pacer.window < 1.2
    # Near the limit, not far under it: 1,000 calls at 100 a second.
    assert clock.now < 12


def test_others_on_the_same_key_leave_less_room() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    titan = Titan(clock, "100/1")
    turns = iter(range(10**6))

    def someone_else() -> None:  # another process on the key: a call for every two of ours
        if next(turns) % 2:
            titan.window.hit("ours")

    asyncio.run(paced_calls(pacer, titan, 600, between=someone_else))
    assert titan.answers.count(429) <= 3


def test_an_answer_that_overtook_the_requests_sent_before_it_leaves_room_for_them() -> None:
    """Requests do not arrive in the order they were sent: the last one sent may be counted
    before the others in flight, which will still take their places in the window."""
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    limits = {"X-RateLimit-Limit": "10"}

    def answer(ticket: Ticket, remaining: int) -> None:
        pacer.answered(
            ticket, 200, httpx.Headers({**limits, "X-RateLimit-Remaining": f"{remaining}"})
        )

    in_flight = [Ticket() for _ in range(5)]
    assert all(pacer.turn_now(ticket) for ticket in in_flight)
    answer(in_flight[-1], 9)  # counted first: the four sent before it are still to come
    more = [Ticket() for _ in range(10)]
    assert [pacer.turn_now(ticket) for ticket in more].count(True) == 5


def test_a_long_wait_is_said_without_v_a_short_one_is_not(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A run that stops for a while says why (a Retry-After of a minute), at WARNING: shown
    without -v. The small waits of an even pace say nothing."""
    caplog.set_level("INFO", logger="reconciler.titan")
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    titan = Titan(clock, "10/1")

    async def calls() -> None:
        await paced_calls(pacer, titan, 40)  # an even pace: waits of a fraction of a second
        assert not [r for r in caplog.records if r.levelname == "WARNING"]
        first = Ticket()
        await pacer.turn(first)
        pacer.answered(first, 429, httpx.Headers({"Retry-After": "60"}))
        await pacer.turn(Ticket())

    asyncio.run(calls())
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert said == ["waiting 60 s for Titan's rate limit (its Retry-After)"]
