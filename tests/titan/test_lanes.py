"""Connections to the API (titan.lanes): one per call in flight, kept alive and used again,
never more than the calls allowed at once, and all closed with the client. Over real sockets,
against a server that counts its connections."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import httpx
import pytest

from reconciler.errors import ApiConnectionError
from reconciler.titan.client import TitanClient
from reconciler.titan.lanes import Lanes
from reconciler.titan.retries import RetryPolicy

KEY = "lanes-key-4c1d9e"


@dataclass
class Counted:
    """An HTTP/1.1 server that answers `{"data": []}` on kept-alive connections, holding each
    answer until `release` is set, and counts its connections."""

    release: asyncio.Event = field(default_factory=asyncio.Event)
    opened: int = 0
    open_now: int = 0
    most_open: int = 0
    waiting: int = 0  # requests held now
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.opened += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed the connection
                self.waiting += 1
                await self.release.wait()
                self.waiting -= 1
                body = b'{"data": []}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        finally:
            self.open_now -= 1
            if self.open_now == 0:
                self.closed.set()
            writer.close()


async def until(condition: object, what: str) -> None:
    """Until `condition()` holds, turn by turn of the loop (a hang fails the test)."""
    for _ in range(100_000):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never: {what}")


async def test_calls_in_flight_have_a_connection_each_and_use_them_again() -> None:
    counted = Counted()
    server = await asyncio.start_server(counted.serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        client = TitanClient(url, api_key=KEY, max_concurrency=4)
        calls = [asyncio.create_task(client.list_groups()) for _ in range(40)]
        await until(lambda: counted.waiting == 4, "four calls held by the server")
        assert counted.opened == 4  # one connection for each call in flight, no more
        counted.release.set()
        assert await asyncio.gather(*calls) == [[]] * 40
        assert counted.opened == 4  # the other 36 went over the same four, kept alive
        assert counted.most_open == 4
        await client.aclose()
        await asyncio.wait_for(counted.closed.wait(), 30)  # closed with the client
        assert counted.open_now == 0


async def test_a_call_that_failed_gives_its_lane_back() -> None:
    dropped = 0

    async def drop_three(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal dropped
        await reader.readuntil(b"\r\n\r\n")
        if dropped < 3:  # hung up without an answer
            dropped += 1
        else:
            body = b'{"data": []}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(drop_three, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    async with server:
        client = TitanClient(url, api_key=KEY, max_concurrency=2, retry=RetryPolicy(attempts=1))
        for _ in range(3):
            with pytest.raises(ApiConnectionError):
                await client.list_groups()
        assert await client.list_groups() == []
        assert len(client._http._lanes) == 1  # the one lane, lent four times
        await client.aclose()


def test_an_idle_lane_is_lent_again_before_a_new_one_is_made() -> None:
    lanes = Lanes("http://127.0.0.1:9", httpx.Timeout(5.0))
    first = lanes.take()
    second = lanes.take()
    assert second is not first
    lanes.give_back(first)
    assert lanes.take() is first
    assert len(lanes) == 2
