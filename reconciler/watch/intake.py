"""What a webhook delivery must be before `groupctl watch` believes it, checked in this order:
one of at most MAX_DELIVERIES read at a time; no larger than MAX_BODY and arrived whole within
the read timeout; signed with the secret (HMAC-SHA256 of the raw body, compared in constant
time); JSON nested no deeper than MAX_DEPTH; sent within the replay window of watch's clock
(by the envelope's `timestamp`); not seen before (Titan retries deliveries, and an attacker may
replay one).

Everything before the signature is what an anonymous peer can make watch do, so it is bounded:
at most MAX_DELIVERIES bodies of at most MAX_BODY bytes, each for at most the read timeout.
A refused delivery is answered and its connection closed (`RefusedError`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import OrderedDict
from datetime import datetime
from typing import Any

from prometheus_client import Gauge
from starlette.requests import ClientDisconnect, Request

SIGNATURE_HEADER = "x-webhook-signature"
# Titan's group events are small. The largest watch reads is a group.participant naming every
# member of a full group: 1024 JIDRefs ({"phoneNumber": "+55...", "lid": "...@lid", "mode":
# "pn"}), 75 KiB compact, 155 KiB even indented by 4; a group.update carries at most a
# 2048-character description (24 KiB with every character \u-escaped). 256 KiB holds the
# largest with room; what anonymous peers can make watch hold is MAX_DELIVERIES times it, 8 MiB.
MAX_BODY = 256 * 1024
MAX_DELIVERIES = 32  # read at once; Titan answers a 503 by retrying, and resyncs catch the rest
MAX_DEPTH = 32  # Titan's envelope nests 4 deep: envelope, payload, a list of people, a JIDRef
_SEEN_IDS = 10_000  # event ids remembered


class RefusedError(Exception):
    """A delivery not believed: the answer's status, the result counted, and why."""

    def __init__(self, status: int, result: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.result = result
        self.message = message


class Slots:
    """How many deliveries are read at once, at most `size`, shown by `gauge`."""

    def __init__(self, gauge: Gauge, size: int = MAX_DELIVERIES) -> None:
        self._gauge = gauge
        self._size = size
        self._taken = 0

    def take(self) -> bool:
        """A slot, if one is free (then `give_back` it)."""
        if self._taken >= self._size:
            return False
        self._taken += 1
        self._gauge.inc()
        return True

    def give_back(self) -> None:
        self._taken -= 1
        self._gauge.dec()


async def read_body(request: Request, *, within: float) -> bytes:
    """The raw body, read whole `within` seconds; RefusedError when it is larger than
    MAX_BODY (not read further), slower, or its sender went away."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise RefusedError(413, "too_large", f"the body is over {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(within):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    raise RefusedError(413, "too_large", f"the body is over {MAX_BODY} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise RefusedError(
            408, "too_slow", f"the body did not arrive within {within:g} s"
        ) from None
    except ClientDisconnect:  # nobody is left to answer; counted all the same
        raise RefusedError(400, "disconnected", "the sender closed the connection") from None
    return b"".join(chunks)


def signed(secret: bytes, header: str | None, body: bytes) -> bool:
    """Whether `header` (`sha256=<hex>`) is the signature of `body` with `secret`."""
    # A header with characters beyond ASCII (HTTP headers arrive as Latin-1) is no signature,
    # and hmac.compare_digest refuses to compare such strings at all.
    if not header or not header.isascii() or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


def parse_json(body: bytes) -> Any:
    """The delivery's JSON; RefusedError (400) when it is not JSON or nests deeper than
    MAX_DEPTH."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # nested too deeply for the parser is no event either
        raise RefusedError(400, "malformed", "the body is not JSON") from None
    if not _nested_at_most(data, MAX_DEPTH):
        raise RefusedError(400, "malformed", f"the JSON nests deeper than {MAX_DEPTH} levels")
    return data


def _nested_at_most(data: Any, depth: int) -> bool:
    """Whether `data` has at most `depth` levels of objects and arrays. Measured level by
    level, without recursion: what reads the event later (str() of a value, for one) recurses,
    and must not meet a depth that breaks it."""
    level = [data]
    for _ in range(depth):
        level = [
            child
            for value in level
            if isinstance(value, dict | list)
            for child in (value.values() if isinstance(value, dict) else value)
            if isinstance(child, dict | list)
        ]
        if not level:
            return True
    return False


def check_sent(sent_at: datetime | None, now: datetime, window: float) -> None:
    """RefusedError when a delivery says it was sent more than `window` seconds from `now`:
    before (a replay, or a retry too late to matter) or after (a clock that is wrong). One that
    does not say is taken: Titan's pages show a timestamp in the envelope but promise it nowhere,
    the signature covers it (an attacker cannot remove it), and the event ids seen are still
    refused."""
    if sent_at is None:
        return
    age = (now - sent_at).total_seconds()
    if age > window:
        raise RefusedError(
            400,
            "too_old",
            f"sent {age:.0f} s ago, more than the replay window of {window:g} s:"
            " a replay, or a retry too late (every group is checked again at each resync)",
        )
    if -age > window:
        raise RefusedError(
            400,
            "clock_skew",
            f"sent {-age:.0f} s in the future: the clocks of Titan and of this host disagree"
            f" by more than the replay window of {window:g} s",
        )


class SeenIds:
    """The last event ids seen, a bounded number of them."""

    def __init__(self, size: int = _SEEN_IDS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def seen(self, event_id: str) -> bool:
        """Whether `event_id` came before; remembers it either way."""
        if event_id in self._ids:
            return True
        self._ids[event_id] = None
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return False
