"""Reading Titan's answers: whole and bounded, as JSON, and as errors a person can act on.

What the client needs from an HTTP answer, apart from the calls themselves: the body read
whole within a deadline and a size (a slow or huge answer cannot hold a run), JSON that may be
hostile (nested too deeply), Titan's `{"error", "docs"}` with a hint for 401 and 403, the key
scope a call needs, `Retry-After`, and a receipt (`correlationId`) that is not a result.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
import ssl
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.util.untrusted import one_line


class AnswerTooLargeError(Exception):
    def __init__(self, limit: int, status: int) -> None:
        super().__init__(f"the answer is larger than {limit:,} bytes: not read further")
        self.status = status


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer read whole: its status, headers and body (decoded, as read)."""

    status: int
    reason: str
    headers: httpx.Headers
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


async def read_bounded(
    opening: Awaitable[httpx.Response], *, limit: int, deadline: float
) -> Answer:
    """The whole answer of the request `opening` sends (an httpx response still streaming),
    refusing one larger than `limit` bytes (decoded, so a compressed bomb is caught too) or
    taking more than `deadline` seconds in all (a server can dribble bytes just inside every
    read timeout). TimeoutError, AnswerTooLargeError or httpx.TransportError otherwise."""
    async with asyncio.timeout(deadline):
        response = await opening
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise AnswerTooLargeError(limit, response.status_code)
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise AnswerTooLargeError(limit, response.status_code)
                chunks.append(chunk)
        finally:
            await response.aclose()
    content = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    return Answer(response.status_code, response.reason_phrase, response.headers, content)


def only_correlation_id(payload: Any) -> bool:
    """`{"correlationId": ...}` alone: an asynchronous command's receipt, not its result."""
    return isinstance(payload, dict) and payload.keys() == {"correlationId"}


def required_scope(method: str, url: str) -> str:
    """The key scope a call needs (titan-api.md, Transport; per-route mapping inferred)."""
    if url.startswith("/api/messages"):
        return "messages:write"
    if url.startswith("/api/webhooks"):
        return "webhooks:manage"
    if "/contacts/" in url:
        return "contacts:read"
    if "/groups" not in url:
        return "sessions:read"
    return "groups:read" if method == "GET" else "groups:manage"


def hint(status: int, method: str, url: str, message: str) -> str:
    """What a person can do about a 401 or 403, when the API's own text does not say."""
    if status == 401:
        return (
            " (Titan keys expire: check the key's expiry in the Titan dashboard, or create a"
            " new one, and set TITAN_API_KEY)"
        )
    if status == 403:
        scope = required_scope(method, url)
        if scope not in message:
            return (
                f" (this call needs the key's {scope} scope; if the key has it, the session's"
                " account may not do this in this group)"
            )
    return ""


def hopeless(exc: httpx.TransportError, base_url: str, *, contacted: bool) -> str | None:
    """Why trying again cannot help, as a hint naming what to check, or None when it may.

    TLS that fails for good (plain HTTP answering an https:// address, a certificate not
    trusted) fails the same way every time. Any other TLS failure, a host name that does not
    resolve and a refused connection can pass mid-run (a handshake cut short, a resolver's
    hiccup, a server restarting), but not before the API has ever answered: then the address
    is wrong, and six tries over two minutes only hide it."""
    causes = list(_causes(exc))
    parts = httpx.URL(base_url)
    host, scheme = parts.host, parts.scheme
    port = parts.port or (443 if scheme == "https" else 80)
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (
                f"{host}'s certificate is not trusted ({cause.verify_message}): if its CA is"
                " your own, point SSL_CERT_FILE at its certificate"
            )
        if isinstance(cause, ssl.SSLError) and getattr(cause, "reason", None) in _NOT_TLS:
            plain = str(parts.copy_with(scheme="http"))
            return (
                f"{host}:{port} does not speak TLS: if the API is plain HTTP there (as"
                f" `groupctl sim serve` is), use {plain.rstrip('/')}"
            )
    if contacted:  # a handshake cut short mid-run (SSLEOFError...) is a dropped connection
        return None
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            return f"TLS with {host}:{port} failed ({getattr(cause, 'reason', None) or cause})"
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            return f"the host name {host!r} does not resolve: check the address"
        if isinstance(cause, ConnectionRefusedError):
            return (
                f"nothing accepts connections at {host}:{port}: is the API running there,"
                " and is the port right?"
            )
    return None


# What OpenSSL says when the other side answers a TLS hello with something else.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, what it was raised from or during, and the failures an exception group holds
    (anyio's "All connection attempts failed" holds one for each address of the host), each
    once."""
    seen: set[int] = set()
    waiting: list[BaseException] = [exc]
    while waiting:
        current = waiting.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            waiting.extend(reversed(current.exceptions))
        following = current.__cause__ or current.__context__
        if following is not None:
            waiting.append(following)


def describe_transport_error(exc: httpx.TransportError, base_url: str) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"{base_url} timed out ({type(exc).__name__})"
    detail = str(exc) or type(exc).__name__
    return f"connection to {base_url} failed: {detail}"


def parse_json(content: bytes) -> Any:
    """JSON, or ValueError for anything that is not (nesting too deep to read included)."""
    try:
        return json.loads(content)
    except RecursionError:
        raise ValueError("the answer is nested too deeply") from None


def error_text(content: bytes, reason: str) -> tuple[str, str | None]:
    """Titan's `{"error": "...", "docs": "..."}`, or the next best thing."""
    try:
        body = parse_json(content)
    except ValueError:
        text = content.decode("utf-8", "replace").strip()[:300]
        return (text or reason or "no error text"), None
    if isinstance(body, dict):
        error = body.get("error") or body.get("message") or body.get("detail")
        if isinstance(error, dict):
            error = error.get("message")
        docs = body.get("docs")
        return (str(error) if error else reason), (
            one_line(docs, limit=200) if isinstance(docs, str) else None
        )
    return str(body)[:300], None


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait before trying again, from `Retry-After` (seconds, or an HTTP date)."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
