"""Signed webhook deliveries, as Titan sends them (titan-api.md, "Webhooks").

Each event goes to the configured URL once per session concerned, in Titan's envelope, signed
with `X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the raw body>`. A delivery that fails
(no answer, or not 2xx) is tried again with exponential (or fixed) backoff, 3 attempts in all
unless the registration says otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx

from reconciler.errors import UsageError
from reconciler.sim.world import Event

log = logging.getLogger("reconciler.sim.webhooks")

SIGNATURE_HEADER = "X-Webhook-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def envelope(
    kind: str, payload: dict[str, object], session: str, *, now: datetime | None = None
) -> bytes:
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(
        {
            "id": f"evt_{secrets.token_hex(12)}",
            "event": kind,
            "session": session,
            "timestamp": when,
            "payload": payload,
        },
        separators=(",", ":"),
    ).encode()


class WebhookSender:
    """Delivers events in the background, in the order they happened."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        attempts: int = 3,
        first_backoff: float = 0.5,
        exponential: bool = True,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        try:
            parsed = httpx.URL(url)
            valid = parsed.scheme in ("http", "https") and bool(parsed.host)
            valid = valid and (parsed.port is None or 0 < parsed.port < 65536)
        except (httpx.InvalidURL, ValueError):
            valid = False
        if not valid:
            raise UsageError(f"{url!r} is not a webhook URL: give http(s)://host[:port]/path")
        self.url = url
        self._secret = secret
        self._attempts = attempts
        self._first_backoff = first_backoff
        self._exponential = exponential
        # A registration's own headers go along, but never in place of the signature.
        self._headers = {
            name: value
            for name, value in (headers or {}).items()
            if name.lower() not in ("content-type", SIGNATURE_HEADER.lower())
        }
        self._transport = transport
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self.delivered = 0
        self.failed = 0

    def __repr__(self) -> str:
        return f"WebhookSender(url={self.url!r})"

    def publish(self, events: list[Event]) -> None:
        for event in events:
            for session, payload in sorted(event.payloads.items()):
                self.send(event.kind, payload, session)

    def send(self, kind: str, payload: dict[str, object], session: str) -> None:
        """Queue one delivery (in order after the ones queued before)."""
        self._queue.put_nowait(envelope(kind, payload, session))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._deliver_all())

    async def close(self) -> None:
        """Deliver what is queued, then stop (cancelled: see `dropped`)."""
        if self._worker is not None:
            self._queue.put_nowait(None)
            await self._worker
            self._worker = None

    def dropped(self) -> int:
        """After `close` was cancelled (a receiver that is gone must not hold a shutdown for
        ever): count what was never delivered, and say so."""
        left = 0
        while not self._queue.empty():
            left += self._queue.get_nowait() is not None
        if left:
            self.failed += left
            log.warning("%d webhook deliveries to %s dropped at shutdown", left, self.url)
        return left

    async def _deliver_all(self) -> None:
        async with httpx.AsyncClient(transport=self._transport, timeout=10.0) as http:
            while (body := await self._queue.get()) is not None:
                try:
                    await self._deliver(http, body)
                except Exception:  # one bad delivery must not stop the ones after it
                    log.exception("webhook delivery to %s failed", self.url)
                    self.failed += 1

    async def _deliver(self, http: httpx.AsyncClient, body: bytes) -> None:
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, body),
        }
        for attempt in range(1, self._attempts + 1):
            try:
                response = await http.post(self.url, content=body, headers=headers)
            except (httpx.HTTPError, ValueError) as exc:
                problem = str(exc) or type(exc).__name__
            else:
                if response.is_success:
                    self.delivered += 1
                    return
                problem = f"HTTP {response.status_code}"
            log.warning(
                "webhook delivery to %s failed (%s), attempt %d", self.url, problem, attempt
            )
            if attempt < self._attempts:
                growth = 2 ** (attempt - 1) if self._exponential else 1
                await asyncio.sleep(self._first_backoff * growth)
        self.failed += 1
