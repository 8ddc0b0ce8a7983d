"""What a webhook delivery must be before `groupctl watch` believes it: no larger than
MAX_BODY, signed with the secret (HMAC-SHA256 of the raw body, compared in constant time), and
not seen before (Titan retries deliveries, and an attacker may replay one)."""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict

from starlette.requests import Request

SIGNATURE_HEADER = "x-webhook-signature"
MAX_BODY = 1024 * 1024  # Titan's events are small; anything near this is not one
_SEEN_IDS = 10_000  # event ids remembered


async def read_body(request: Request) -> bytes | None:
    """The raw body, or None when it is larger than MAX_BODY (not read further)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def signed(secret: bytes, header: str | None, body: bytes) -> bool:
    """Whether `header` (`sha256=<hex>`) is the signature of `body` with `secret`."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
    # Compared as bytes: a header with characters beyond ASCII is simply not the signature.
    given = header.removeprefix("sha256=").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected, given)


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
