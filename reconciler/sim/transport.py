"""Run the simulator in-process: an httpx transport straight into its ASGI app."""

from __future__ import annotations

import httpx

from reconciler.sim.gateway import ConnectionDropped


class SimTransport(httpx.ASGITransport):
    """`httpx.ASGITransport` that turns a dropped connection into the error a socket gives."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "server disconnected without sending a complete response", request=request
            ) from None
