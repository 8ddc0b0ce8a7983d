"""Keep-alive connections to the API, one for each call in flight.

httpx's connection pool looks again at every connection it holds, and for each idle one counts
all the others, whenever a request comes or goes: its cost per call grows with the square of
the connections. At the sixteen calls in flight a plan makes, that was most of the client's CPU
per group read, and at 32 it was four times the rest of the read. A pool that holds one
connection does the same work in constant time, so each call in flight takes a pool of its own
(a "lane") from a free list, and gives it back when its answer is read.

Each lane is httpx's own transport, chosen as `httpx.AsyncClient` chooses it: the environment's
proxy (HTTP_PROXY, NO_PROXY...) and certificates (SSL_CERT_FILE) hold, and the TLS context is
built once and shared.
"""

from __future__ import annotations

import ssl

import httpx


class Lanes:
    """Transports to `base_url`, each a pool of one connection, lent to one call at a time."""

    def __init__(self, base_url: str, timeout: httpx.Timeout) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._tls: ssl.SSLContext | None = None  # built with the first lane
        self._clients: list[httpx.AsyncClient] = []
        self._free: list[httpx.AsyncBaseTransport] = []

    def __len__(self) -> int:
        """Lanes made so far (no more than the most calls that were in flight at once)."""
        return len(self._clients)

    def take(self) -> httpx.AsyncBaseTransport:
        """A lane no call is using: an idle one if there is one, else a new one."""
        if self._free:
            return self._free.pop()
        if self._tls is None:
            self._tls = httpx.create_ssl_context()
        client = httpx.AsyncClient(
            base_url=self._base_url,
            verify=self._tls,
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        self._clients.append(client)
        # The transport the client itself would send to (private, but what `send` asks):
        # the proxy's when the environment names one for this address.
        return client._transport_for_url(client.base_url)

    def give_back(self, lane: httpx.AsyncBaseTransport) -> None:
        """`lane` is free again (its connection kept alive, or closed if the call failed)."""
        self._free.append(lane)

    async def aclose(self) -> None:
        clients, self._clients, self._free = self._clients, [], []
        for client in clients:
            await client.aclose()
