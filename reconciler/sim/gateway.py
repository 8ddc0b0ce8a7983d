"""What stands in front of Titan's routes: latency, rate limit, API keys and scopes, faults.

An ASGI middleware over `/api/`. Order matters and is Titan's: the rate limit counts every
request of a key (so a 429 comes before anything else), then the key and its scope are checked,
then a seeded share of requests fails on purpose (`FaultInjector`), then the route runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import math
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.errors import UsageError
from reconciler.util.rates import Rate

log = logging.getLogger("reconciler.sim")

READ_SCOPE = "groups:read"
MANAGE_SCOPE = "groups:manage"
SESSIONS_SCOPE = "sessions:read"
CONTACTS_SCOPE = "contacts:read"
MESSAGES_SCOPE = "messages:write"
WEBHOOKS_SCOPE = "webhooks:manage"
EVERY_SCOPE = "*"
ALL_SCOPES = frozenset(
    {READ_SCOPE, MANAGE_SCOPE, SESSIONS_SCOPE, CONTACTS_SCOPE, MESSAGES_SCOPE, WEBHOOKS_SCOPE}
)
FAULT_KINDS = ("500", "503", "429", "drop", "lost")
DOCS_URL = "https://docs.usetitan.app"
# Keys the rate limit tracks before it forgets idle ones.
_MAX_TRACKED_KEYS = 1024


class ConnectionDropped(Exception):  # noqa: N818 - it is an event, not an error of the caller
    """Raised to drop the connection: uvicorn closes the socket, `SimTransport` raises
    httpx.RemoteProtocolError, so a client sees the same failure either way."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind  # "drop" (nothing done) or "lost" (done, answer lost)


@dataclass
class FaultInjector:
    """Fails a seeded share of API requests on purpose.

    Kinds: "500" and "503" answer an error without doing anything; "429" answers as the rate
    limit would; "drop" closes the connection before doing anything; "lost" does the request,
    then closes the connection instead of answering (the change happened, the answer is lost).
    Tests script exact faults with `inject`.
    """

    rates: dict[str, float] = field(default_factory=dict)
    seed: int | None = None
    injected: Counter[str] = field(default_factory=Counter)
    _scripted: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - reproducible, not secret

    def inject(
        self,
        kind: str,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next `times` requests that match with `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self._scripted.extend([(kind, method, path_contains)] * times)

    def pick(self, method: str, path: str) -> str | None:
        for index, (kind, want_method, want_path) in enumerate(self._scripted):
            if (want_method in (None, method)) and (want_path is None or want_path in path):
                del self._scripted[index]
                return self._count(kind)
        roll = self._rng.random()
        for kind, rate in self.rates.items():
            if roll < rate:
                return self._count(kind)
            roll -= rate
        return None

    def _count(self, kind: str) -> str:
        self.injected[kind] += 1
        return kind


def parse_fault_rates(text: str) -> dict[str, float]:
    """`"0.1"` spreads 10% over every kind; `"500=0.05,503=0.05,lost=0.02"` sets each."""
    try:
        if "=" not in text:
            total = float(text)
            rates = {kind: total / len(FAULT_KINDS) for kind in FAULT_KINDS}
        else:
            pairs = (item.split("=", 1) for item in text.split(",") if item.strip())
            rates = {kind.strip(): float(rate) for kind, rate in pairs}
    except ValueError:
        rates = {"": -1.0}
    unknown = set(rates) - set(FAULT_KINDS)
    if unknown or any(rate < 0 for rate in rates.values()) or sum(rates.values()) > 1:
        raise UsageError(
            f"{text!r} is not a fault rate: give a share of requests such as 0.1, or per kind"
            f" such as 500=0.05,lost=0.02 (kinds: {', '.join(FAULT_KINDS)}; total at most 1)"
        )
    return rates


@dataclass
class SlidingWindow:
    """Titan's rate limit: at most `rate.count` requests per key in any `rate.period` seconds."""

    rate: Rate
    clock: Callable[[], float] = time.monotonic
    _hits: dict[str, deque[float]] = field(default_factory=dict)

    @property
    def limit(self) -> int:
        """Requests allowed per window: a whole number, at least one."""
        return max(1, int(self.rate.count))

    @property
    def window(self) -> float:
        """The window's length in seconds: 0.5/s allows 1 request per 2 s."""
        return self.rate.period * self.limit / self.rate.count

    def hit(self, key: str) -> tuple[bool, int, float]:
        """Count a request: (allowed, remaining, seconds until the next one is allowed)."""
        now = self.clock()
        if key not in self._hits and len(self._hits) >= _MAX_TRACKED_KEYS:
            self._forget_idle(now)
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False, 0, hits[0] + self.window - now
        hits.append(now)
        return True, self.limit - len(hits), 0.0

    def _forget_idle(self, now: float) -> None:
        """Drop keys with no request in the window: every wrong key sent is counted (as Titan
        counts them), but must not be remembered for ever."""
        for key in [
            k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window
        ]:
            del self._hits[key]


@dataclass
class SimStats:
    """What the simulator was asked: every API request, by method and path, and by outcome
    (the HTTP status, or how the connection was dropped on purpose)."""

    requests: int = 0
    by_call: Counter[str] = field(default_factory=Counter)
    by_outcome: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "write_requests": sum(
                n for call, n in self.by_call.items() if not call.startswith("GET ")
            ),
            "by_call": dict(self.by_call),
            "by_outcome": dict(sorted(self.by_outcome.items())),
        }


class Gateway:
    def __init__(
        self,
        app: ASGIApp,
        *,
        api_keys: dict[str, frozenset[str]],
        latency: float = 0.0,
        rate_limit: SlidingWindow | None = None,
        faults: FaultInjector | None = None,
        stats: SimStats,
        log_requests: bool = True,
    ) -> None:
        self._app = app
        # Keys are kept only as digests, compared in constant time.
        self._keys = {_digest(key): scopes for key, scopes in api_keys.items()}
        self._latency = latency
        self._rate_limit = rate_limit
        self._faults = faults
        self._stats = stats
        self._log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self._app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        status_seen: list[int] = []
        extra: list[tuple[bytes, bytes]] = []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(message["status"])
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        # Counted on arrival: a client may read the stats as soon as its answer is sent.
        self._stats.requests += 1
        self._stats.by_call[f"{method} {path}"] += 1
        if self._latency:
            await asyncio.sleep(self._latency)
        outcome: int | str = "no answer"
        try:
            await self._handle(scope, receive, send_with_headers, extra)
            outcome = status_seen[0] if status_seen else outcome
        except ConnectionDropped as exc:
            outcome = f"connection dropped on purpose ({exc.kind})"
            raise
        finally:
            self._stats.by_outcome[str(outcome)] += 1
            if self._log_requests:
                log.info("%s %s -> %s", method, path, outcome)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, extra: list[tuple[bytes, bytes]]
    ) -> None:
        token = _bearer_token(scope)
        if self._rate_limit is not None:
            allowed, remaining, wait = self._rate_limit.hit(_digest(token or ""))
            extra += [
                (b"x-ratelimit-limit", str(self._rate_limit.limit).encode()),
                (b"x-ratelimit-remaining", str(remaining).encode()),
            ]
            if not allowed:
                await _error(send, 429, "rate limit exceeded", retry_after=math.ceil(wait))
                return
        scopes = self._scopes(token)
        if scopes is None:
            await _error(send, 401, "missing or invalid API key")
            return
        needed = needed_scope(scope["method"], scope["path"])
        if needed not in scopes and EVERY_SCOPE not in scopes:
            await _error(send, 403, f"this API key lacks the {needed} scope")
            return
        fault = self._faults.pick(scope["method"], scope["path"]) if self._faults else None
        if fault in ("500", "503"):
            await _error(
                send,
                int(fault),
                "injected fault: service unavailable"
                if fault == "503"
                else "injected fault: internal error",
            )
        elif fault == "429":
            await _error(send, 429, "rate limit exceeded", retry_after=1)
        elif fault == "drop":
            await _cut_off(send, "drop")
        elif fault == "lost":
            await self._app(scope, receive, _discard)
            await _cut_off(send, "lost")
        else:
            await self._app(scope, receive, send)

    def _scopes(self, token: str | None) -> frozenset[str] | None:
        if not token:
            return None
        digest = _digest(token)
        for known, scopes in self._keys.items():
            if hmac.compare_digest(known, digest):
                return scopes
        return None


def needed_scope(method: str, path: str) -> str:
    """The scope a route needs: titan-api.md's mapping (inferred from the scopes' wording)."""
    if path.startswith("/api/messages"):
        return MESSAGES_SCOPE
    if path.startswith("/api/webhooks"):
        return WEBHOOKS_SCOPE
    parts = path.split("/")  # "", "api", "sessions", "{session}", ...
    if len(parts) <= 4:
        return SESSIONS_SCOPE
    if parts[4] == "contacts":
        return CONTACTS_SCOPE
    return READ_SCOPE if method in ("GET", "HEAD") else MANAGE_SCOPE


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _bearer_token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if kind.lower() == "bearer" else None
    return None


async def _discard(message: Message) -> None:
    return None


async def _cut_off(send: Send, kind: str) -> None:
    # Start an answer, then fail: uvicorn closes the socket mid-response (before a response
    # starts it would answer 500 instead), and SimTransport turns the error into the same
    # httpx.RemoteProtocolError.
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"100")]}
    )
    raise ConnectionDropped(kind)


async def _error(send: Send, status: int, message: str, *, retry_after: int | None = None) -> None:
    body = json.dumps({"error": message, "docs": DOCS_URL}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(max(1, retry_after)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
