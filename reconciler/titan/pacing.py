"""Keeping a key's calls under Titan's rate limit, learnt from its answers, so that calls made
at once wait together for their turn instead of each being answered 429.

Titan limits each key to `X-RateLimit-Limit` requests in a sliding window, says on every
answer how many are left (`X-RateLimit-Remaining`), and on a 429 how long to wait
(`Retry-After`) [titan: ar/overview]. It does not say how long the window is. So `Pacer`:

- before any answer has the headers, sends as calls come (a Titan, or a proxy, that sends none
  is not paced; a 429's `Retry-After` still holds every call until then);
- knowing the limit, not the window: sends while the answers' `Remaining`, less what was
  sent since, is above zero. Out of it with nothing in flight, it lets one call through alone
  to find out (a 429 then says how long to wait);
- from then on, learns the window from the answers themselves: when an answer counts fewer of
  our requests in the window than we have had counted, the older ones have left it, so the
  window is at most the time since the newest of those was sent. It then keeps its own
  requests, and those of anyone else on the key (what the answer counts beyond ours), under
  the limit in every window of that length: the same sliding window Titan keeps, mirrored.

A 429 all the same (someone else on the key, a window misjudged) holds every call for its
`Retry-After` and widens the window it keeps. Times are the event loop's clock.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from reconciler.titan.answers import retry_after

log = logging.getLogger("reconciler.titan")

# How much wider than the longest window the answers allow the mirrored window is kept: the
# time a request is counted is not quite the time it was sent.
_WINDOW_MARGIN = 1.05
_WINDOW_SLACK = 0.01  # seconds
_WIDEN_AFTER_429 = 1.25
_CATCH_UP = 4  # requests that may go at once when behind the even spacing
_RECENT = 32  # answers whose Remaining counts, before the window is known
# Requests remembered before the window is known (after: those of the last two windows).
_REMEMBERED = 4096
# A wait at least this long is said without -v: a run that stops for a while says why.
SAID_WAIT = 5.0  # seconds


@dataclass(slots=True)
class Ticket:
    """One request's turn: when it was sent (None until it is, and once its answer is in),
    how many were sent up to it, and how many answers had come before it was."""

    sent_at: float | None = None
    number: int = 0
    answers_before: int = 0


class Pacer:
    """Paces one key's requests; see the module's docstring. Every request takes a `ticket`,
    waits for its `turn`, and reports its answer (`answered`) or that none came (`unanswered`).
    """

    def __init__(
        self,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._slept_until = 0.0
        self._turns = asyncio.Lock()  # one request at a time decides, in the order they came
        self._answer = asyncio.Event()  # set by each answer, for a turn waiting on one
        self.limit: int | None = None  # X-RateLimit-Limit, once an answer has said it
        self.window: float | None = None  # the longest the window can be, once learnt
        self._narrowest = 0.0  # the window is not taken below this again (after a 429)
        self._resume_at = 0.0  # no request before this (a 429's Retry-After)
        self._sent: list[float] = []  # when each request still of interest was sent, in order
        self._first = 0  # the index in `_sent` of the first still of interest
        self._sends = 0  # requests sent so far
        self._schedule = 0.0  # when the next request is due, evenly spaced (once paced)
        self._answer_count = 0  # answers come so far
        # Requests answered other than 429 (so counted by Titan), as (answer's number, time
        # sent) in the order they were answered, and their times sent in order.
        self._answers: list[tuple[int, float]] = []
        self._counted: list[float] = []
        self._flying: list[int] = []  # the numbers of the requests in flight, in order
        # The last answers' Remaining, each with its request's number; and the requests of
        # others on the key in the window, from the last answer.
        self._remaining: deque[tuple[int, int]] = deque(maxlen=_RECENT)
        self._others = 0

    def now(self) -> float:
        """The event loop's clock, never behind a time the client has slept until (a sleep
        that tests replace passes no time on the clock, only on this)."""
        clock = self._clock() if self._clock is not None else asyncio.get_running_loop().time()
        return max(clock, self._slept_until)

    def slept_until(self, moment: float) -> None:
        """The client has slept until `moment` (of `now`), e.g. before trying a call again."""
        self._slept_until = max(self._slept_until, moment)

    def turn_now(self, ticket: Ticket) -> bool:
        """Take the turn at once if no request waits and none need: whether it was taken (the
        usual case, with nothing to wait for and no switch to another task)."""
        if self._turns.locked():
            return False
        now = self.now()
        if self._wait(now) is not None:
            return False
        self._sent_now(ticket, now)
        return True

    async def turn(self, ticket: Ticket) -> None:
        """Wait until a request may be sent, then count it as sent (`ticket.sent_at`)."""
        async with self._turns:
            while True:
                now = self.now()
                wait = self._wait(now)
                if wait is None:
                    break
                if wait > 0:
                    if wait >= SAID_WAIT:
                        why = "its Retry-After" if now < self._resume_at else self._described()
                        log.warning("waiting %.0f s for Titan's rate limit (%s)", wait, why)
                    await self._sleep(wait)
                    self.slept_until(now + wait)
                else:  # until the next answer says more
                    self._answer.clear()
                    await self._answer.wait()
            self._sent_now(ticket, now)

    def _described(self) -> str:
        """The limit as the answers have taught it."""
        if self.window is None:
            return f"{self.limit} requests a window"
        return f"{self.limit} requests in {self.window:.0f} s"

    def _sent_now(self, ticket: Ticket, now: float) -> None:
        self._sends += 1
        if self.window is not None and self.limit:
            self._schedule = max(self._schedule, now) + self._kept_window() / self.limit
        ticket.sent_at, ticket.number = now, self._sends
        ticket.answers_before = self._answer_count
        self._sent.append(now)
        self._flying.append(self._sends)

    def answered(self, ticket: Ticket, status: int, headers: httpx.Headers) -> None:
        """A request's answer: learn from its rate-limit headers, or its 429."""
        sent_at, ticket.sent_at = ticket.sent_at, None
        if sent_at is None:
            return
        self._landed(ticket)
        self._answer_count += 1
        now = self.now()
        if status == 429:
            self._rate_limited(now, headers)
        limit = _number(headers, "x-ratelimit-limit")
        remaining = _number(headers, "x-ratelimit-remaining")
        if limit is None or remaining is None or limit <= 0:
            return
        self.limit = limit
        self._remaining.append((remaining, ticket.number))
        if status != 429:
            self._learn_window(ticket, sent_at, now, in_window=limit - remaining)
            self._answers.append((self._answer_count, sent_at))
            bisect.insort(self._counted, sent_at)
        self._forget(now)

    def unanswered(self, ticket: Ticket) -> None:
        """A request sent that got no answer (its connection failed): it may count or not."""
        if ticket.sent_at is not None:
            ticket.sent_at = None
            self._landed(ticket)

    def _landed(self, ticket: Ticket) -> None:
        del self._flying[bisect.bisect_left(self._flying, ticket.number)]
        self._answer.set()

    # -- deciding ----------------------------------------------------------------------------

    def _wait(self, now: float) -> float | None:
        """None: send now; seconds to sleep; or 0: wait for an answer."""
        if now < self._resume_at:
            return self._resume_at - now
        if self.limit is None:
            return None
        if self.window is not None:
            return self._wait_for_window(now, self.limit)
        if self._credit() > 0:
            return None
        # Out of it: wait for the answers in flight; with none, nothing will say more, so
        # this one goes alone to find out (the others wait for its answer).
        return 0.0 if self._flying else None

    def _credit(self) -> int:
        """Requests left, by the last answers: each answer's Remaining, less the requests
        that may not have been counted in it: those sent after it, and those sent before it
        and not answered yet (they may arrive after it). The least of those, since requests
        do not arrive in the order they were sent."""
        return min(
            (
                remaining - (self._sends - number) - bisect.bisect_left(self._flying, number)
                for remaining, number in self._remaining
            ),
            default=0,
        )

    def _wait_for_window(self, now: float, limit: int) -> float | None:
        window = self._kept_window()
        # Evenly spaced, not in bursts: gentler on Titan, and each answer then says more. On
        # a schedule (a few may go at once to catch up), so late wake-ups do not add up.
        spacing = window / limit
        if now < self._schedule - _CATCH_UP * spacing:
            return self._schedule - _CATCH_UP * spacing - now
        room = limit - self._others
        start = bisect.bisect_right(self._sent, now - window, lo=self._first)
        ours = len(self._sent) - start
        if ours < max(room, 1):
            return None
        # The oldest of ours in the window that must leave it for one more to fit.
        leaving = self._sent[len(self._sent) - max(room, 1)]
        return max(leaving + window - now, 1e-3)

    def _kept_window(self) -> float:
        assert self.window is not None
        return self.window * _WINDOW_MARGIN + _WINDOW_SLACK

    # -- learning ----------------------------------------------------------------------------

    def _rate_limited(self, now: float, headers: httpx.Headers) -> None:
        wait = retry_after(headers)
        if wait is not None:
            self._resume_at = max(self._resume_at, now + wait)
        if self.window is not None:  # too fast all the same: keep a wider window from now on
            self._narrowest = self.window * _WIDEN_AFTER_429
            self.window = self._narrowest
        log.info(
            "rate limited%s: every call waits",
            f" for {wait:.1f} s" if wait is not None else "",
        )

    def _learn_window(
        self, ticket: Ticket, sent_at: float, answered_at: float, *, in_window: int
    ) -> None:
        """An answer (to the request sent at `sent_at`, come at `answered_at`) counted
        `in_window` requests of the key in the window when that request arrived, itself
        included."""
        # Only requests answered before this one was sent surely arrived before it did. If
        # `known` of them were counted, and the window held fewer than that besides this one,
        # at least `gone` of them had left it: those that arrived first, each no earlier than
        # it was sent. So the window is at most the time from the `gone`-th earliest of them
        # being sent to this answer (a bound that holds however each request was delayed).
        known = bisect.bisect_left(self._answers, (ticket.answers_before + 1,))
        gone = known - (in_window - 1)
        if gone >= 1:
            earliest = self._earliest_sent(gone, known=known)
            bound = max(answered_at - earliest, self._narrowest)
            if self.window is None:
                log.info("rate limit: %d requests in at most %.2f s", self.limit, bound)
            if self.window is None or bound < self.window:
                self.window = bound
        if self.window is not None:
            start = bisect.bisect_right(self._sent, sent_at - self._kept_window(), lo=self._first)
            ours = bisect.bisect_right(self._sent, sent_at, lo=self._first) - start
            self._others = max(0, in_window - ours)

    def _earliest_sent(self, rank: int, *, known: int) -> float:
        """When the `rank`-th earliest sent of the first `known` requests answered was sent."""
        late = sorted(sent for _, sent in self._answers[known:])
        index = rank - 1
        while True:  # skip, among the earliest, those answered later: few, the ones in flight
            skipped = bisect.bisect_right(late, self._counted[index])
            if rank - 1 + skipped == index:
                return self._counted[index]
            index = rank - 1 + skipped

    def _forget(self, now: float) -> None:
        """Drop what no decision needs any more: requests sent before the last two windows
        (or, before the window is known, all but the last few thousand)."""
        if self.window is not None:
            horizon = now - 2 * self._kept_window()
            self._first = bisect.bisect_right(self._sent, horizon, lo=self._first)
            old = len(self._answers) > 64 and self._answers[len(self._answers) // 2][1] < horizon
        else:
            self._first = max(self._first, len(self._sent) - _REMEMBERED)
            old = len(self._answers) > 2 * _REMEMBERED
            horizon = self._counted[len(self._counted) - _REMEMBERED] if old else 0.0
        if self._first > len(self._sent) // 2:
            del self._sent[: self._first]
            self._first = 0
        if old:  # the earliest sent go, and with them none that a bound could still need
            self._answers = [entry for entry in self._answers if entry[1] >= horizon]
            self._counted = sorted(sent for _, sent in self._answers)


def _number(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None
